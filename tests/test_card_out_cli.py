"""`chronicle card export NAME --out DIR/` (a trailing slash, or a folder that exists) writes into DIR, named after
the character; `--out FILE[.json|.png]` is unchanged. Real `chronicle` processes on a demo-data world."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import ROOT, chronicle, demo_db  # noqa: F401  (demo_db: a demo-data file)

GUILD = "demo-guild-7"  # demo-data's


def _export(db: Path, out: str) -> list[str]:
    done = chronicle("card", "export", "Aria", "--guild", GUILD, "--out", out, "--database", str(db), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return [line.removeprefix("wrote ") for line in done.stdout.splitlines()]


def test_out_with_a_trailing_slash_is_a_folder_made_for_it(demo_db: Path, tmp_path: Path):  # noqa: F811
    folder = tmp_path / "cards"
    written = _export(demo_db, f"{folder}/")
    assert sorted(written) == [str(folder / "Aria.json"), str(folder / "Aria.png")]
    assert (folder / "Aria.json").read_bytes().startswith(b"{") and (folder / "Aria.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards"]  # no cards.json beside the folder


def test_out_naming_an_existing_folder_writes_into_it(demo_db: Path, tmp_path: Path):  # noqa: F811
    folder = tmp_path / "existing"
    folder.mkdir()
    assert sorted(_export(demo_db, str(folder))) == [str(folder / "Aria.json"), str(folder / "Aria.png")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


def test_out_naming_a_file_is_unchanged(demo_db: Path, tmp_path: Path):  # noqa: F811
    assert _export(demo_db, str(tmp_path / "hero.json")) == [str(tmp_path / "hero.json")]
    assert sorted(_export(demo_db, str(tmp_path / "both"))) == [str(tmp_path / "both.json"), str(tmp_path / "both.png")]
