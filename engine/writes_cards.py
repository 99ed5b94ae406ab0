"""The Engine's methods for whole character cards: import (a file's bytes), export (V3 JSON and a card PNG)
and the card as stored. Files are parsed and images encoded off the event loop; a file that can't be
imported is refused with one line and nothing is recorded."""

from __future__ import annotations

import asyncio
import base64
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from engine import queries, queries_lore
from engine.cards import Asset, Card, CardError, ImportedCard, export_card_json, export_card_png, parse_card
from engine.cards.avatar import normalize_avatar
from engine.commands import Actor
from engine.commands_cards import ImportCard
from engine.core import EngineCore
from engine.errors import InvalidInput, NotFound
from engine.events import URL_MAX, CardAvatar, CharacterAuthored, Recorded
from engine.lore import LoreError
from engine.storage.port import Conn
from engine.views import CardExport, CardImportView, CharacterView
from engine.writes import found

if TYPE_CHECKING:
    pass


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


class EngineCards(EngineCore):
    """Card import and export; mixed into Engine."""

    async def import_card(self, actor: Actor, data: bytes, filename: str, *, name: str | None = None,
                          replace: bool = False, cause: str | None = None) -> CardImportView:
        """Import a character card file (V1/V2/V3 as PNG, JSON or CHARX), its lorebook and image with it.

        A name in use needs `replace` (its author or an admin) or another `name`; nothing is recorded when the
        file can't be imported.
        """
        try:
            imported, avatar = await asyncio.to_thread(prepare_import, data, filename)
        except CardError as exc:
            raise InvalidInput(str(exc)) from None
        card = imported.card

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> CardImportView:
            event: Recorded[CharacterAuthored] = recorded[0]
            character = found(queries.find_character_by_id(conn, event.payload.character_id), "character")
            book = event.payload.card.character_book
            return CardImportView(character, imported.spec, imported.source_format,
                                  len(book.entries) if book else 0, event.payload.avatar is not None,
                                  replaced=queries_lore.created_seq(conn, character.character_id) != event.seq)

        return await self._do(ImportCard, result, key=cause, cause=cause, actor=actor, card=card,
                              new_name=name or None, avatar=avatar, avatar_url=web_icon(card), replace=replace)

    async def get_card(self, guild_id: str, name: str) -> tuple[CharacterView, Card]:
        """An active character and its whole card (every field, its lorebook and extensions)."""

        def read(conn: Conn) -> tuple[CharacterView, Card]:
            character = queries.get_character(conn, guild_id, name)
            stored = queries_lore.find_card(conn, character.character_id)
            if stored is None:
                raise NotFound("That character no longer exists.")
            return character, stored[0]

        return await self.db.read(read)

    async def export_card(self, guild_id: str, name: str) -> CardExport:
        """A character's card as V3 JSON and as a PNG with `ccv3` and `chara` chunks (on the imported card's own
        image when there is one, else on a plain generated image)."""

        def read(conn: Conn) -> tuple[CharacterView, Card, bytes | None]:
            character = queries.get_character(conn, guild_id, name)
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


def check_upload(size: int, *, lorebook: bool = False) -> None:
    """Refuse a card (or lorebook) file over the import limit before it is downloaded: the line its import gives."""
    from engine.cards.importer import check_card_size
    from engine.lore.io import check_lorebook_size

    try:
        (check_lorebook_size if lorebook else check_card_size)(size)
    except (CardError, LoreError) as exc:
        raise InvalidInput(str(exc)) from None
