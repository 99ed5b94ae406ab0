"""Lore activation, rule by rule."""

from __future__ import annotations

from typing import Any

import pytest

from engine.lore import Activation, Lorebook, LoreEntry, LoreState, activate, candidates, next_state


def tokens(text: str) -> int:
    return len(text.split())


def run(entries: list[LoreEntry] | list[Lorebook], messages: list[str], **kw: Any) -> Activation:
    options: dict[str, Any] = {"character": "Alice", "state": LoreState(), "seed": "seed",
                               "budget_tokens": 1_000, "estimate_tokens": tokens}
    options.update(kw)
    return activate(entries, messages=messages, **options)


def ids(activation: Activation) -> list[Any]:
    return [entry.id for entry in activation.entries]


def reasons(activation: Activation) -> dict[Any, str]:
    return {d.entry.id: d.reason for d in activation.dropped}


def test_primary_keys_match_within_the_scan_depth() -> None:
    castle = LoreEntry(id=1, keys=("castle",), content="The castle.")
    assert ids(run([castle], ["the castle", "hello", "there"])) == []  # default depth 2: first message out
    assert ids(run([castle], ["hello", "a CASTLE!"])) == [1]
    deep = castle.model_copy(update={"scan_depth": 3})
    assert ids(run([deep], ["the castle", "hello", "there"])) == [1]
    book = Lorebook(name="B", scan_depth=3, entries=(castle,))
    assert ids(run([book], ["the castle", "hello", "there"])) == [1]


@pytest.mark.parametrize(("logic", "text", "fires"), [
    ("AND_ANY", "sword at night", True), ("AND_ANY", "sword", False),
    ("AND_ALL", "sword at night in rain", True), ("AND_ALL", "sword at night", False),
    ("NOT_ANY", "sword", True), ("NOT_ANY", "sword in rain", False),
    ("NOT_ALL", "sword at night", True), ("NOT_ALL", "sword at night in rain", False),
])
def test_secondary_key_logic(logic: str, text: str, fires: bool) -> None:
    entry = LoreEntry(id=1, keys=("sword",), secondary_keys=("night", "rain"), selective=True,
                      selective_logic=logic, content="x")
    assert ids(run([entry], [text])) == ([1] if fires else [])


def test_secondary_keys_are_ignored_when_not_selective() -> None:
    entry = LoreEntry(id=1, keys=("sword",), secondary_keys=("night",), selective=False, content="x")
    assert ids(run([entry], ["a sword"])) == [1]


def test_regex_keys_slashed_form_and_use_regex() -> None:
    slashed = LoreEntry(id=1, keys=("/dra(g|k)on/i",), content="x")
    plain_regex = LoreEntry(id=2, keys=(r"wy\w+m",), use_regex=True, content="x")
    broken = LoreEntry(id=3, keys=("(unclosed",), use_regex=True, content="x")
    assert ids(run([slashed, plain_regex, broken], ["A DRAKON and a wyvernm (unclosed"])) == [1, 2]
    assert ids(run([plain_regex], [r"wy\w+m"])) == []  # the key is a pattern, not literal text


def test_case_sensitivity() -> None:
    sensitive = LoreEntry(id=1, keys=("Rome",), case_sensitive=True, content="x")
    insensitive = LoreEntry(id=2, keys=("Rome",), content="x")
    assert ids(run([sensitive, insensitive], ["all roads lead to rome"])) == [2]
    assert ids(run([sensitive, insensitive], ["all roads lead to Rome"])) == [1, 2]


def test_whole_words() -> None:
    whole = LoreEntry(id=1, keys=("cat",), match_whole_words=True, content="x")
    part = LoreEntry(id=2, keys=("cat",), content="x")
    assert ids(run([whole, part], ["a catalogue"])) == [2]
    assert ids(run([whole, part], ["the cat."])) == [1, 2]


def test_constant_entries_fire_without_keys_and_disabled_ones_never() -> None:
    constant = LoreEntry(id=1, constant=True, content="always")
    disabled = LoreEntry(id=2, keys=("x",), enabled=False, content="never")
    result = run([constant, disabled], ["x marks the spot"])
    assert ids(result) == [1]
    assert reasons(result) == {2: "disabled"}


def test_probability_is_decided_by_seed_and_entry() -> None:
    entries = [LoreEntry(id=n, keys=("go",), use_probability=True, probability=50, content="x") for n in range(40)]
    first = run(entries, ["go"], seed="event-1")
    assert ids(first) == ids(run(entries, ["go"], seed="event-1"))
    assert 5 < len(ids(first)) < 35
    assert set(reasons(first).values()) == {"probability"}
    assert len(ids(first)) + len(first.dropped) == 40
    assert any(ids(run(entries, ["go"], seed=f"event-{n}")) != ids(first) for n in range(2, 6))
    never = LoreEntry(id=99, keys=("go",), use_probability=True, probability=0, content="x")
    unused = LoreEntry(id=98, keys=("go",), use_probability=False, probability=0, content="x")
    assert ids(run([never, unused], ["go"])) == [98]


def _chat(entry: LoreEntry, lines: list[str]) -> list[bool]:
    """Activate after each message of a chat, carrying the state; True where the entry is in the prompt."""
    state, seen = LoreState(), []
    for count in range(1, len(lines) + 1):
        result = run([entry], lines[:count], state=state.at(count))
        seen.append(bool(result.entries))
        state = next_state(state, result)
    return seen


def test_sticky_keeps_an_entry_for_n_messages_after_it_fired() -> None:
    entry = LoreEntry(id=1, keys=("ghost",), sticky=2, content="x", scan_depth=1)
    assert _chat(entry, ["ghost", "a", "b", "c", "ghost"]) == [True, True, True, False, True]


def test_cooldown_blocks_an_entry_after_its_sticky_ends() -> None:
    entry = LoreEntry(id=1, keys=("ghost",), sticky=1, cooldown=2, content="x", scan_depth=1)
    assert _chat(entry, ["ghost"] * 6) == [True, True, False, False, True, True]
    no_sticky = LoreEntry(id=2, keys=("ghost",), cooldown=1, content="x", scan_depth=1)
    assert _chat(no_sticky, ["ghost"] * 4) == [True, False, True, False]


def test_cooldown_and_delay_are_reported() -> None:
    entry = LoreEntry(id=1, keys=("ghost",), cooldown=3, content="x")
    state = LoreState.from_history([(4, ["entries:1"])], message_count=5)
    assert reasons(run([entry], ["ghost"], state=state)) == {1: "cooldown"}
    late = LoreEntry(id=2, keys=("ghost",), delay=3, content="x")
    assert reasons(run([late], ["ghost", "ghost"])) == {2: "delay"}
    assert ids(run([late], ["ghost", "ghost", "ghost"])) == [2]


def test_state_is_derivable_from_recorded_activations() -> None:
    entry = LoreEntry(id=1, keys=("ghost",), sticky=3, content="x")
    live = next_state(LoreState(), run([entry], ["ghost"], state=LoreState(message_count=1)))
    replayed = LoreState.from_history([(1, ["entries:1"])], message_count=1)
    assert live == replayed
    assert candidates([entry]) == [("entries:1", entry)]


def test_recursion_follows_content_up_to_the_bound() -> None:
    chain = [LoreEntry(id=0, keys=("start",), content="mentions alpha")]
    chain += [LoreEntry(id=n, keys=(f"{word}",), content=f"mentions {nxt}")
              for n, (word, nxt) in enumerate([("alpha", "beta"), ("beta", "gamma"), ("gamma", "delta"),
                                              ("delta", "omega")], start=1)]
    assert ids(run(chain, ["start"], max_recursion=3)) == [0, 1, 2, 3]
    assert ids(run(chain, ["start"], max_recursion=0)) == [0]
    assert ids(run(chain, ["start"], max_recursion=10)) == [0, 1, 2, 3, 4]


def test_recursion_flags_and_book_setting() -> None:
    source = LoreEntry(id=1, keys=("start",), content="alpha beta")
    excluded = LoreEntry(id=2, keys=("alpha",), exclude_recursion=True, content="x")
    reached = LoreEntry(id=3, keys=("beta",), content="x")
    assert ids(run([source, excluded, reached], ["start"])) == [1, 3]
    preventing = source.model_copy(update={"prevent_recursion": True})
    assert ids(run([preventing, excluded, reached], ["start"])) == [1]
    flat = Lorebook(name="flat", recursive_scanning=False, entries=(source, reached))
    assert ids(run([flat], ["start"])) == [1]


def test_budget_fills_by_priority_and_lists_everything_dropped() -> None:
    constant = LoreEntry(id="lore", constant=True, insertion_order=1, content="one two three four five")
    high = LoreEntry(id="high", keys=("go",), insertion_order=5, priority=50, content="a b c d e f")
    low = LoreEntry(id="low", keys=("go",), insertion_order=9, content="a b")
    result = run([constant, high, low], ["go"], budget_tokens=8)
    assert ids(result) == ["high", "low"]
    assert reasons(result) == {"lore": "over budget"}
    assert result.tokens == 8 and result.fired == ("entries:high", "entries:low")
    assert next_state(LoreState(), result).fired_at == {"entries:high": 1, "entries:low": 1}


def test_book_token_budget_also_applies() -> None:
    book = Lorebook(name="B", token_budget=3, entries=(LoreEntry(id=1, constant=True, content="a b c d"),))
    assert reasons(run([book], ["x"])) == {1: "over budget"}


def test_entries_go_into_the_prompt_in_insertion_order() -> None:
    later = LoreEntry(id="later", constant=True, insertion_order=200, priority=1, content="x")
    earlier = LoreEntry(id="earlier", constant=True, insertion_order=10, content="x")
    assert ids(run([later, earlier], ["hi"])) == ["earlier", "later"]


def test_an_entry_limited_to_a_character_reaches_only_that_character() -> None:
    secret = LoreEntry(id=1, keys=("vault",), characters=("Alice", "c-7"), content="The code is 1234.")
    assert ids(run([secret], ["the vault"], character="alice")) == [1]
    assert ids(run([secret], ["the vault"], character=["c-7", "Zed"])) == [1]
    for other in ("Bob", None):
        result = run([secret], ["the vault"], character=other)
        assert ids(result) == [] and reasons(result) == {1: "not present"}


def test_of_entries_of_equal_order_the_one_the_newest_line_asks_about_fits_first() -> None:
    beasts = LoreEntry(id=1, keys=("beasts",), content="Beasts roam the forest at night, hungry and old.")
    eldoria = LoreEntry(id=2, keys=("eldoria",), content="Eldoria is the realm, its forest enchanted and wide.")
    lines = ["Beware the beasts out there.", "I dressed your wounds.", "Where am I? What is Eldoria?"]
    book = Lorebook(name="B", scan_depth=4, entries=(beasts, eldoria))
    asked = run([book], lines, budget_tokens=9)
    assert ids(asked) == [2] and reasons(asked) == {1: "over budget"}
    later = run([book], [*lines, "And the beasts, are they near?"], budget_tokens=9)
    assert ids(later) == [1] and reasons(later) == {2: "over budget"}
    assert ids(run([book], lines, budget_tokens=100)) == [1, 2]  # both fit: insertion order as always
    ordered = book.model_copy(update={"entries": (beasts.model_copy(update={"priority": 1_000}), eldoria)})
    assert ids(run([ordered], lines, budget_tokens=9)) == [1]  # a higher priority still comes first
