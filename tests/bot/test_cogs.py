"""Slash-level tests: the generated tree, the error funnel, admin checks — without a gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from structlog.testing import capture_logs

from bot.discord import slash
from bot.discord.checks import NOT_ADMIN, NotAdmin, member_is_admin
from bot.discord.client import EXTENSIONS, ChronicleBot
from bot.discord.tree import NARRATOR_DOWN, TRY_AGAIN, error_text, report_error
from engine import ConcurrencyConflict, Engine, InvalidInput, NarratorUnavailable
from tests.bot.conftest import Chronicle


@dataclass
class FakeResponse:
    """interaction.response: records what was sent."""

    sent: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def is_done(self) -> bool:
        return bool(self.sent)

    async def send_message(self, content: str | None = None, **kwargs: Any) -> None:
        self.sent.append((content, kwargs))


@dataclass
class FakeFollowup:
    """interaction.followup: records followups."""

    sent: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    async def send(self, content: str | None = None, **kwargs: Any) -> None:
        self.sent.append((content, kwargs))


@dataclass
class FakeUser:
    """The invoking person."""

    id: int = 42
    display_name: str = "Pip"


@dataclass
class FakeInteraction:
    """The parts of discord.Interaction the cogs and the tree use."""

    client: Any
    id: int = 900
    guild_id: int = 1
    channel_id: int = 2
    user: FakeUser = field(default_factory=FakeUser)
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    response: FakeResponse = field(default_factory=FakeResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)
    type: discord.InteractionType = discord.InteractionType.application_command
    command: Any = None
    data: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
async def bot(engine: Engine) -> ChronicleBot:
    """A ChronicleBot with every extension loaded and the generated commands installed (never connected)."""
    chronicle = ChronicleBot(engine)
    for extension in EXTENSIONS:
        await chronicle.load_extension(extension)
    slash.install(chronicle.tree)
    return chronicle


async def test_the_tree_holds_every_group_of_the_public_interface(bot: ChronicleBot) -> None:
    """The generated tree holds the thirteen groups of the public interface."""
    names = {c.name for c in bot.tree.get_commands()}
    assert names == {"character", "persona", "chat", "scene", "place", "time", "weather", "memory", "meanwhile",
                     "relationship", "reply", "admin", "lore"}


async def test_a_generated_callback_creates_a_character(bot: ChronicleBot, engine: Engine) -> None:
    """Calling a generated command's callback with a fake interaction reaches the engine and answers publicly."""
    command = bot.tree.get_command("character").get_command("create")  # type: ignore[union-attr]
    interaction = FakeInteraction(bot)
    await command.callback(interaction, name="Aria", description="A bard.")  # type: ignore[union-attr,call-arg]
    assert "Aria" in interaction.response.sent[0][0] and not interaction.response.sent[0][1].get("ephemeral")
    assert [c.name for c in await engine.reads.list_characters("1")] == ["Aria"]


@pytest.mark.parametrize(("error", "text"), [
    (InvalidInput("name: must not be empty."), "name: must not be empty."),
    (NotAdmin(), NOT_ADMIN),
    (ConcurrencyConflict(), TRY_AGAIN),
    (NarratorUnavailable("timeout"), NARRATOR_DOWN),
    (discord.app_commands.CommandInvokeError(SimpleNamespace(name="x"), InvalidInput("bad")), "bad"),  # type: ignore[arg-type]
])
def test_expected_errors_have_person_facing_text(error: Exception, text: str) -> None:
    """Domain errors, check failures, conflicts and the narrator being down map to their lines."""
    assert error_text(error) == text


async def test_unexpected_error_is_logged_with_an_id_and_answered(bot: ChronicleBot) -> None:
    """An unexpected error is logged with guild, channel, user and an id; the person sees the id privately."""
    interaction = FakeInteraction(bot)
    with capture_logs() as logs:
        await report_error(interaction, RuntimeError("kaboom"))  # type: ignore[arg-type]
    entry = next(e for e in logs if e["event"] == "request_failed")
    assert (entry["guild"], entry["channel"], entry["user"]) == (1, 2, 42)
    content, kwargs = interaction.response.sent[0]
    assert entry["error_id"] in content and kwargs["ephemeral"] is True


async def test_followup_after_the_response_is_done(bot: ChronicleBot) -> None:
    """Once the interaction is answered (deferred), the error goes out as an ephemeral followup."""
    interaction = FakeInteraction(bot)
    interaction.response.sent.append(("deferred", {}))
    await report_error(interaction, InvalidInput("too late"))  # type: ignore[arg-type]
    assert interaction.followup.sent == [("too late", {"ephemeral": True})]


async def test_admin_role_counts_as_admin(chronicle: Chronicle) -> None:
    """A member in a configured admin role may use /admin without Manage Server; others may not."""
    fd, w = chronicle.fd, chronicle.fd.world
    role = fd.add_role(w.guild, "Game Master")
    gil = fd.add_member(w.guild, "Gil", roles=[role])
    await fd.wait_for(lambda: chronicle.bot.get_guild(w.guild.id).get_role(role.id))  # type: ignore[union-attr]
    chronicle.bot.admin_role_ids = frozenset({role.id})
    allowed = await chronicle.command(gil, "admin log", bypass=True)
    refused = await chronicle.command(w.member, "admin log", bypass=True)
    assert allowed.content != NOT_ADMIN and refused.content == NOT_ADMIN
    assert not member_is_admin(FakeUser(), {role.id})  # type: ignore[arg-type]  # not a guild member


async def test_unexpected_error_end_to_end(chronicle: Chronicle, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real tree: an engine crash gives the person an ephemeral line with an error id."""
    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(chronicle.engine.reads, "answer", crash)
    record = await chronicle.command(chronicle.fd.world.member, "character list")
    assert record.ephemeral and "error id" in record.content
