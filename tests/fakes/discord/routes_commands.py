"""Application command routes: global and guild commands (list, bulk overwrite, upsert, get, edit, delete)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .core import CORE_KEY, FakeDiscordCore
from .http_util import UNKNOWN_COMMAND, DiscordError, json_response, no_content, not_found, read_body
from .world import snowflake

API = "/api/v{version}/applications/{application_id}"


def add_command_routes(app: web.Application) -> None:
    """Register the application command routes on `app`."""
    r = app.router
    r.add_get(API + "/guilds/{guild_id}/commands/permissions", list_permissions)
    for base in (API + "/commands", API + "/guilds/{guild_id}/commands"):
        r.add_get(base, list_commands)
        r.add_put(base, overwrite_commands)
        r.add_post(base, upsert_command)
        r.add_get(base + "/{command_id}", get_command)
        r.add_patch(base + "/{command_id}", edit_command)
        r.add_delete(base + "/{command_id}", delete_command)


def _scope(request: web.Request) -> tuple[FakeDiscordCore, int | None]:
    """The core and the guild id (None = global) of a command route; checks the application id."""
    core, m = request.app[CORE_KEY], request.match_info
    if int(m["application_id"]) != core.application_id:
        raise DiscordError(403, 50001, "Missing Access")
    guild_id = int(m["guild_id"]) if "guild_id" in m else None
    if guild_id is not None:
        core.get_guild(guild_id)
    return core, guild_id


def normalise_command(core: FakeDiscordCore, data: dict[str, Any], guild_id: int | None, old: dict[str, Any] | None) -> dict[str, Any]:
    """Store a command as Discord returns it: ids, version, defaults filled in."""
    command = {
        "type": 1, "description": "", "options": [], "default_member_permissions": None,
        "dm_permission": True, "nsfw": False, "contexts": None, "integration_types": [0],
        **data,
    }
    command["id"] = old["id"] if old else str(snowflake())
    command["application_id"] = str(core.application_id)
    command["version"] = str(snowflake())
    if guild_id is not None:
        command["guild_id"] = str(guild_id)
    return command


def _find(commands: list[dict[str, Any]], name: str, kind: int) -> dict[str, Any] | None:
    """A stored command with this name and type."""
    return next((c for c in commands if c["name"] == name and c.get("type", 1) == kind), None)


async def list_commands(request: web.Request) -> web.Response:
    """GET …/commands."""
    core, guild_id = _scope(request)
    return json_response(core.commands.get(guild_id, []))


async def overwrite_commands(request: web.Request) -> web.Response:
    """PUT …/commands: bulk overwrite (tree.sync)."""
    core, guild_id = _scope(request)
    body = (await read_body(request)).json
    old = core.commands.get(guild_id, [])
    new = [normalise_command(core, c, guild_id, _find(old, c["name"], c.get("type", 1))) for c in body]  # type: ignore[union-attr]
    core.commands[guild_id] = new
    core.notify()
    return json_response(new)


async def upsert_command(request: web.Request) -> web.Response:
    """POST …/commands: create or replace one command."""
    core, guild_id = _scope(request)
    data = (await read_body(request)).json
    commands = core.commands.setdefault(guild_id, [])
    old = _find(commands, data["name"], data.get("type", 1))
    command = normalise_command(core, data, guild_id, old)
    if old is not None:
        commands.remove(old)
    commands.append(command)
    core.notify()
    return json_response(command, status=200 if old else 201)


def _get(request: web.Request) -> tuple[FakeDiscordCore, list[dict[str, Any]], dict[str, Any]]:
    """The command named by `command_id` (404 Unknown application command)."""
    core, guild_id = _scope(request)
    commands = core.commands.get(guild_id, [])
    command = next((c for c in commands if c["id"] == request.match_info["command_id"]), None)
    if command is None:
        raise not_found(UNKNOWN_COMMAND, "application command")
    return core, commands, command


async def get_command(request: web.Request) -> web.Response:
    """GET …/commands/{id}."""
    return json_response(_get(request)[2])


async def edit_command(request: web.Request) -> web.Response:
    """PATCH …/commands/{id}."""
    core, _, command = _get(request)
    command.update((await read_body(request)).json)
    command["version"] = str(snowflake())
    core.notify()
    return json_response(command)


async def delete_command(request: web.Request) -> web.Response:
    """DELETE …/commands/{id}."""
    core, commands, command = _get(request)
    commands.remove(command)
    core.notify()
    return no_content()


async def list_permissions(request: web.Request) -> web.Response:
    """GET …/guilds/{id}/commands/permissions: none set."""
    _scope(request)
    return json_response([])
