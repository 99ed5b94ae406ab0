"""The fake gateway: HELLO, IDENTIFY→READY+GUILD_CREATE, heartbeats, RESUME with replay, dispatch, shards.

A session that IDENTIFYs with `shard: [id, count]` gets only the guilds of its shard, as on Discord: a guild
is on shard `(guild_id >> 22) % count`, and every event of a guild goes to that shard's session alone.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .world import new_token

if TYPE_CHECKING:
    from .core import FakeDiscordCore

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, REQUEST_MEMBERS = 0, 1, 2, 6, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41250

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_TYPING = 1 << 11
INTENT_MESSAGE_CONTENT = 1 << 15


@dataclass
class GatewaySession:
    """One bot session: its id, intents, sequence and every frame sent (for RESUME replay)."""

    session_id: str
    intents: int
    seq: int = 0
    frames: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    shard: tuple[int, int] | None = None  # (shard id, shard count) from IDENTIFY, None for an unsharded bot

    def serves(self, guild_id: int | None) -> bool:
        """Whether events of this guild (None: not a guild's) go to this session."""
        if self.shard is None or guild_id is None:
            return True
        return shard_of(guild_id, self.shard[1]) == self.shard[0]


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a guild is on (Discord's formula)."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class Identify:
    """One IDENTIFY the gateway received: when (monotonic seconds) and for which shard."""

    at: float
    shard: tuple[int, int] | None


class Gateway:
    """Serves `/gateway` websockets and dispatches events to connected sessions."""

    def __init__(self, core: FakeDiscordCore) -> None:
        self.core = core
        self.sessions: dict[str, GatewaySession] = {}
        self.identify_count = 0
        self.identifies: list[Identify] = []
        self.resume_count = 0
        self.received: list[dict[str, Any]] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._pending: list[tuple[str, dict[str, Any], int]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        """Whether some session currently has a live socket."""
        return any(s.ws is not None and not s.ws.closed for s in self.sessions.values())

    def connected_shards(self) -> set[int]:
        """The shard ids whose sessions have a live socket."""
        return {s.shard[0] for s in self.sessions.values()
                if s.shard is not None and s.ws is not None and not s.ws.closed}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Run one websocket connection until it closes."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: GatewaySession | None = None
        try:
            await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.received.append(frame)
                session = await self._on_frame(ws, frame, session)
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            self.core.notify()
        return ws

    async def _on_frame(
        self, ws: web.WebSocketResponse, frame: dict[str, Any], session: GatewaySession | None
    ) -> GatewaySession | None:
        """Handle one client frame; return the session bound to this socket."""
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
        elif op == IDENTIFY and self._disallowed(data):
            await ws.close(code=4014, message=b"Disallowed intent(s).")
        elif op == IDENTIFY:
            session = await self._identify(ws, data)
        elif op == RESUME:
            session = await self._resume(ws, data)
        elif op == REQUEST_MEMBERS and session is not None:
            await self._send_member_chunk(session, data)
        return session

    def _disallowed(self, data: dict[str, Any]) -> bool:
        """Whether Discord would refuse this IDENTIFY (close 4014): Message Content asked for but not enabled."""
        core = self.core
        return (core.enforce_privileged_intents and bool(int(data.get("intents", 0)) & INTENT_MESSAGE_CONTENT)
                and not core.application_flags & ((1 << 18) | (1 << 19)))

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> GatewaySession:
        """Start a new session: READY, then one GUILD_CREATE per guild."""
        core = self.core
        shard = tuple(data["shard"]) if data.get("shard") else None
        session = GatewaySession(session_id=new_token(), intents=int(data.get("intents", 0)), ws=ws,
                                 shard=shard)  # type: ignore[arg-type]
        self.sessions = {key: s for key, s in self.sessions.items()  # the shard's (or the bot's) new session
                         if shard is not None and s.shard is not None and s.shard != shard}
        self.sessions[session.session_id] = session
        self.identify_count += 1
        self.identifies.append(Identify(time.monotonic(), shard))  # type: ignore[arg-type]
        guilds = [g for g in core.guilds.values() if session.serves(g.id)]
        ready = {
            "v": 10, "user": core.bot_user.payload(), "session_type": "normal",
            "session_id": session.session_id, "resume_gateway_url": core.gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "private_channels": [], "relationships": [], "presences": [],
            "application": {"id": str(core.application_id), "flags": core.application_flags},
            "_trace": ["fake-discord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send(session, "READY", ready)
        for guild in guilds:
            await self._send(session, "GUILD_CREATE", core.guild_create_payload(guild))
        core.notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> GatewaySession | None:
        """Resume a session: replay frames after `seq`, then RESUMED; unknown → INVALID_SESSION."""
        session = self.sessions.get(str(data.get("session_id")))
        if session is None:
            await ws.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        last_seq = int(data.get("seq") or 0)
        async with session.lock:
            session.ws = ws
            for frame in session.frames:
                if frame["s"] > last_seq:
                    await ws.send_str(json.dumps(frame))
        await self._send(session, "RESUMED", {"_trace": ["fake-discord"]})
        self.resume_count += 1
        self.core.notify()
        return session

    async def _send_member_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        """Answer REQUEST_GUILD_MEMBERS with a single GUILD_MEMBERS_CHUNK."""
        guild = self.core.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.id in wanted]
        elif data.get("query"):
            members = [m for m in members if m.name.lower().startswith(str(data["query"]).lower())]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id), "members": [m.payload() for m in members],
            "chunk_index": 0, "chunk_count": 1, "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        """Number, record and (if connected) send one DISPATCH frame."""
        async with session.lock:
            session.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
            session.frames.append(frame)
            ws = session.ws
            if ws is not None and not ws.closed:
                try:
                    await ws.send_str(json.dumps(frame))
                except ConnectionError:
                    session.ws = None

    def queue(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        """Dispatch from synchronous code: sent before any later `dispatch`, or soon by a task."""
        if not self.sessions:
            return
        self._pending.append((event, data, intent))
        task = asyncio.get_running_loop().create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Send queued events in order."""
        while self._pending:
            event, data, intent = self._pending.pop(0)
            await self._dispatch_now(event, data, intent=intent, gated_content=False)

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0, gated_content: bool = False) -> None:
        """Send an event to every session whose intents include `intent` (buffered while disconnected)."""
        await self.flush()
        await self._dispatch_now(event, data, intent=intent, gated_content=gated_content)

    async def _dispatch_now(self, event: str, data: dict[str, Any], *, intent: int, gated_content: bool) -> None:
        """Send one event to the matching sessions (a guild's events to its shard's session only)."""
        guild_id = _guild_of(event, data)
        for session in list(self.sessions.values()):
            if intent and not session.intents & intent:
                continue
            if not session.serves(guild_id):
                continue
            payload = data
            if gated_content and not session.intents & INTENT_MESSAGE_CONTENT:
                payload = _strip_content(data, self.core.bot_user.id)
            await self._send(session, event, payload)

    async def disconnect(self, code: int = 4000) -> None:
        """Close the bot's socket with a resumable close code (the session survives)."""
        for session in self.sessions.values():
            ws, session.ws = session.ws, None
            if ws is not None and not ws.closed:
                await ws.close(code=code, message=b"fake discord disconnect")

    async def invalidate(self) -> None:
        """Forget every session and drop the sockets: the bot's RESUME gets INVALID_SESSION, so it re-identifies."""
        sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=4000, message=b"fake discord session invalidated")

    async def close(self) -> None:
        """Close every socket (server shutdown)."""
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to, if any."""
    raw = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else data.get("guild_id")
    return int(raw) if raw is not None else None


def _strip_content(data: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """Blank content like Discord does for bots without the MESSAGE_CONTENT intent."""
    author_id = str(data.get("author", {}).get("id"))
    mentioned = any(str(m.get("id")) == str(bot_id) for m in data.get("mentions", []))
    if author_id == str(bot_id) or mentioned:
        return data
    return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
