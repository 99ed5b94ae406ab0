"""Interaction records (what the bot answered) and builders for command option payloads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .http_util import cdn_filename
from .world import FakeChannel, FakeMember, FakeMessage, FakeRole, FakeUser, snowflake

if TYPE_CHECKING:
    from .core import FakeDiscordCore

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
EPHEMERAL, LOADING = 64, 128
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11


@dataclass
class InteractionRecord:
    """One interaction sent to the bot and everything the bot answered to it."""

    core: FakeDiscordCore = field(repr=False)
    id: int
    token: str
    type: int
    payload: dict[str, Any] = field(repr=False)
    channel_id: int
    user_id: int
    message_id: int | None = None
    created_at: float = field(default_factory=time.monotonic)
    responded_at: float | None = None  # when the callback (an answer or a defer) arrived
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @property
    def responded(self) -> bool:
        """Whether the bot called the interaction callback."""
        return self.callback_type is not None

    @property
    def deferred(self) -> bool:
        """Whether the callback was a defer (5 or 6)."""
        return self.callback_type in (DEFERRED_MESSAGE, DEFERRED_UPDATE)

    @property
    def loading(self) -> bool:
        """Whether a deferred response still shows "thinking"."""
        return self.original is not None and bool(self.original.flags & LOADING)

    @property
    def flags(self) -> int:
        """The response's flags (64 = ephemeral)."""
        if self.original is not None:
            return self.original.flags
        return int((self.callback_data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the response is ephemeral."""
        return bool(self.flags & EPHEMERAL)

    @property
    def message(self) -> FakeMessage | None:
        """The response message: the original response, or the updated component message."""
        if self.original is not None:
            return self.original
        if self.message_id is not None:
            return self.core.messages.get(self.message_id)
        return None

    @property
    def content(self) -> str:
        """The response's content (the original response's, after edits and the first followup)."""
        if self.original is not None:
            return self.original.content
        return str((self.callback_data or {}).get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The response's embeds."""
        if self.original is not None:
            return self.original.embeds
        return list((self.callback_data or {}).get("embeds") or [])

    @property
    def attachments(self) -> list[dict[str, Any]]:
        """The response's attachments."""
        return self.original.attachments if self.original is not None else []

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (callback type 8)."""
        return list((self.callback_data or {}).get("choices") or [])

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened (callback type 9), if any."""
        return self.callback_data if self.callback_type == MODAL else None

    @property
    def texts(self) -> list[str]:
        """Content of the response then of every followup, in order."""
        out = [self.content] if self.content else []
        out += [m.content for m in self.followups if m is not self.original]
        return out

    async def wait_response(self, timeout: float = 5.0) -> InteractionRecord:
        """Wait for the interaction callback."""
        await self.core.wait_for(lambda: self.responded, timeout)
        return self

    async def wait_done(self, timeout: float = 5.0) -> InteractionRecord:
        """Wait for the callback and, after a defer, for the deferred response to be filled in."""
        await self.core.wait_for(lambda: self.responded and not self.loading, timeout)
        return self

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[FakeMessage]:
        """Wait until at least `count` followups were sent; return them."""
        await self.core.wait_for(lambda: len(self.followups) >= count, timeout)
        return self.followups


def find_command(commands: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """Find a registered chat-input command by its top-level name."""
    return next((c for c in commands if c["name"] == name and c.get("type", 1) == 1), None)


def build_command_data(
    core: FakeDiscordCore, command: dict[str, Any], path: str, values: dict[str, Any],
    *, guild_id: int, focused: str | None = None,
) -> dict[str, Any]:
    """Build `data` of an APPLICATION_COMMAND/AUTOCOMPLETE interaction from the registered schema."""
    names = path.split()
    data: dict[str, Any] = {"id": str(command["id"]), "name": command["name"], "type": 1, "options": []}
    if command.get("guild_id"):
        data["guild_id"] = str(command["guild_id"])
    schema: list[dict[str, Any]] = command.get("options") or []
    container: list[dict[str, Any]] = data["options"]
    for name in names[1:]:
        opt = next((o for o in schema if o["name"] == name and o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP)), None)
        if opt is None:
            raise ValueError(f"/{path}: no subcommand or group named {name!r}")
        node: dict[str, Any] = {"name": name, "type": opt["type"], "options": []}
        container.append(node)
        container, schema = node["options"], opt.get("options") or []
    if any(o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP) for o in schema):
        raise ValueError(f"/{path} is a group; name a subcommand")
    resolved: dict[str, dict[str, Any]] = {}
    known = {o["name"] for o in schema}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"/{path}: unknown options {sorted(unknown)}; known {sorted(known)}")
    for opt in schema:
        if opt["name"] not in values:
            if opt.get("required") and focused is None:
                raise ValueError(f"/{path}: required option {opt['name']!r} missing")
            continue
        is_focused = opt["name"] == focused
        value = values[opt["name"]]
        item: dict[str, Any] = {"name": opt["name"], "type": opt["type"]}
        item["value"] = str(value) if is_focused else _convert(core, opt["type"], value, guild_id, resolved)
        if is_focused:
            item["focused"] = True
        container.append(item)
    if resolved:
        data["resolved"] = resolved
    return data


def _convert(core: FakeDiscordCore, kind: int, value: Any, guild_id: int, resolved: dict[str, Any]) -> Any:
    """Convert a test value to the wire value of option type `kind`, filling `resolved`."""
    if kind == STRING:
        return str(value)
    if kind == INTEGER:
        return int(value)
    if kind == NUMBER:
        return float(value)
    if kind == BOOLEAN:
        return bool(value)
    if kind in (USER, MENTIONABLE) and isinstance(value, (FakeMember, FakeUser)):
        return _resolve_user(core, value, guild_id, resolved)
    if kind in (ROLE, MENTIONABLE) and isinstance(value, FakeRole):
        resolved.setdefault("roles", {})[str(value.id)] = value.payload()
        return str(value.id)
    if kind == CHANNEL and isinstance(value, FakeChannel):
        guild = core.guilds[value.guild_id]
        perms = guild.permissions_for(guild.members[core.bot_user.id], value)
        resolved.setdefault("channels", {})[str(value.id)] = {**value.payload(), "permissions": str(perms)}
        return str(value.id)
    if kind == ATTACHMENT:
        att = _attachment(core, value)
        resolved.setdefault("attachments", {})[att["id"]] = att
        return att["id"]
    return str(getattr(value, "id", value))


def _resolve_user(core: FakeDiscordCore, value: FakeMember | FakeUser, guild_id: int, resolved: dict[str, Any]) -> str:
    """Put a user (and member) into `resolved`; return the id."""
    user = value.user if isinstance(value, FakeMember) else value
    resolved.setdefault("users", {})[str(user.id)] = user.payload()
    member = core.guilds[guild_id].members.get(user.id)
    if member is not None:
        perms = core.guilds[guild_id].permissions_for(member)
        resolved.setdefault("members", {})[str(user.id)] = member.payload(with_user=False, permissions=perms)
    return str(user.id)


def _attachment(core: FakeDiscordCore, value: Any) -> dict[str, Any]:
    """An attachment object from a dict, or from `(filename, bytes)` served by the fake's CDN route."""
    if isinstance(value, dict):
        return value
    given, data = value
    att_id, filename = str(snowflake()), cdn_filename(given)
    core.attachment_bytes[att_id] = bytes(data)
    url = f"{core.base_url}/attachments/{att_id}/{filename}"
    return {"id": att_id, "filename": filename, "size": len(data), "url": url, "proxy_url": url,
            "content_type": "application/octet-stream", "ephemeral": True}
