"""The lock files pin what pyproject.toml asks for: every dependency (with each extra) has one pinned version in
the lock that installs it, that version satisfies the range pyproject.toml gives, and every pin carries hashes.
Refresh them with `make lock`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def pins(lock: str) -> dict[str, tuple[Version, int]]:
    """name → (pinned version, number of hashes) of one lock file."""
    found: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            name = canonicalize_name(pin.group(1))
            found[name] = (Version(pin.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def wanted(*extras: str) -> list[Requirement]:
    """pyproject.toml's dependencies plus those of `extras`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize(("lock", "extras"), [("dev.txt", ("local", "test", "bench")), ("run.txt", ()),
                                              ("run-local.txt", ("local",))])
def test_a_lock_pins_every_dependency_within_its_range_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in wanted(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in requirements/{lock}: run `make lock`"
        version, hashes = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements/{lock} pins {name}=={version}, outside {requirement}: run `make lock`")
    assert all(hashes > 0 for _, hashes in pinned.values()), f"a pin in requirements/{lock} has no hash"


def test_the_runtime_locks_agree_with_the_development_lock() -> None:
    """What the image runs is what the tests ran: a package pinned in both has the same version."""
    dev = pins("dev.txt")
    for lock in ("run.txt", "run-local.txt"):
        for name, (version, _) in pins(lock).items():
            assert name in dev and dev[name][0] == version, f"{name}: {lock} and dev.txt disagree: run `make lock`"


def test_make_install_ci_and_the_image_install_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK   := requirements/dev.txt" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/run.txt" in dockerfile
    assert "--require-hashes -r requirements/run-local.txt" in dockerfile
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().endswith("make test")
