"""The console's card and lorebook commands: the same as Discord's, with files on disk instead of attachments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.console.commands import _int, command
from bot.discord.render_cards import card_book_line, file_stem, lore_lines
from bot.discord.transformers import entry_fields
from bot.files import write_file
from engine import CardExport, InvalidInput, LoreEntryView, check_upload

if TYPE_CHECKING:
    from bot.console.app import Console

ENTRY_OPTIONS = ("secondary_keys", "logic", "constant", "characters", "probability", "sticky", "cooldown", "delay",
                 "order", "comment", "whole_words", "case_sensitive", "scan_depth")
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def flag(args: dict[str, str], key: str) -> bool | None:
    """A true/false option (true/yes/1/on or false/no/0/off), None when absent."""
    if key not in args:
        return None
    value = args[key].strip().lower()
    if value not in _TRUE | _FALSE:
        raise InvalidInput(f"{key}: must be true or false, not '{args[key][:20]}'.")
    return value in _TRUE


def read_upload(path_text: str, *, lorebook: bool = False) -> tuple[bytes, str]:
    """A file's bytes and name, refused before reading when it is over the import limit."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise InvalidInput(f"There is no file at {path_text[:200]}.")
    check_upload(path.stat().st_size, lorebook=lorebook)
    return path.read_bytes(), path.name


def write_card(exported: CardExport, out: str | None) -> list[Path]:
    """Write the export: `out` ending .json or .png is that one file; a folder (an existing one, or any `out` ending
    with a slash) gets both, named after the character; otherwise both `<out>.json` and `.png`."""
    target = Path(out).expanduser() if out else Path("exports") / file_stem(exported.name)
    if out and (out.endswith(("/", os.sep)) or target.is_dir()):
        target = target / file_stem(exported.name)
    suffix = target.suffix.lower()
    files = {".json": [(target, exported.json_bytes)], ".png": [(target, exported.png_bytes)]}.get(
        suffix, [(target.with_name(target.name + ".json"), exported.json_bytes),
                 (target.with_name(target.name + ".png"), exported.png_bytes)])
    return [write_file(path, data) for path, data in files]


def _fields(args: dict[str, str]) -> dict[str, Any]:
    logic = args["logic"].upper() if "logic" in args else None
    return entry_fields(keys=args.get("keys"), content=args.get("content"), secondary_keys=args.get("secondary_keys"),
                        logic=logic, characters=args.get("characters"), comment=args.get("comment"),
                        probability=_int(args, "probability"), sticky=_int(args, "sticky"),
                        cooldown=_int(args, "cooldown"), delay=_int(args, "delay"), order=_int(args, "order"),
                        scan_depth=_int(args, "scan_depth"), constant=flag(args, "constant"),
                        whole_words=flag(args, "whole_words"), case_sensitive=flag(args, "case_sensitive"))


def _entry(view: LoreEntryView) -> str:
    e = view.entry
    keys = "always" if e.constant else ", ".join(e.keys)
    only = f" (only {', '.join(e.characters)})" if e.characters else ""
    return f"  #{view.number} {'' if e.enabled else '[off] '}{e.label} — {keys}{only}: {e.content}"


@command("character import", ("path",), ("name", "replace"), help="import a card file (.png, .json, .charx)")
async def _character_import(console: Console, args: dict[str, str]) -> str:
    from bot.discord.render_cards import imported_line

    data, filename = read_upload(args["path"])
    result = await console.engine.import_card(console.actor, data, filename, name=args.get("name"),
                                              replace=bool(flag(args, "replace")), cause=console.cause)
    return imported_line(result).replace("**", "")


@command("character export", ("name",), ("out",),
         help="write a card as V3 JSON and PNG (out:FILE[.json|.png], or out:DIR/)")
async def _character_export(console: Console, args: dict[str, str]) -> str:
    exported = await console.engine.export_card(console.actor.guild_id, args["name"])
    written = write_card(exported, args.get("out"))
    return "Wrote " + " and ".join(str(path) for path in written)


@command("reply greeting", ("number",), help="open the story with another of the host's greetings")
async def _reply_greeting(console: Console, args: dict[str, str]) -> None:
    await console.engine.swipe_greeting(console.actor, console.channel_id, _int(args, "number") or 1, console.sink,
                                        cause=console.cause)


@command("lore import", ("path",), ("name", "replace"), help="import a lorebook file (.json)")
async def _lore_import(console: Console, args: dict[str, str]) -> str:
    data, filename = read_upload(args["path"], lorebook=True)
    book = await console.engine.import_lorebook(console.actor, data, filename, name=args.get("name"),
                                                replace=bool(flag(args, "replace")), cause=console.cause)
    return f"Imported lorebook {book.name} ({book.entries} entries)."


@command("lore add", ("book", "keys", "content"), ENTRY_OPTIONS, help="add an entry (keys comma-separated)")
async def _lore_add(console: Console, args: dict[str, str]) -> str:
    view = await console.engine.write_lore_entry(console.actor, args["book"], cause=console.cause, **_fields(args))
    return f"Added entry #{view.number} to {view.book_name}."


@command("lore edit", ("book", "entry"), ("keys", "content", *ENTRY_OPTIONS), help="change fields of an entry")
async def _lore_edit(console: Console, args: dict[str, str]) -> str:
    view = await console.engine.write_lore_entry(console.actor, args["book"], number=_int(args, "entry"),
                                                 cause=console.cause, **_fields(args))
    return f"Updated {view.book_name} #{view.number}.\n{_entry(view)}"


@command("lore list", help="this world's lorebooks, and those in the story's cards")
async def _lore_list(console: Console, args: dict[str, str]) -> str:
    books = await console.engine.list_lorebooks(console.actor.guild_id)
    card_books = await console.engine.story_card_books(console.actor.guild_id, console.channel_id)
    lines = [f"- {b.name}: {b.entries} entries" + (f" (attached to {', '.join(b.characters)})" if b.characters
                                                   else "") for b in books]
    return "\n".join([*lines, *map(card_book_line, card_books)]) or "No lorebooks."


@command("lore show", ("book",), ("entry",), help="a lorebook's entries")
async def _lore_show(console: Console, args: dict[str, str]) -> str:
    book, entries = await console.engine.lorebook(console.actor.guild_id, args["book"])
    number = _int(args, "entry")
    shown = [v for v in entries if number is None or v.number == number]
    return "\n".join([f"{book.name} ({book.entries} entries)", *(_entry(v) for v in shown)])


@command("lore remove", ("book", "entry"), help="remove an entry")
async def _lore_remove(console: Console, args: dict[str, str]) -> str:
    book = await console.engine.remove_lore_entry(console.actor, args["book"], _int(args, "entry") or 0,
                                                  cause=console.cause)
    return f"Removed entry #{args['entry']} from {book.name}."


@command("lore toggle", ("book", "entry"), help="switch an entry off or on")
async def _lore_toggle(console: Console, args: dict[str, str]) -> str:
    view = await console.engine.toggle_lore_entry(console.actor, args["book"], _int(args, "entry") or 0,
                                                  cause=console.cause)
    return f"{view.book_name} #{view.number} is now {'on' if view.entry.enabled else 'off'}."


@command("lore attach", ("book",), ("character",), help="attach a book to the story (or a character)")
async def _lore_attach(console: Console, args: dict[str, str]) -> str:
    book = await console.engine.attach_lorebook(console.actor, console.channel_id, args["book"],
                                                character=args.get("character"), cause=console.cause)
    return f"{book.name} is attached to {args.get('character') or 'the story'}."


@command("lore detach", ("book",), ("character",), help="take a book off the story (or a character)")
async def _lore_detach(console: Console, args: dict[str, str]) -> str:
    book = await console.engine.detach_lorebook(console.actor, console.channel_id, args["book"],
                                                character=args.get("character"), cause=console.cause)
    return f"{book.name} is no longer attached to {args.get('character') or 'the story'}."


@command("lore export", ("book",), ("out",), help="write a lorebook as lorebook_v3 JSON")
async def _lore_export(console: Console, args: dict[str, str]) -> str:
    name, data = await console.engine.export_lorebook(console.actor.guild_id, args["book"])
    target = Path(args["out"]).expanduser() if "out" in args else Path("exports") / f"{file_stem(name)}.json"
    return f"Wrote {write_file(target, data)}"


def prompt_lore(prompt: object) -> str:
    """The console's lore inspector lines for `/chat prompt`."""
    lines = lore_lines(prompt.lore)  # type: ignore[attr-defined]
    return ("\nlore:\n  " + "\n  ".join(lines)) if lines else ""
