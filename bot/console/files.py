"""Files at the console: a card or lorebook read from a path (refused before reading when over the import
limit), and an exported card written where `out:` says."""

from __future__ import annotations

import os
from pathlib import Path

from bot.files import write_file
from bot.shown import file_stem
from engine import CardExport, InvalidInput, check_upload
from engine.table import Upload


def read_upload(path_text: str, *, lorebook: bool = False) -> Upload:
    """A file's name and bytes, refused before reading when it is over the import limit."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise InvalidInput(f"There is no file at {path_text[:200]}.")
    check_upload(path.stat().st_size, lorebook=lorebook)
    return Upload(filename=path.name, data=path.read_bytes())


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
