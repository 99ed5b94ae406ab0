"""engine/turns.py as tables: who a line names, and who each rule picks (pure: the draw is given)."""

from __future__ import annotations

import pytest

from engine.turns import Member, Recent, choose, named_in

ARIA, BRAM, CORA, DOV = (Member("a", "Aria", 1.0), Member("b", "Bram", 0.0), Member("c", "Cora", 1.0),
                         Member("d", "Dov", 0.0))
CAST = [ARIA, BRAM, CORA, DOV]


def fixed(value: float):
    return lambda: value


@pytest.mark.parametrize(("text", "replied", "expected"), [
    ("Dov and aria?", None, ["Dov", "Aria"]),
    ("Arian went home; Bramble too.", None, []),  # whole words only
    ("Nice one.", "c", ["Cora"]),
    ("Bram, what did Cora say?", "c", ["Cora", "Bram"]),  # the message replied to first
])
def test_who_a_line_names(text: str, replied: str | None, expected: list[str]):
    assert [m.name for m in named_in(text, CAST, replied)] == expected


@pytest.mark.parametrize(("rule", "named", "recent", "draw", "expected"), [
    ("host", [], Recent(), 0.5, ["Aria"]),
    ("host", [DOV], Recent(), 0.5, ["Dov"]),
    ("natural", [], Recent(last_speaker="a"), 0.5, ["Cora"]),
    ("natural", [], Recent(last_speaker="b"), 0.5, ["Aria", "Cora"]),
    ("natural", [BRAM, DOV], Recent(), 0.5, ["Bram", "Dov"]),  # named: those named only
    ("list", [], Recent(), 0.5, ["Aria", "Bram", "Cora"]),  # cut at the chain limit
    ("pooled", [], Recent(last_speaker="c", spoken_this_round=frozenset({"a", "c"})), 0.0, ["Bram"]),
    ("pooled", [], Recent(last_speaker="c", spoken_this_round=frozenset({"a", "c"})), 0.99, ["Dov"]),
    ("mentioned", [], Recent(), 0.5, []),
    ("mentioned", [CORA], Recent(), 0.5, ["Cora"]),
    ("manual", [], Recent(), 0.5, []),
])
def test_who_each_rule_picks(rule: str, named: list[Member], recent: Recent, draw: float, expected: list[str]):
    assert [m.name for m, _ in choose(rule, CAST, named, recent, fixed(draw), max_chain=3)] == expected


def test_natural_with_nobody_winning_picks_one_at_random_but_not_the_last_speaker():
    quiet = [Member(m.character_id, m.name, 0.0) for m in CAST]
    picked = choose("natural", quiet, [], Recent(last_speaker="a"), fixed(0.0))
    assert [(m.name, t.reason, t.roll) for m, t in picked] == [("Bram", "random", 0.0)]
