"""CHARX cards: a zip with `card.json` at its root and assets under `assets/`, read in memory with bomb limits."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from engine.cards.model import MAX_CARD_BYTES, CardError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_ZIP_ENTRIES = 1_000
MAX_ZIP_TOTAL = 100 * 1024 * 1024   # declared uncompressed size of every entry together
MAX_ENTRY_BYTES = MAX_CARD_BYTES    # what we ever read from one entry
MAX_RATIO = 200                     # uncompressed/compressed, for entries past RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
CARD_JSON = "card.json"
ZIP_BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error)
CORRUPT_ZIP = "This CHARX (zip) file is damaged and can't be opened. Download the card again and import the new file."
BOMB = ("This CHARX file unpacks to far more than its size (a zip bomb?), so it was not opened. "
        "Export the card again, or import it as PNG or JSON.")


@dataclass(frozen=True)
class Charx:
    """An opened CHARX: its card.json bytes and a bounded reader for its other files."""

    archive: zipfile.ZipFile
    card_json: bytes

    def read(self, path: str) -> bytes | None:
        """An entry's bytes (at most MAX_ENTRY_BYTES), or None when there is no such file."""
        try:
            info = self.archive.getinfo(path.lstrip("/"))
        except KeyError:
            return None
        return _read(self.archive, info)


def _check_bomb(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ZIP_ENTRIES:
        raise CardError(f"This CHARX file has {len(infos):,} files; the limit is {MAX_ZIP_ENTRIES:,}. "
                        "Remove unused assets and export it again.")
    if sum(info.file_size for info in infos) > MAX_ZIP_TOTAL:
        raise CardError(BOMB)
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise CardError(BOMB)
        if info.flag_bits & 0x1:
            raise CardError("This CHARX file is password-protected. Export it again without a password.")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one entry, never more than MAX_ENTRY_BYTES whatever its header claims."""
    try:
        with archive.open(info) as handle:
            data = handle.read(MAX_ENTRY_BYTES + 1)
    except ZIP_BROKEN:
        raise CardError(CORRUPT_ZIP) from None
    except NotImplementedError:
        raise CardError("This CHARX file uses a zip compression we can't read. "
                        "Export it again with standard (deflate) compression.") from None
    if len(data) > MAX_ENTRY_BYTES:
        raise CardError(f"'{info.filename[:80]}' in this CHARX file is over {MAX_ENTRY_BYTES // 1024 // 1024} MB "
                        "unpacked. Export the card again with smaller assets.")
    return data


def open_charx(data: bytes) -> Charx:
    """Open a CHARX archive in memory and read its card.json, checking the limits before reading anything."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except ZIP_BROKEN:
        raise CardError(CORRUPT_ZIP) from None
    _check_bomb(infos)
    try:
        info = archive.getinfo(CARD_JSON)
    except KeyError:
        raise CardError("This zip file has no card.json at its root, so it is not a CHARX card. "
                        "Export the character as .charx, .png or .json and import that.") from None
    return Charx(archive, _read(archive, info))
