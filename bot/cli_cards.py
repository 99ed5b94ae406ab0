"""`chronicle card export|import`: character cards as files."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli_common import CLI_USER, EXTRA_PARSERS, command, with_engine
from config.settings import Settings
from engine import Actor, Engine


def _card_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("card", help="export or import a character card file")
    cards = p.add_subparsers(dest="card_command", required=True, metavar="ACTION")
    e = cards.add_parser("export", parents=[common], help="write a card as V3 JSON or PNG (by --out's suffix)")
    e.add_argument("name", help="the character's name")
    e.add_argument("--out", required=True, help="FILE.json, FILE.png, FILE (both are written), or DIR/ (both, "
                   "named after the character, into that folder)")
    e.add_argument("--guild", default="console", help="the server id (default: the console's world)")
    i = cards.add_parser("import", parents=[common], help="import a card file (.png, .json, .charx)")
    i.add_argument("path", type=Path)
    i.add_argument("--guild", default="console", help="the server id (default: the console's world)")
    i.add_argument("--name", help="import it under this name")
    i.add_argument("--replace", action="store_true", help="replace the character of the same name")


EXTRA_PARSERS.append(_card_parser)


@command("card")
async def _card(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console_cards import read_upload, write_card

    async def body(engine: Engine) -> int:
        if args.card_command == "export":
            for path in write_card(await engine.export_card(args.guild, args.name), str(args.out)):
                print(f"wrote {path}")
            return 0
        data, filename = read_upload(str(args.path))
        actor = Actor(user_id=CLI_USER, guild_id=args.guild, display_name="console admin", is_admin=True)
        result = await engine.import_card(actor, data, filename, name=args.name, replace=args.replace)
        print(f"imported {result.character.name} ({result.spec} {result.source_format}, "
              f"{result.lore_entries} lore entries){' — replaced the old card' if result.replaced else ''}")
        return 0
    return await with_engine(args, settings, body, read_only=args.card_command == "export")
