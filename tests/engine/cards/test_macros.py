"""Card-text macros, the effective system prompt / post-history instructions, and the display name."""

from __future__ import annotations

import random

import pytest

from engine.cards import Card, display_name, effective_post_history, effective_system_prompt, expand_macros


def expand(text: str, seed: int = 1, original: str | None = None) -> str:
    return expand_macros(text, char="Sera", user="Tom", original=original, rng=random.Random(seed))


@pytest.mark.parametrize(("text", "expected"), [
    ("{{char}} greets {{user}}.", "Sera greets Tom."),
    ("{{CHAR}} / {{User}} / {{ char }}", "Sera / Tom / Sera"),
    ("<BOT> and <user>, <char>", "Sera and Tom, Sera"),
    ("a{{// a note for the author }}b", "ab"),
    ("a{{//multi\nline}}b", "ab"),
    ("{{original}} and more", "BASE and more"),
    ("{{unknown}} and {{random}}", "{{unknown}} and {{random}}"),
    ("{{roll:d0}} {{roll:abc}}", "{{roll:d0}} {{roll:abc}}"),
    ("{{roll:d\u0662\u0660}} {{roll:\uff12d6}}", "{{roll:d\u0662\u0660}} {{roll:\uff12d6}}"),  # digits 0-9 only
])
def test_fixed_macros(text: str, expected: str) -> None:
    assert expand(text, original="BASE") == expected


def test_original_is_empty_when_not_given() -> None:
    assert expand("[{{original}}]") == "[]"


def test_random_both_forms_choose_from_the_options_with_the_seeded_rng() -> None:
    for text, options in (("{{random:a,b,c}}", {"a", "b", "c"}), ("{{random::x y::z, w}}", {"x y", "z, w"})):
        results = {expand(text, seed) for seed in range(60)}
        assert results == options
        assert expand(text, 7) == expand(text, 7)


def test_same_seed_same_text() -> None:
    text = "{{random:a,b,c,d}} {{roll:3d6}} {{pick:x,y,z}} {{random::p::q}}"
    assert {expand(text, 42) for _ in range(5)} == {expand(text, 42)}
    assert len({expand(text, seed) for seed in range(30)}) > 5


def test_pick_is_stable_whatever_random_macros_come_before_it() -> None:
    for seed in range(20):
        alone = expand("{{pick:a,b,c,d,e}}", seed)
        after_randoms = expand("{{random:1,2,3}} {{roll:d20}} {{pick:a,b,c,d,e}}", seed).split(" ")[-1]
        assert alone == after_randoms
    assert {expand("{{pick::a::b::c}}", seed) for seed in range(40)} == {"a", "b", "c"}


@pytest.mark.parametrize(("spec", "low", "high"), [
    ("d20", 1, 20), ("20", 1, 20), ("2d6", 2, 12), ("1d4+10", 11, 14), ("2d4-1", 1, 7),
])
def test_roll_stays_within_the_dice(spec: str, low: int, high: int) -> None:
    results = {int(expand(f"{{{{roll:{spec}}}}}", seed)) for seed in range(200)}
    assert min(results) >= low and max(results) <= high
    assert min(results) == low and max(results) == high  # 200 rolls reach both ends of these small ranges


def test_roll_with_a_space() -> None:
    assert 1 <= int(expand("{{roll 6}}")) <= 6


def test_nested_macros_expand_inside_out() -> None:
    assert {expand("{{random:{{char}},{{user}}}}", seed) for seed in range(30)} == {"Sera", "Tom"}


def test_original_text_gets_its_macros_expanded() -> None:
    assert expand("{{original}}!", original="You are {{char}}.") == "You are Sera.!"


def test_effective_system_prompt_and_post_history() -> None:
    empty = Card(name="Sera")
    assert effective_system_prompt(empty, "DEFAULT") == "DEFAULT"
    assert effective_post_history(empty, "AFTER") == "AFTER"
    card = Card(name="Sera", system_prompt="{{original}}\nAlso rhyme.", post_history_instructions="Only {{user}}.")
    assert effective_system_prompt(card, "DEFAULT") == "DEFAULT\nAlso rhyme."
    assert effective_post_history(card, "AFTER") == "Only {{user}}."
    assert effective_post_history(card.model_copy(update={"post_history_instructions": " {{ORIGINAL}} x"}),
                                  "A\\1") == " A\\1 x"
    assert effective_system_prompt(card.model_copy(update={"system_prompt": "   "}), "DEFAULT") == "DEFAULT"


def test_display_name_prefers_the_nickname() -> None:
    assert display_name(Card(name="Seraphina")) == "Seraphina"
    assert display_name(Card(name="Seraphina", nickname="Sera")) == "Sera"
    assert display_name(Card(name="Seraphina", nickname="  ")) == "Seraphina"
    card = Card(name="Seraphina", nickname="Sera")
    assert expand_macros("I am {{char}}", char=display_name(card), user="Tom", rng=random.Random(0)) == "I am Sera"
