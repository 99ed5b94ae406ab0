"""The fake Discord's server core: the aiohttp app, world stores, message operations and waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from .faults import Faults
from .gateway import INTENT_GUILD_MESSAGES, Gateway
from .http_util import UNKNOWN_CHANNEL, UNKNOWN_GUILD, UNKNOWN_MESSAGE, DiscordError, json_response, not_found
from .interactions import InteractionRecord
from .world import FakeChannel, FakeGuild, FakeMessage, FakeUser, FakeWebhook, now_iso

T = TypeVar("T")
GATEWAY_MESSAGE_CONTENT = 1 << 19


class FakeDiscordCore:
    """State and plumbing shared by the REST routes, the gateway and the test-driver API."""

    def __init__(self, *, bot_name: str = "Chronicle") -> None:
        self.bot_user = FakeUser(bot_name, bot=True)
        self.owner_user = FakeUser("Owner")
        self.application_id: int = self.bot_user.id
        self.application_flags: int = GATEWAY_MESSAGE_CONTENT
        self.enforce_privileged_intents = False  # when True, IDENTIFY asking for an intent the flags lack gets 4014
        self.accepted_token: str | None = None  # when set, any other bot token gets 401 at login, as on Discord
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.edits: dict[int, list[dict[str, Any]]] = {}
        self.webhooks: dict[int, FakeWebhook] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.typing: list[tuple[int, int, float]] = []
        self.interaction_timeout: float = 3.0  # seconds to answer an interaction, like Discord
        self.shard_count: int = 1  # GET /gateway/bot's recommended shards
        self.max_concurrency: int = 1  # identify buckets: sessions that may start together every 5 seconds
        self.attachment_bytes: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.request_times: list[tuple[str, str, float]] = []  # (method, path, time.monotonic()) of each request
        self.unknown_routes: list[tuple[str, str]] = []
        self.gateway = Gateway(self)
        self.faults = Faults(self.application_id)
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port: int = 0

    # --- lifecycle -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Build the aiohttp application with every route (the catch-all last)."""
        from .routes_commands import add_command_routes
        from .routes_hooks import add_hook_routes
        from .routes_rest import add_rest_routes

        app = web.Application(middlewares=[_error_middleware], client_max_size=64 * 1024 * 1024)
        app[CORE_KEY] = self
        app.router.add_get("/gateway", self.gateway.handle)
        add_rest_routes(app)
        add_command_routes(app)
        add_hook_routes(app)
        app.router.add_route("*", "/{tail:.*}", _unknown_route)
        return app

    async def start(self) -> None:
        """Start serving on 127.0.0.1 at a free port."""
        self._changed = asyncio.Event()
        self._runner = web.AppRunner(self.build_app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close sockets and stop the server."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The value for `discord.http.Route.BASE`."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway URL (also sent as READY's `resume_gateway_url`)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- waiting -----------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake everything waiting in `wait_for`."""
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until `predicate()` is truthy and return its value; raise TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"fake discord: condition not met within {timeout}s")
            changed = self._changed or asyncio.Event()
            try:
                await asyncio.wait_for(changed.wait(), timeout=min(remaining, 0.05))
            except asyncio.TimeoutError:
                pass

    # --- lookups -----------------------------------------------------------------------------

    def get_channel(self, channel_id: int | str) -> FakeChannel:
        """Return a channel or thread, or raise Discord's Unknown Channel."""
        channel = self.channels.get(int(channel_id))
        if channel is None:
            raise not_found(UNKNOWN_CHANNEL, "Channel")
        return channel

    def get_guild(self, guild_id: int | str) -> FakeGuild:
        """Return a guild or raise Discord's Unknown Guild."""
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            raise not_found(UNKNOWN_GUILD, "Guild")
        return guild

    def get_message(self, channel_id: int | str | None, message_id: int | str) -> FakeMessage:
        """Return a live message (in `channel_id` when given) or raise Unknown Message."""
        message = self.messages.get(int(message_id))
        if message is None or message.deleted or (channel_id is not None and message.channel_id != int(channel_id)):
            raise not_found(UNKNOWN_MESSAGE, "Message")
        return message

    def bot_member_permissions(self, channel: FakeChannel) -> int:
        """The bot's permissions in a channel."""
        guild = self.get_guild(channel.guild_id)
        return guild.permissions_for(guild.members[self.bot_user.id], channel)

    def guild_create_payload(self, guild: FakeGuild) -> dict[str, Any]:
        """Return the GUILD_CREATE payload for a guild."""
        return guild.payload(bot_user_id=self.bot_user.id, app_id=self.application_id)

    def channel_history(self, channel_id: int) -> list[FakeMessage]:
        """Visible (non-deleted, non-ephemeral) messages of a channel, oldest first."""
        found = [m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted and not m.ephemeral]
        return sorted(found, key=lambda m: m.id)

    # --- message operations ------------------------------------------------------------------

    async def store_message(self, message: FakeMessage, *, dispatch: bool = True) -> FakeMessage:
        """Store a message and (unless ephemeral or `dispatch=False`) dispatch MESSAGE_CREATE."""
        self.messages[message.id] = message
        self.edits.setdefault(message.id, [])
        channel = self.channels.get(message.channel_id)
        if channel is not None and not message.ephemeral:
            channel.last_message_id = message.id
        if dispatch and not message.ephemeral:
            await self.gateway.dispatch("MESSAGE_CREATE", message.payload(), intent=INTENT_GUILD_MESSAGES, gated_content=True)
        self.notify()
        return message

    async def update_message(self, message: FakeMessage, changes: dict[str, Any], *, dispatch: bool = True) -> FakeMessage:
        """Apply edits (content, embeds, components, attachments, flags), record the edit, dispatch MESSAGE_UPDATE."""
        for key in ("content", "embeds", "components", "attachments"):
            if key in changes and changes[key] is not None:
                setattr(message, key, changes[key])
        if "flags" in changes and changes["flags"] is not None:
            message.flags = (int(changes["flags"]) & ~64) | (message.flags & 64)
        message.flags &= ~128  # an edit ends a deferred response's "thinking" state
        message.edited_timestamp = now_iso()
        self.edits.setdefault(message.id, []).append({
            "at": time.monotonic(), "content": message.content, "embeds": list(message.embeds),
            "attachments": list(message.attachments),
        })
        if dispatch and not message.ephemeral:
            await self.gateway.dispatch("MESSAGE_UPDATE", message.payload(), intent=INTENT_GUILD_MESSAGES, gated_content=True)
        self.notify()
        return message

    async def remove_message(self, message: FakeMessage, *, dispatch: bool = True) -> None:
        """Mark a message deleted and dispatch MESSAGE_DELETE."""
        message.deleted = True
        if dispatch and not message.ephemeral:
            data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            await self.gateway.dispatch("MESSAGE_DELETE", data, intent=INTENT_GUILD_MESSAGES)
        self.notify()

    def bot_author(self) -> dict[str, Any]:
        """The bot's user object."""
        return self.bot_user.payload()

    def bot_message(self, channel: FakeChannel, **fields: Any) -> FakeMessage:
        """A new message authored by the bot in `channel` (not yet stored)."""
        guild = self.guilds[channel.guild_id]
        member = guild.members[self.bot_user.id].payload(with_user=False)
        return FakeMessage(channel_id=channel.id, guild_id=channel.guild_id, author=self.bot_author(), member=member, **fields)

    async def delete_webhook(self, hook: FakeWebhook) -> None:
        """Delete a webhook (executing it afterwards gets 404 Unknown Webhook) and dispatch WEBHOOKS_UPDATE."""
        self.webhooks.pop(hook.id, None)
        data = {"guild_id": str(hook.guild_id), "channel_id": str(hook.channel_id)}
        await self.gateway.dispatch("WEBHOOKS_UPDATE", data, intent=1 << 5)
        self.notify()


CORE_KEY = web.AppKey("fake_discord_core", FakeDiscordCore)


@web.middleware
async def _error_middleware(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """Log requests and turn DiscordError into Discord's JSON error responses."""
    core = request.app[CORE_KEY]
    core.requests.append((request.method, request.path))
    core.request_times.append((request.method, request.path, time.monotonic()))
    try:
        dropped = await core.faults.intercept(request)
        return dropped if dropped is not None else await handler(request)
    except DiscordError as exc:
        return exc.response()


async def _unknown_route(request: web.Request) -> web.Response:
    """Record an unhandled route and answer Discord's 404."""
    core = request.app[CORE_KEY]
    core.unknown_routes.append((request.method, request.path_qs))
    core.notify()
    return json_response({"code": 0, "message": "404: Not Found"}, status=404)
