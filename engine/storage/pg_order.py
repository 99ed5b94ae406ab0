"""The short ordering lock of PostgreSQL's writers: a ticket chain (engine/storage/ordered.py runs its steps).

`LOCK TABLE events IN EXCLUSIVE MODE`, held from a transaction's first append to its COMMIT, makes seq order commit
order, so that a projector reading `seq > cursor` never skips an event that commits later with a smaller seq; but it
also makes every process's writer wait while another projects and answers. A group of story commands holds less:

- its appends run under ORDER_LOCK, a session advisory lock (the only kind that can be let go before COMMIT), so
  two groups' seqs never interleave and a later group's seqs are all above an earlier one's;
- before letting it go, the group takes its ticket: a transaction advisory lock on its first seq, held to COMMIT;
- it then projects its own events (a chat's rows follow from its own stream's events, which no other uncommitted
  transaction can have appended: the stream's version is unique) and, before moving the shared projection cursor
  and committing, waits for every earlier ticket still held (`wait`: read from `pg_locks`, each taken shared), not
  only the one just before (a holder that rolled back ended without waiting for its own predecessors). Moving the
  cursor after that wait keeps its row from deadlocking two ticket holders.
- A group whose first seq follows the last seq of the previous group this connection committed waits for nobody:
  nothing appended between the two, and every writer below the previous group's seqs had ended before it committed
  (it waited for them; one that held the log's table lock committed before it could append). One process alone thus
  never reads `pg_locks`; with several, most groups do.

Everything else (a command decided against the world, a stream version read, a catch-up, a copied log, the
reproject's switch) still takes the table lock to COMMIT, which waits for every transaction that has appended and
not ended and holds off new appends: a barrier for the ticket holders, who never take it. A connection running an
ordered group raises `NeedsLogLock` on any statement that would need it (`PgConnection.execute`), and the group runs
the one-lock way instead. A lost connection frees ORDER_LOCK with its session; a transaction that fails lets it go
after its ROLLBACK (`release`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.storage.group import Job
from engine.storage.ordered import run_ordered
from engine.storage.pg_conn import PgConnection

ORDER_LOCK = 0x6368726F6E6F7264  # pg_advisory_lock key: "chronord" in ASCII, an arbitrary constant
# A ticket is the advisory lock on a seq (one bigint key: pg_locks shows its high and low 32 bits, objsubid 1). Keys
# below the group's own first seq are earlier tickets; this module's and pg_reproject's constant keys lie far above
# any seq, and pg_turns' two-integer keys show objsubid 2. (Another program using small bigint advisory keys in the
# same database would be waited for too: give Chronicle a database of its own.)
_EARLIER = ("SELECT pg_advisory_xact_lock_shared(k) FROM (SELECT (classid::bigint << 32) | objid::bigint AS k"
            " FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND mode = 'ExclusiveLock' AND granted"
            " AND pid <> pg_backend_pid()"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS held"
            " WHERE k < ? ORDER BY k")


class PgOrdering:
    """The `engine.storage.group.Ordering` of PostgreSQL and its `engine.storage.ordered.Steps` (one writer connection
    per process)."""

    def run(self, conn: PgConnection, fns: list[Job], begin: Callable[[Any], None]) -> list[Any]:
        return run_ordered(conn, fns, begin, self)

    def enter(self, conn: PgConnection) -> None:
        conn.lock_late, conn.guard = False, "decide"

    def leave(self, conn: PgConnection) -> None:
        conn.lock_late, conn.guard = True, None

    def take(self, conn: PgConnection) -> None:
        conn.execute("SELECT pg_advisory_lock(?)", (ORDER_LOCK,))  # sent with the first append
        conn.order_held, conn.guard = True, "append"

    def let_go(self, conn: PgConnection, first_seq: int | None) -> None:
        if first_seq is None:
            conn.execute("SELECT pg_advisory_unlock(?)", (ORDER_LOCK,))
        else:  # the ticket, then the unlock: the outer select can't run before the row its subquery makes
            conn.execute("SELECT pg_advisory_unlock(?) FROM (SELECT pg_advisory_xact_lock(?) OFFSET 0) AS ticket",
                         (ORDER_LOCK, first_seq))
        conn.guard = "decide"  # both sent with the projection's first wait

    def wait(self, conn: PgConnection, first_seq: int, last_seq: int) -> None:
        if first_seq != conn.ordered_through + 1:
            conn.execute(_EARLIER, (first_seq,))  # sent with the cursor's move and COMMIT
        conn.ordered_pending, conn.guard = last_seq, None

    def release(self, conn: PgConnection, *, committed: bool) -> None:
        held, conn.order_held = conn.order_held, False
        conn.ordered_through = conn.ordered_pending if committed and conn.ordered_pending else 0
        conn.ordered_pending = 0
        if held and not committed and not conn.closed and not conn.in_transaction:
            conn.execute("SELECT pg_advisory_unlock(?)", (ORDER_LOCK,))  # not held (let go already): false, no harm
