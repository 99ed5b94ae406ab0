"""REST routes: users, application info, gateway, guilds, channels, messages, typing, threads, webhooks."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from .core import CORE_KEY, FakeDiscordCore
from .gateway import INTENT_GUILD_MESSAGES, INTENT_GUILDS
from .http_util import (
    UNKNOWN_MEMBER,
    Body,
    build_attachments,
    json_response,
    kept_attachments,
    missing_permissions,
    no_content,
    not_found,
    read_body,
    validate_message,
)
from .world import MANAGE_WEBHOOKS, PUBLIC_THREAD, FakeChannel, FakeMessage, FakeWebhook

API = "/api/v{version}"


def add_rest_routes(app: web.Application) -> None:
    """Register the REST routes on `app`."""
    r = app.router
    r.add_get(API + "/users/@me", get_me)
    r.add_get(API + "/oauth2/applications/@me", get_application)
    r.add_get(API + "/applications/@me", get_application)
    r.add_get(API + "/gateway", get_gateway)
    r.add_get(API + "/gateway/bot", get_gateway)
    r.add_get(API + "/guilds/{guild_id}", get_guild)
    r.add_get(API + "/guilds/{guild_id}/channels", get_guild_channels)
    r.add_get(API + "/guilds/{guild_id}/roles", get_guild_roles)
    r.add_get(API + "/guilds/{guild_id}/members", list_members)
    r.add_get(API + "/guilds/{guild_id}/members/{user_id}", get_member)
    r.add_get(API + "/guilds/{guild_id}/webhooks", list_guild_webhooks)
    r.add_get(API + "/channels/{channel_id}", get_channel)
    r.add_get(API + "/channels/{channel_id}/messages", get_history)
    r.add_post(API + "/channels/{channel_id}/messages", create_message)
    r.add_post(API + "/channels/{channel_id}/messages/bulk-delete", bulk_delete)
    r.add_get(API + "/channels/{channel_id}/messages/{message_id}", get_message)
    r.add_patch(API + "/channels/{channel_id}/messages/{message_id}", edit_message)
    r.add_delete(API + "/channels/{channel_id}/messages/{message_id}", delete_message)
    r.add_post(API + "/channels/{channel_id}/messages/{message_id}/threads", create_thread)
    r.add_post(API + "/channels/{channel_id}/threads", create_thread)
    r.add_post(API + "/channels/{channel_id}/typing", typing)
    r.add_get(API + "/channels/{channel_id}/webhooks", list_channel_webhooks)
    r.add_post(API + "/channels/{channel_id}/webhooks", create_webhook)
    r.add_get("/attachments/{attachment_id}/{filename}", get_attachment)


def _core(request: web.Request) -> FakeDiscordCore:
    """The core behind this request."""
    return request.app[CORE_KEY]


async def get_me(request: web.Request) -> web.Response:
    """GET /users/@me: the bot user (login); 401 for a token other than the accepted one, if one is set."""
    core = _core(request)
    if core.accepted_token is not None and request.headers.get("Authorization") != f"Bot {core.accepted_token}":
        return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
    return json_response(core.bot_user.payload())


async def get_application(request: web.Request) -> web.Response:
    """GET /oauth2/applications/@me: application info (fetched at login)."""
    core = _core(request)
    return json_response({
        "id": str(core.application_id), "name": core.bot_user.name, "description": "", "icon": None,
        "bot_public": True, "bot_require_code_grant": False, "owner": core.owner_user.payload(),
        "verify_key": "0" * 64, "flags": core.application_flags, "team": None, "summary": "",
        "bot": core.bot_user.payload(), "interactions_endpoint_url": None, "tags": [],
        "redirect_uris": [], "approximate_guild_count": len(core.guilds),
    })


async def get_gateway(request: web.Request) -> web.Response:
    """GET /gateway and /gateway/bot: the recommended shard count and the identify buckets (max_concurrency)."""
    core = _core(request)
    limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": core.max_concurrency}
    return json_response({"url": core.gateway_url, "shards": core.shard_count, "session_start_limit": limit})


async def get_guild(request: web.Request) -> web.Response:
    """GET /guilds/{id}."""
    core = _core(request)
    data = core.guild_create_payload(core.get_guild(request.match_info["guild_id"]))
    for key in ("members", "channels", "threads", "presences", "voice_states"):
        data.pop(key, None)
    return json_response(data)


async def get_guild_channels(request: web.Request) -> web.Response:
    """GET /guilds/{id}/channels."""
    guild = _core(request).get_guild(request.match_info["guild_id"])
    return json_response([c.payload() for c in guild.channels.values() if not c.is_thread])


async def get_guild_roles(request: web.Request) -> web.Response:
    """GET /guilds/{id}/roles."""
    guild = _core(request).get_guild(request.match_info["guild_id"])
    return json_response([r.payload() for r in guild.roles.values()])


async def list_members(request: web.Request) -> web.Response:
    """GET /guilds/{id}/members?limit&after."""
    guild = _core(request).get_guild(request.match_info["guild_id"])
    after = int(request.query.get("after", 0))
    limit = int(request.query.get("limit", 1))
    members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
    return json_response([m.payload() for m in members[:limit]])


async def get_member(request: web.Request) -> web.Response:
    """GET /guilds/{id}/members/{user_id}."""
    guild = _core(request).get_guild(request.match_info["guild_id"])
    member = guild.members.get(int(request.match_info["user_id"]))
    if member is None:
        raise not_found(UNKNOWN_MEMBER, "Member")
    return json_response(member.payload())


async def get_channel(request: web.Request) -> web.Response:
    """GET /channels/{id}."""
    return json_response(_core(request).get_channel(request.match_info["channel_id"]).payload())


async def get_history(request: web.Request) -> web.Response:
    """GET /channels/{id}/messages?limit&before&after&around, newest first like Discord."""
    core = _core(request)
    channel = core.get_channel(request.match_info["channel_id"])
    q = request.query
    limit = min(int(q.get("limit", 50)), 100)
    history = core.channel_history(channel.id)
    if "around" in q:
        pivot = int(q["around"])
        older = [m for m in history if m.id <= pivot][-(limit - limit // 2):]
        newer = [m for m in history if m.id > pivot][: limit // 2]
        picked = older + newer
    elif "after" in q:
        picked = [m for m in history if m.id > int(q["after"])][:limit]
        if "before" in q:
            picked = [m for m in picked if m.id < int(q["before"])]
    else:
        before = int(q.get("before", 1 << 63))
        picked = [m for m in history if m.id < before][-limit:]
    return json_response([m.payload() for m in reversed(picked)])


def message_fields(core: FakeDiscordCore, body: Body) -> dict[str, Any]:
    """Message fields from a create/execute body (uploads become attachments)."""
    data = body.json
    validate_message(data)
    attachments, stored = build_attachments(core.base_url, body)
    core.attachment_bytes.update(stored)
    fields: dict[str, Any] = {
        "content": str(data.get("content") or ""), "embeds": list(data.get("embeds") or []),
        "components": list(data.get("components") or []), "flags": int(data.get("flags") or 0),
        "tts": bool(data.get("tts", False)), "attachments": attachments, "files": stored,
    }
    if data.get("nonce") is not None:
        fields["nonce"] = data["nonce"]
    if data.get("message_reference"):
        fields["message_reference"] = data["message_reference"]
    return fields


def edit_fields(core: FakeDiscordCore, message: FakeMessage, body: Body) -> dict[str, Any]:
    """Changes from an edit body: only the fields present (attachments kept or replaced)."""
    validate_message(body.json)
    changes = {k: body.json[k] for k in ("content", "embeds", "components", "flags") if k in body.json}
    if "content" in changes and changes["content"] is None:
        changes["content"] = ""
    keep = kept_attachments(message.attachments, body)
    if keep is not None or body.files:
        new, stored = build_attachments(core.base_url, body, keep if keep is not None else message.attachments)
        core.attachment_bytes.update(stored)
        message.files.update(stored)
        changes["attachments"] = new
    return changes


async def create_message(request: web.Request) -> web.Response:
    """POST /channels/{id}/messages (JSON or multipart)."""
    core = _core(request)
    channel = core.get_channel(request.match_info["channel_id"])
    body = await read_body(request)
    message = core.bot_message(channel, **message_fields(core, body))
    await core.store_message(message)
    return json_response(message.payload())


async def get_message(request: web.Request) -> web.Response:
    """GET /channels/{id}/messages/{id}."""
    m = request.match_info
    return json_response(_core(request).get_message(m["channel_id"], m["message_id"]).payload())


async def edit_message(request: web.Request) -> web.Response:
    """PATCH /channels/{id}/messages/{id}."""
    core, m = _core(request), request.match_info
    message = core.get_message(m["channel_id"], m["message_id"])
    if message.author.get("id") != str(core.bot_user.id):
        raise missing_permissions()
    body = await read_body(request)
    await core.update_message(message, edit_fields(core, message, body))
    return json_response(message.payload())


async def delete_message(request: web.Request) -> web.Response:
    """DELETE /channels/{id}/messages/{id}."""
    core, m = _core(request), request.match_info
    await core.remove_message(core.get_message(m["channel_id"], m["message_id"]))
    return no_content()


async def bulk_delete(request: web.Request) -> web.Response:
    """POST /channels/{id}/messages/bulk-delete {messages: [...]} → MESSAGE_DELETE_BULK."""
    core = _core(request)
    channel = core.get_channel(request.match_info["channel_id"])
    ids = [int(i) for i in (await read_body(request)).json.get("messages", [])]
    for message_id in ids:
        message = core.get_message(channel.id, message_id)
        await core.remove_message(message, dispatch=False)
    data = {"ids": [str(i) for i in ids], "channel_id": str(channel.id), "guild_id": str(channel.guild_id)}
    await core.gateway.dispatch("MESSAGE_DELETE_BULK", data, intent=INTENT_GUILD_MESSAGES)
    return no_content()


async def create_thread(request: web.Request) -> web.Response:
    """POST /channels/{id}/threads (and from a message): a public thread, dispatched as THREAD_CREATE."""
    core = _core(request)
    parent = core.get_channel(request.match_info["channel_id"])
    body = (await read_body(request)).json
    thread = FakeChannel(guild_id=parent.guild_id, name=str(body.get("name", "thread")), type=PUBLIC_THREAD,
                         parent_id=parent.id, owner_id=core.bot_user.id)
    if "message_id" in request.match_info:
        thread.id = int(request.match_info["message_id"])
    core.channels[thread.id] = thread
    core.guilds[parent.guild_id].channels[thread.id] = thread
    await core.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True}, intent=INTENT_GUILDS)
    core.notify()
    return json_response(thread.payload(), status=201)


async def typing(request: web.Request) -> web.Response:
    """POST /channels/{id}/typing: recorded for `typing_events`."""
    core = _core(request)
    channel = core.get_channel(request.match_info["channel_id"])
    core.typing.append((channel.id, core.bot_user.id, time.monotonic()))
    core.notify()
    return no_content()


def _require_manage_webhooks(core: FakeDiscordCore, channel: FakeChannel) -> None:
    """403 Missing Permissions unless the bot may manage webhooks in `channel`."""
    if not core.bot_member_permissions(channel) & MANAGE_WEBHOOKS:
        raise missing_permissions()


async def list_channel_webhooks(request: web.Request) -> web.Response:
    """GET /channels/{id}/webhooks."""
    core = _core(request)
    channel = core.get_channel(request.match_info["channel_id"])
    _require_manage_webhooks(core, channel)
    hooks = [w for w in core.webhooks.values() if w.channel_id == channel.id]
    return json_response([w.payload(_creator(core, w)) for w in hooks])


async def list_guild_webhooks(request: web.Request) -> web.Response:
    """GET /guilds/{id}/webhooks."""
    core = _core(request)
    guild = core.get_guild(request.match_info["guild_id"])
    hooks = [w for w in core.webhooks.values() if w.guild_id == guild.id]
    return json_response([w.payload(_creator(core, w)) for w in hooks])


async def create_webhook(request: web.Request) -> web.Response:
    """POST /channels/{id}/webhooks {name, avatar}."""
    core = _core(request)
    channel = core.get_channel(request.match_info["channel_id"])
    if channel.is_thread:
        raise not_found(10003, "Channel")
    _require_manage_webhooks(core, channel)
    body = (await read_body(request)).json
    hook = FakeWebhook(guild_id=channel.guild_id, channel_id=channel.id, name=str(body.get("name", "webhook")),
                       creator_id=core.bot_user.id, avatar=body.get("avatar") and "fakeavatarhash",
                       application_id=core.application_id)
    core.webhooks[hook.id] = hook
    await core.gateway.dispatch("WEBHOOKS_UPDATE", {"guild_id": str(hook.guild_id), "channel_id": str(channel.id)},
                                intent=1 << 5)
    core.notify()
    return json_response(hook.payload(_creator(core, hook)))


def _creator(core: FakeDiscordCore, hook: FakeWebhook) -> Any:
    """The user who created a webhook (the bot or a person)."""
    if hook.creator_id == core.bot_user.id:
        return core.bot_user
    for guild in core.guilds.values():
        if hook.creator_id in guild.members:
            return guild.members[hook.creator_id].user
    return None


async def get_attachment(request: web.Request) -> web.Response:
    """GET /attachments/{id}/{filename}: the uploaded bytes (a tiny CDN)."""
    data = _core(request).attachment_bytes.get(request.match_info["attachment_id"])
    if data is None:
        return web.Response(status=404)
    return web.Response(body=data, content_type="application/octet-stream")
