"""End to end through the fake Discord: cards uploaded as attachments, their lore in a story's prompts, greetings
swiped with buttons, lorebooks from a file, and the cards exported back as attachments with nothing lost."""

from __future__ import annotations

import copy
import json

from engine.cards import parse_card
from tests.bot.conftest import Chronicle
from tests.engine.cards.builders import V2, V3, b64, dump, png_with
from tests.fakes.discord import FakeMessage
from tests.fakes.discord.interactions import InteractionRecord


def _v2_png() -> bytes:
    """A V2 card PNG with an embedded lorebook (no dice: the entry always fires on its keyword)."""
    card = copy.deepcopy(V2)
    card["data"]["character_book"]["entries"][0]["extensions"]["useProbability"] = False
    return png_with([("tEXt", "chara", b64(card))])


def _v3_json() -> bytes:
    card = copy.deepcopy(V3)
    card["data"]["name"] = "Corin"
    card["data"]["nickname"] = "Cor"
    card["data"]["character_book"] = {"name": "Corin's secrets", "entries": [
        {"keys": ["harbour"], "content": "Corin smuggles silk through the harbour.", "enabled": True,
         "insertion_order": 5, "comment": "smuggling"},
        {"keys": ["harbour"], "content": "The harbourmaster is bribed.", "enabled": False,
         "insertion_order": 6, "comment": "bribe"}]}
    return dump(card)


def _files(record: InteractionRecord) -> dict[str, bytes]:
    """The files attached to an interaction's response, by file name."""
    message = record.original
    assert message is not None
    return {a["filename"]: message.files[a["id"]] for a in message.attachments}


def _greeting(chronicle: Chronicle) -> FakeMessage:
    return chronicle.hook_messages()[-1]


async def test_cards_with_lore_import_play_and_export_through_discord(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    imported = await chronicle.command(w.admin, "character import", {"file": ("Seraphina.png", _v2_png())})
    assert any("Seraphina** joins the cast, imported from a V2 PNG card with a lorebook of 1 entry" in t
               for t in [imported.content, *(m.content for m in fd.messages_in(w.channel))]), imported.texts
    second = await chronicle.command(w.admin, "character import", {"file": ("corin.json", _v3_json())})
    assert second.responded and (await chronicle.engine.reads.card(str(w.guild.id), "Corin"))[0].nickname == "Cor"
    show = await chronicle.command(w.member, "character show", {"name": "Seraphina"})
    fields = {f["name"]: f["value"] for f in show.embeds[0]["fields"]}
    assert fields["Creator notes"] == "Be nice." and fields["Lorebook"] == "Sera's book (1 entries)"

    await chronicle.command(w.admin, "persona set", {"name": "Wren"})
    await chronicle.command(w.admin, "chat start", {"character": "Seraphina", "guest": "Corin"})
    chronicle.llm.enqueue_text("The glade is quiet.")
    await chronicle.say(w.admin, "Hello there.")
    quiet = await chronicle.command(w.admin, "chat prompt", {"character": "Seraphina"})
    assert "The forest is enchanted." not in _files(quiet)["prompt.txt"].decode()
    chronicle.llm.enqueue_text("The trees listen.")
    await chronicle.say(w.admin, "Is this forest safe, Seraphina?")
    sera = await chronicle.command(w.admin, "chat prompt", {"character": "Seraphina"})
    assert "# Lore\nThe forest is enchanted." in _files(sera)["prompt.txt"].decode()
    assert "✅ Sera's book #1 forest" in sera.embeds[0]["description"]
    listed = await chronicle.command(w.member, "lore list")
    note = "(read-only: it changes when the card is imported again)"
    assert listed.embeds[0]["description"] == (f"**Sera's book** — 1 entry · in **Seraphina**'s card {note}\n"
                                               f"**Corin's secrets** — 2 entries · in **Corin**'s card {note}")

    chronicle.llm.enqueue_text("Cor shrugs.")
    await chronicle.say(w.admin, "Corin, what happens at the harbour?")
    corin = await chronicle.command(w.admin, "chat prompt", {"character": "Corin"})
    text = _files(corin)["prompt.txt"].decode()
    assert "Corin smuggles silk through the harbour." in text and "bribed" not in text.split("### lore")[0]
    assert "❌ Corin's secrets #2 bribe: disabled" in corin.embeds[0]["description"]
    assert "You are Cor in an ongoing roleplay story" in text  # the nickname replaces {{char}}

    for name, source in (("Seraphina", _v2_png()), ("Corin", _v3_json())):
        exported = await chronicle.command(w.member, "character export", {"name": name})
        files = _files(exported)
        assert exported.ephemeral and sorted(files) == [f"{name}.json", f"{name}.png"]
        original = parse_card(source, "source").card
        assert parse_card(files[f"{name}.json"], "x.json").card == original
        assert parse_card(files[f"{name}.png"], "x.png").card == original
    assert (await chronicle.engine.maintenance.check()).clean
    assert fd.unknown_routes == []


async def test_a_bad_card_upload_gets_one_line_and_records_nothing(chronicle: Chronicle) -> None:
    w = chronicle.fd.world
    before = len(await chronicle.engine.reads.recent_events(limit=1000))
    record = await chronicle.command(w.member, "character import", {"file": ("cat.png", b"\x89PNG\r\n\x1a\nbroken")})
    assert record.ephemeral and record.texts == [
        "This PNG is damaged or cut short and can't be read. Download the card again and import the new file."]
    big = await chronicle.command(w.member, "character import", {"file": ("big.png", bytes(10 * 1024 * 1024 + 1))})
    assert big.texts == ["This file is 10.1 MB; cards may be at most 10 MB. Shrink the image or export the card as "
                         ".json."]
    clash = await chronicle.command(w.member, "character import", {"file": ("a.json", dump(V2))})
    again = await chronicle.command(w.member, "character import", {"file": ("a.json", dump(V2))})
    assert "replace:true" in again.texts[-1] and clash.responded
    assert len(await chronicle.engine.reads.recent_events(limit=1000)) == before + 1


async def test_an_upload_discord_no_longer_serves_gets_one_line_and_records_nothing(chronicle: Chronicle) -> None:
    """An attachment link that has expired (404) or a CDN that fails: say so, ask for the file again."""
    w = chronicle.fd.world
    before = len(await chronicle.engine.reads.recent_events(limit=1000))
    chronicle.fd.fail_route("GET", r"^/attachments/", status=404, times=1)
    card = await chronicle.command(w.member, "character import", {"file": ("a.json", dump(V2))})
    chronicle.fd.fail_route("GET", r"^/attachments/", status=503, times=1)
    book = await chronicle.command(w.admin, "lore import", {"file": ("world.json", b'{"entries": {}}')})
    assert card.ephemeral and card.texts == ["I couldn't download a.json from Discord (404): upload it again."]
    assert book.texts == ["I couldn't download world.json from Discord (503): upload it again."]
    assert len(await chronicle.engine.reads.recent_events(limit=1000)) == before


async def test_greeting_buttons_swipe_until_someone_speaks(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.command(w.admin, "character import", {"file": ("Seraphina.png", _v2_png())})
    await chronicle.command(w.admin, "chat start", {"character": "Seraphina", "greeting": 2})
    greeting = _greeting(chronicle)
    assert greeting.content == "Hi!"
    ids = [c.get("custom_id", "") for row in greeting.components for c in row["components"]]
    assert [i.split(":")[2] for i in ids[:3]] == ["prev", "at", "next"] and ids[2].endswith(":3")
    click = await fd.click_button(greeting, ids[2], w.member)
    await click.wait_done(10)
    await chronicle.settle()
    assert _greeting(chronicle).content == "Welcome." and click.texts == ["Showing greeting 3 of 3."]
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    assert [m.text for m in await chronicle.engine.reads.transcript(chat.chat_id)] == ["Welcome."]
    reply_id = ids[0].split(":")[3]
    swiped = [(c.get("custom_id"), c.get("label")) for row in _greeting(chronicle).components for c in row["components"]]
    assert swiped[:3] == [(f"chronicle:greeting:prev:{reply_id}:1:2", None),
                          (f"chronicle:greeting:at:{reply_id}:1", "3/3"),
                          (f"chronicle:greeting:next:{reply_id}:1:1", None)]
    chronicle.llm.enqueue_text("Welcome indeed.")
    await chronicle.say(w.member, "Hello!")
    assert _greeting(chronicle).content == "Welcome indeed." and greeting.components == []  # no more swiping


async def test_lore_commands_through_discord(chronicle: Chronicle) -> None:
    w = chronicle.fd.world
    await chronicle.start_story(guest=True)
    world = {"entries": {"0": {"uid": 0, "key": ["vault"], "content": "The vault code is 1234.",
                               "comment": "vault", "extensions": {"chronicle": {"characters": ["Aria"]}}}}}
    imported = await chronicle.command(w.admin, "lore import", {"file": ("Eldoria.json", json.dumps(world).encode())})
    assert any("Lorebook **Eldoria** is here with 1 entry" in t for t in
               [imported.content, *(m.content for m in chronicle.fd.messages_in(w.channel))])
    added = await chronicle.command(w.admin, "lore add", {"book": "Eldoria", "keys": "dragon, wyrm",
                                                          "content": "Dragons sleep.", "sticky": 2})
    assert added.texts == ["Added entry #2 to **Eldoria**."]
    await chronicle.command(w.admin, "lore attach", {"book": "Eldoria"})
    shown = await chronicle.command(w.member, "lore show", {"book": "Eldoria"})
    assert "`#1` **vault**" in shown.embeds[0]["description"] and "only Aria" in shown.embeds[0]["description"]
    chronicle.llm.enqueue_text("Hmm.")
    await chronicle.say(w.admin, "What opens the vault?")
    bram = await chronicle.command(w.admin, "chat prompt", {"character": "Bram"})
    assert "❌ Eldoria #1 vault: not present" in bram.embeds[0]["description"]
    toggled = await chronicle.command(w.admin, "lore toggle", {"book": "Eldoria", "entry": 1})
    assert toggled.texts == ["**Eldoria** #1 is now off."]
    listed = await chronicle.command(w.member, "lore list")
    assert "**Eldoria** — 2 entries · attached to" in listed.embeds[0]["description"]
    unsafe = await chronicle.command(w.admin, "lore add", {"book": "Eldoria", "keys": "/(?<!sea )dragon/i",
                                                           "content": "x"})
    assert unsafe.texts == ["entry 3, key '/(?<!sea )dragon/i': lookbehind ((?<=…) or (?<!…)) is not supported; "
                            "write the key without it."]
    refused = await chronicle.command(w.member, "lore remove", {"book": "Eldoria", "entry": 2})
    assert "author of 'Eldoria'" in refused.texts[-1]
    exported = await chronicle.command(w.member, "lore export", {"book": "Eldoria"})
    assert json.loads(_files(exported)["Eldoria.json"])["spec"] == "lorebook_v3"
