"""Cards and lorebooks as files: a card (V1/V2/V3, PNG, JSON or CHARX) or a lorebook imported from the bytes a
person gave, and exported as files other apps import. Files are parsed and images encoded off the event loop; a
file that can't be imported is refused with one line and nothing is recorded."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import urlparse

from engine import queries, queries_lore
from engine.cards import Asset, Card, CardError, ImportedCard, export_card_json, export_card_png, parse_card
from engine.cards.avatar import normalize_avatar
from engine.commands import ExportCharacter, ExportLorebook, ImportCharacter, ImportLorebook
from engine.commands.base import filled
from engine.errors import InvalidInput, NotFound
from engine.events import URL_MAX, CardAvatar
from engine.lore import LoreError, export_lorebook, parse_lorebook
from engine.services.writer import StoryWriter
from engine.storage.port import Conn
from engine.views import CardExport, CardImportView, CharacterView, LorebookView


def web_icon(card: Card) -> str | None:
    """The URL of the card's icon asset when it is on the web (it becomes the character's avatar link)."""
    for asset in card.assets or ():
        web = asset.uri.startswith(("https://", "http://")) and len(asset.uri) <= URL_MAX and " " not in asset.uri
        if asset.type == "icon" and web:
            return asset.uri
    return None


def prepare_import(data: bytes, filename: str) -> tuple[ImportedCard, CardAvatar | None]:
    """Parse a card file and bound its image (pure; CardError has the line to show)."""
    imported = parse_card(data, filename)
    avatar = None
    if imported.avatar is not None:
        avatar = CardAvatar(data=base64.b64encode(normalize_avatar(imported.avatar)).decode("ascii"))
    return imported, avatar


def with_avatar_link(card: Card, avatar_url: str | None) -> Card:
    """A card made in Chronicle with an avatar link exports it as its V3 icon asset (imported cards keep theirs)."""
    if avatar_url is None or card.assets is not None:
        return card
    ext = PurePosixPath(urlparse(avatar_url).path).suffix.lstrip(".").lower() or "png"
    return card.model_copy(update={"assets": (Asset(type="icon", uri=avatar_url, name="main", ext=ext[:10]),)})


def export_files(card: Card, image: bytes | None) -> tuple[bytes, bytes]:
    """The card as V3 JSON and as a PNG (on its own image when there is one)."""
    return export_card_json(card), export_card_png(card, image)


def check_upload(size: int, *, lorebook: bool = False) -> None:
    """Refuse a card (or lorebook) file over the import limit before it is downloaded: the line its import gives."""
    from engine.cards.importer import check_card_size
    from engine.lore.io import check_lorebook_size

    try:
        (check_lorebook_size if lorebook else check_card_size)(size)
    except (CardError, LoreError) as exc:
        raise InvalidInput(str(exc)) from None


class Library:
    """Imports and exports of whole cards and lorebooks."""

    def __init__(self, writer: StoryWriter) -> None:
        self.writer = writer
        self.db = writer.db

    async def import_card(self, cmd: ImportCharacter, cause: str | None) -> CardImportView:
        """Parse the card file, then decide the import (a name in use needs `replace` or another `name`)."""
        try:
            imported, avatar = await asyncio.to_thread(prepare_import, cmd.file.data, cmd.file.filename)
        except CardError as exc:
            raise InvalidInput(str(exc)) from None
        card = imported.card
        parsed = filled(cmd, card=card, avatar=avatar, avatar_url=web_icon(card))
        view: CardImportView = await self.writer.record(parsed, key=cause, cause=cause)
        return replace(view, spec=imported.spec, source_format=imported.source_format)

    async def export_card(self, q: ExportCharacter) -> CardExport:
        """A character's card as V3 JSON and as a PNG with `ccv3` and `chara` chunks (on the imported card's own
        image when there is one, else on a plain generated image)."""

        def read(conn: Conn) -> tuple[CharacterView, Card, bytes | None]:
            character = queries.get_character(conn, q.actor.guild_id, q.name)
            stored = queries_lore.find_card(conn, character.character_id)
            if stored is None:
                raise NotFound("That character no longer exists.")
            return character, stored[0], stored[1]

        character, card, image = await self.db.read(read)
        card = with_avatar_link(card, character.avatar_url)
        try:
            json_bytes, png_bytes = await asyncio.to_thread(export_files, card, image)
        except CardError as exc:
            raise InvalidInput(str(exc)) from None
        return CardExport(character.name, json_bytes, png_bytes, on_own_image=image is not None)

    async def import_lorebook(self, cmd: ImportLorebook, cause: str | None) -> LorebookView:
        """Parse the lorebook file (a lorebook_v3, a character_book, SillyTavern world info), then decide the
        import; a book without a name takes the file's."""
        try:
            book = await asyncio.to_thread(parse_lorebook, cmd.file.data, cmd.file.filename)
        except LoreError as exc:
            raise InvalidInput(str(exc)) from None
        if cmd.name and cmd.name.strip():
            book = book.model_copy(update={"name": cmd.name.strip()})
        parsed = filled(cmd, book=book)
        view: LorebookView = await self.writer.record(parsed, key=cause, cause=cause)
        return view

    async def export_lorebook(self, q: ExportLorebook) -> tuple[str, bytes]:
        """A book as a lorebook_v3 JSON file: (its name, the file's bytes)."""

        def read(conn: Conn) -> tuple[str, bytes]:
            book = queries_lore.get_lorebook(conn, q.actor.guild_id, q.book)
            return book.name, export_lorebook(queries_lore.load_book(conn, book.book_id))

        return await self.db.read(read)
