"""Relationship edges between characters and personas: current values and their history."""

from __future__ import annotations

from engine.events import Recorded, RelationshipAdjusted
from engine.projection.projector import projector
from engine.storage.port import Conn

projector.owns(__name__, chat=("relationships", "relationship_history"))


@projector.on(RelationshipAdjusted)
def on_relationship_adjusted(tx: Conn, event: Recorded[RelationshipAdjusted]) -> None:
    """Set an edge's current values (decided by the command) and append its history row."""
    p = event.payload
    tx.execute(
        "INSERT INTO relationships (chat_id, source_id, target_id, source_kind, target_kind, source_name,"
        " target_name, affinity, trust, note, updated_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (chat_id, source_id, target_id) DO UPDATE SET affinity = excluded.affinity,"
        " trust = excluded.trust, note = COALESCE(excluded.note, relationships.note),"
        " source_name = excluded.source_name, target_name = excluded.target_name,"
        " updated_seq = excluded.updated_seq",
        (p.chat_id, p.source_id, p.target_id, p.source_kind, p.target_kind, p.source_name, p.target_name,
         p.affinity, p.trust, p.note, event.seq),
    )
    tx.execute(
        "INSERT INTO relationship_history (seq, chat_id, source_id, target_id, affinity_delta, trust_delta,"
        " affinity, trust, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event.seq, p.chat_id, p.source_id, p.target_id, p.affinity_delta, p.trust_delta, p.affinity,
         p.trust, p.note),
    )
