"""Faults the fake Discord can inject: a route that fails (an HTTP error or a dropped connection) or is held
until the test releases it, and redelivery of gateway events (as Discord does after a resume)."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from .gateway import INTENT_GUILD_MESSAGES
from .http_util import DiscordError, json_response

if TYPE_CHECKING:
    from .core import FakeDiscordCore
    from .interactions import InteractionRecord
    from .world import FakeMessage

    _Base = FakeDiscordCore
else:
    _Base = object

# Paths (matched with re.search against the request path) of the routes tests most often break.
WEBHOOK_EXECUTE = r"/webhooks/\d+/[^/]+$"
WEBHOOK_MESSAGE = r"/webhooks/\d+/[^/]+/messages/\d+$"
CHANNEL_HISTORY = r"/channels/\d+/messages$"


@dataclass
class RouteFault:
    """The next `times` matching requests fail with `status`/`code` (status 0: the connection is dropped;
    429: a rate limit asking to retry after `retry_after` seconds, as Discord sends it)."""

    method: str
    path: str
    status: int
    code: int
    message: str
    times: int
    hits: int = 0
    retry_after: float = 0.5
    hit_times: list[float] = field(default_factory=list)


@dataclass
class RouteHold:
    """Matching requests wait until `release()`; `arrived` is set once one is waiting."""

    method: str
    path: str
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let the held requests (and later ones) through."""
        self.released.set()

    async def wait_arrived(self, timeout: float = 5.0) -> None:
        """Wait until a matching request is being held."""
        await asyncio.wait_for(self.arrived.wait(), timeout)


def rate_limited(retry_after: float) -> web.Response:
    """Discord's 429: the body's retry_after and the headers discord.py reads (Via marks it as Discord's own,
    not a Cloudflare ban)."""
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False, "code": 0}
    headers = {"Retry-After": str(retry_after), "Via": "1.1 google", "X-RateLimit-Limit": "5",
               "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(retry_after),
               "X-RateLimit-Bucket": "fake-bucket", "X-RateLimit-Scope": "user"}
    return json_response(body, status=429, headers=headers)


class Faults:
    """The faults and holds in force, checked by the server's middleware before every route."""

    def __init__(self, application_id: int) -> None:
        self.application_id = application_id
        self.failures: list[RouteFault] = []
        self.holds: list[RouteHold] = []

    def _matches(self, method: str, path: str, request: web.Request) -> bool:
        """Same method and path; interaction webhooks (the application's own) never match."""
        if request.method != method or re.search(path, request.path) is None:
            return False
        return f"/webhooks/{self.application_id}/" not in request.path

    async def intercept(self, request: web.Request) -> web.Response | None:
        """Hold the request while a hold matches; raise when a fault matches (or drop the connection and
        return the response that will never arrive)."""
        for hold in self.holds:
            if self._matches(hold.method, hold.path, request) and not hold.released.is_set():
                hold.arrived.set()
                await hold.released.wait()
        for fault in self.failures:
            if fault.hits < fault.times and self._matches(fault.method, fault.path, request):
                fault.hits += 1
                fault.hit_times.append(time.monotonic())
                if fault.status == 429:
                    return rate_limited(fault.retry_after)
                if fault.status == 0:
                    if request.transport is not None:
                        request.transport.abort()
                    return web.Response(status=500)
                raise DiscordError(fault.status, fault.code, fault.message)
        return None


class FaultDriver(_Base):
    """Mixin for FakeDiscord: breaking routes and redelivering gateway events."""

    def fail_route(self, method: str, path: str, *, status: int = 500, code: int = 0, message: str = "",
                   times: int = 1, retry_after: float = 0.5) -> RouteFault:
        """The next `times` requests `method path` (a regex) fail; status 0 drops the connection instead, 429
        asks the client to wait `retry_after` seconds."""
        fault = RouteFault(method.upper(), path, status, code, message or f"{status}: fake failure", times,
                           retry_after=retry_after)
        self.faults.failures.append(fault)
        return fault

    def hold_route(self, method: str, path: str) -> RouteHold:
        """Requests `method path` (a regex) wait until the returned hold is released."""
        hold = RouteHold(method.upper(), path)
        self.faults.holds.append(hold)
        return hold

    async def redeliver_message(self, message: FakeMessage) -> None:
        """Dispatch a stored message's MESSAGE_CREATE again (a gateway resend)."""
        await self.gateway.dispatch("MESSAGE_CREATE", message.payload(), intent=INTENT_GUILD_MESSAGES,
                                    gated_content=True)

    async def redeliver_interaction(self, record: InteractionRecord) -> None:
        """Dispatch an interaction's INTERACTION_CREATE again, with the same id and token."""
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)
