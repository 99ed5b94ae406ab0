"""Character cards through the engine: import of each kind, name clashes and replacing, export round trips,
greetings, the cards' rules in prompts, and replay."""

from __future__ import annotations

import copy
import io
import json

import pytest
from PIL import Image

from engine import Actor, DomainError, Engine, InvalidInput, PermissionDenied
from engine.cards import parse_card
from engine.commands import (
    AuthorCharacter,
    EditCharacter,
    ExportCharacter,
    ImportCharacter,
    ImportLorebook,
    InspectPrompt,
    SayLine,
    StartChat,
    SwipeGreeting,
)
from engine.events import load_payload
from engine.table import Upload
from tests.conftest import begin_write, count_events, dump_world, raw_connection
from tests.engine.cards.builders import V2, V3, b64, charx, dump, image_bytes, png_with
from tests.engine.cards.test_errors import CASES


def v2_png() -> bytes:
    """A V2 card with its lorebook in a zTXt chunk, as many apps write it."""
    return png_with([("zTXt", "chara", b64(V2))])


async def test_a_v2_png_card_imports_whole_and_exports_back_unchanged(engine: Engine, admin: Actor) -> None:
    source = parse_card(v2_png(), "sera.png").card
    result = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.png", data=v2_png())))
    assert (result.spec, result.source_format, result.lore_entries, result.has_image, result.replaced) == (
        "v2", "png", 1, True, False)
    character = result.character
    assert (character.name, character.greeting, character.creator_notes) == ("Seraphina", "Hello, {{user}}.",
                                                                           "Be nice.")
    assert character.alternate_greetings == ("Hi!", "Welcome.")
    assert (await engine.reads.card(admin.guild_id, "seraphina"))[1] == source
    exported = await engine.perform(ExportCharacter(actor=admin, name="Seraphina"))
    assert parse_card(exported.json_bytes, "s.json").card == source
    again = parse_card(exported.png_bytes, "s.png")
    assert again.spec == "v3" and again.card == source  # the ccv3 chunk wins and loses nothing
    assert exported.on_own_image and Image.open(io.BytesIO(exported.png_bytes)).size == (8, 12)
    chara = json.loads(__import__("base64").b64decode(Image.open(io.BytesIO(exported.png_bytes)).text["chara"]))
    assert chara["spec"] == "chara_card_v2" and chara["data"]["extensions"] == V2["data"]["extensions"]


async def test_import_export_import_is_equal_with_extensions_for_json_and_charx(engine: Engine, admin: Actor) -> None:
    card = copy.deepcopy(V3)
    files = {"sera.json": dump(card), "sera.charx": charx(card, {"assets/icon/images/main.png": image_bytes()})}
    for number, (filename, data) in enumerate(files.items()):
        name = f"Sera {number}"
        first = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename=filename, data=data), name=name))
        exported = await engine.perform(ExportCharacter(actor=admin, name=name))
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="again.json", data=exported.json_bytes), name=f"{name} again"))
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="again.png", data=exported.png_bytes), name=f"{name} png"))
        cards = [(await engine.reads.card(admin.guild_id, n))[1] for n in (name, f"{name} again", f"{name} png")]
        assert cards[0].extensions == V3["data"]["extensions"] and cards[0].top_extra == {"x_root": "kept"}
        assert cards[0].model_copy(update={"name": "x"}) == cards[1].model_copy(update={"name": "x"}) == \
            cards[2].model_copy(update={"name": "x"})
        assert first.character.nickname == "Sera" and first.has_image == (filename.endswith(".charx"))
    assert (await engine.maintenance.check()).clean


async def test_a_name_in_use_asks_for_replace_or_a_new_name_and_records_nothing(engine: Engine, admin: Actor,
                                                                                player: Actor, location: str) -> None:
    first = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V2))))
    before = count_events(location)
    with pytest.raises(DomainError, match=r"already exists here\. Import again with replace:true .* name:…"):
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V3))))
    with pytest.raises(PermissionDenied, match="author or a server admin"):
        await engine.perform(ImportCharacter(actor=player, file=Upload(filename="sera.json", data=dump(V3)), replace=True))
    assert count_events(location) == before
    renamed = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V3)), name="Sera the Second"))
    assert renamed.character.character_id != first.character.character_id
    replaced = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V3)), replace=True))
    assert replaced.replaced and replaced.character.character_id == first.character.character_id
    assert replaced.character.nickname == "Sera"
    assert [c.name for c in await engine.reads.list_characters(admin.guild_id)] == ["Sera the Second", "Seraphina"]


async def test_imported_names_with_control_characters_are_refused_like_typed_ones(engine: Engine, admin: Actor,
                                                                                   location: str) -> None:
    before = count_events(location)
    bidi = copy.deepcopy(V2)
    bidi["data"]["name"] = "Sera\u202ephina"
    with pytest.raises(InvalidInput, match=r"card name contains the control character U\+202E"):
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(bidi))))
    with pytest.raises(InvalidInput, match=r"control character U\+001B"):
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V2)), name="Sera\x1b[31m"))
    with pytest.raises(InvalidInput, match=r"book name contains the control character U\+0007"):
        await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="w.json", data=json.dumps({"name": "World\x07", "entries": {}}).encode())))
    assert count_events(location) == before
    renamed = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(bidi)), name="Sera"))  # a plain name is the way out
    assert renamed.character.name == "Sera"


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
async def test_a_file_that_is_not_a_good_card_gives_one_line_and_records_nothing(
        engine: Engine, admin: Actor, location: str, case: str) -> None:
    build, expected = CASES[case]
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard."))
    before = count_events(location)
    with pytest.raises(InvalidInput) as caught:
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.png", data=build())))
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert count_events(location) == before


async def test_editing_an_imported_card_keeps_the_rest_of_it(engine: Engine, admin: Actor) -> None:
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.png", data=v2_png())))
    await engine.perform(EditCharacter(actor=admin, name="Seraphina", field="description", value="A tired guardian."))
    _, card = await engine.reads.card(admin.guild_id, "Seraphina")
    assert card.description == "A tired guardian." and card.extensions == V2["data"]["extensions"]
    assert card.character_book is not None and card.alternate_greetings == ("Hi!", "Welcome.")
    assert (await engine.perform(ExportCharacter(actor=admin, name="Seraphina"))).on_own_image


async def test_a_card_made_in_chronicle_exports_its_avatar_link_and_reimports_it(engine: Engine,
                                                                                admin: Actor) -> None:
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard.", greeting="Hello, {{user}}.", avatar_url="https://example.org/aria.webp"))
    exported = await engine.perform(ExportCharacter(actor=admin, name="Aria"))
    assert not exported.on_own_image
    card = parse_card(exported.png_bytes, "aria.png").card
    assert card.assets is not None and card.assets[0].uri == "https://example.org/aria.webp"
    again = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="aria.json", data=exported.json_bytes), name="Aria 2"))
    assert again.character.avatar_url == "https://example.org/aria.webp"


async def test_greetings_choose_the_first_line_and_swipe_until_someone_speaks(engine: Engine, admin: Actor) -> None:
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V2))))
    with pytest.raises(InvalidInput, match="Seraphina has 3 greeting"):
        await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Seraphina", greeting=4))
    assert await engine.reads.find_chat("chan-1") is None
    chat = await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Seraphina", greeting=2))
    assert [m.text for m in await engine.reads.transcript(chat.chat_id)] == ["Hi!"]
    swiped = await engine.perform(SwipeGreeting(actor=admin, channel_id="chan-1", number=3), sink=NullSink())
    assert (swiped.text, swiped.revision) == ("Welcome.", 1)
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hello!"))
    with pytest.raises(DomainError, match="already spoken"):
        await engine.perform(SwipeGreeting(actor=admin, channel_id="chan-1", number=1), sink=NullSink())
    assert [m.text for m in await engine.reads.transcript(chat.chat_id)] == ["Welcome.", "Hello!"]


async def test_a_group_story_opens_with_the_cards_group_only_greetings(engine: Engine, admin: Actor) -> None:
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V3))))
    await engine.perform(AuthorCharacter(actor=admin, name="Bram", description="A smith."))
    alone = await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Seraphina"))
    assert [m.text for m in await engine.reads.transcript(alone.chat_id)] == ["Hello, Ada."]
    group = await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Seraphina", guest="Bram"))
    assert [m.text for m in await engine.reads.transcript(group.chat_id)] == ["Hello, everyone."]
    swiped = await engine.perform(SwipeGreeting(actor=admin, channel_id="chan-2", number=4), sink=NullSink())
    assert swiped.text == "Welcome."  # then the first message and the alternate greetings
    with pytest.raises(InvalidInput, match="Seraphina has 3 greeting"):  # a story alone never offers it
        await engine.perform(SwipeGreeting(actor=admin, channel_id="chan-1", number=4), sink=NullSink())


async def test_random_macros_are_decided_when_the_greeting_is_written(engine: Engine, admin: Actor,
                                                                    location: str) -> None:
    await engine.perform(AuthorCharacter(actor=admin, name="Dice", description="A gambler.", greeting="{{char}} rolls {{roll:d1000000}} and says {{random:yes,no,maybe}}."))
    chat = await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Dice"))
    line = (await engine.reads.transcript(chat.chat_id))[0].text
    assert line.startswith("Dice rolls ") and "{{" not in line
    live = dump_world(location)
    await engine.maintenance.rebuild()
    assert dump_world(location) == live and (await engine.reads.transcript(chat.chat_id))[0].text == line


async def test_card_rules_in_the_prompt(engine: Engine, admin: Actor) -> None:
    card = copy.deepcopy(V3)
    card["data"].update(creator_notes="SECRET NOTES FOR HUMANS", system_prompt="{{original}} Stay poetic, {{char}}.",
                        post_history_instructions="Remember: {{char}} never lies.")
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(card))))
    await engine.perform(AuthorCharacter(actor=admin, name="Plain", description="Nothing special."))
    await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Seraphina"))
    prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
    text = "\n".join(m.content for m in prompt.messages)
    assert "SECRET NOTES" not in text  # creator notes never reach a prompt
    assert prompt.messages[0].content.startswith("You are Sera in an ongoing roleplay story")  # {{original}}, nickname
    assert "Stay poetic, Sera." in text and prompt.messages[-1].content == "Remember: Sera never lies."
    await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Plain"))
    plain = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-2"))
    assert plain.messages[0].content.startswith("You are Plain in an ongoing roleplay story")  # the default


async def test_an_old_bot_authored_event_is_upcast_and_a_rebuild_matches(engine: Engine, admin: Actor,
                                                                          location: str) -> None:
    v1 = {"character_id": "chr_old", "guild_id": admin.guild_id, "name": "Old", "description": "From before.",
          "personality": "", "scenario": "", "greeting": "Hi.", "example_dialogue": "", "system_prompt": "",
          "post_history_instructions": "", "avatar_url": None, "author_id": admin.user_id}
    event = load_payload("bot_authored", 1, v1)
    assert (event.name, event.greeting, event.card.first_mes) == ("Old", "Hi.", "Hi.")
    conn = raw_connection(location)
    begin_write(conn)
    conn.execute("INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload,"
                 " recorded_at) VALUES (?, 1, 'bot_authored', 1, NULL, ?, ?, ?, '2025-01-01T00:00:00+00:00')",
                 (f"guild:{admin.guild_id}", admin.guild_id, admin.user_id, json.dumps(v1)))
    conn.execute("COMMIT")
    conn.close()
    await engine.maintenance.catch_up()
    old, card = await engine.reads.card(admin.guild_id, "Old")
    assert (old.greeting, card.first_mes, card.extensions) == ("Hi.", "Hi.", {})
    assert (await engine.maintenance.check()).clean


class NullSink:
    """Shows nothing (the engine records what it would have shown)."""

    async def begin(self, character: object) -> None:
        """Nothing to show."""

    async def update(self, character: object, text: str) -> None:
        """Nothing to show."""

    async def finish(self, character: object, text: str) -> list[str]:
        """No frontend ids."""
        return []

    async def abort(self, character: object, error: Exception) -> None:
        """Nothing to take back."""


async def test_a_large_card_image_is_kept_within_its_bounds(engine: Engine, admin: Actor) -> None:
    out = io.BytesIO()
    Image.effect_noise((2000, 1500), 80).save(out, format="PNG")
    icon = out.getvalue()
    assert len(icon) > 1_000_000
    result = await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.charx", data=charx(V3, {"assets/icon/images/main.png": icon}))))
    assert result.has_image
    exported = await engine.perform(ExportCharacter(actor=admin, name="Seraphina"))
    image = Image.open(io.BytesIO(exported.png_bytes))
    assert max(image.size) <= 1024 and image.size[0] / image.size[1] == pytest.approx(2000 / 1500, rel=0.01)
    assert parse_card(exported.png_bytes, "s.png").card == parse_card(dump(V3), "s.json").card


async def test_the_starter_character_comes_with_its_lore(engine: Engine, admin: Actor) -> None:
    """The shipped starter card is imported whole: its lorebook reaches the prompt when its keywords come up."""
    from bot.starter import load_starter

    hollis = await load_starter(engine, admin)
    await engine.perform(StartChat(actor=admin, channel_id="chan-s", character=hollis.name))
    prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-s"))  # the greeting names the lake, the ferry, the fare…
    entries = {entry for _, entry, _ in prompt.lore.active} | {entry for _, entry, _ in prompt.lore.dropped}
    assert len(entries) == 4 and any("fare" in e for e in entries)
    assert prompt.lore.active and prompt.lore.tokens <= prompt.lore.budget
    assert "one story" in prompt.lore.text
