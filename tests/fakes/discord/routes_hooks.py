"""Webhook and interaction routes: execute/edit/delete webhook messages, callbacks, followups, @original."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from .core import CORE_KEY, FakeDiscordCore
from .http_util import (
    ALREADY_ACKNOWLEDGED,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    Body,
    DiscordError,
    json_response,
    no_content,
    not_found,
    read_body,
    validate_webhook_username,
)
from .interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_MESSAGE,
    DEFERRED_UPDATE,
    EPHEMERAL,
    LOADING,
    MODAL,
    UPDATE_MESSAGE,
    InteractionRecord,
)
from .routes_rest import edit_fields, message_fields
from .world import FakeMessage, FakeWebhook

API = "/api/v{version}"


def add_hook_routes(app: web.Application) -> None:
    """Register webhook and interaction routes on `app`."""
    r = app.router
    r.add_post(API + "/interactions/{interaction_id}/{token}/callback", interaction_callback)
    r.add_get(API + "/webhooks/{webhook_id}", get_webhook)
    r.add_patch(API + "/webhooks/{webhook_id}", edit_webhook)
    r.add_delete(API + "/webhooks/{webhook_id}", delete_webhook)
    r.add_get(API + "/webhooks/{webhook_id}/{token}", get_webhook)
    r.add_delete(API + "/webhooks/{webhook_id}/{token}", delete_webhook)
    r.add_post(API + "/webhooks/{webhook_id}/{token}", execute_webhook)
    for method, handler in (("GET", get_hook_message), ("PATCH", edit_hook_message), ("DELETE", delete_hook_message)):
        r.add_route(method, API + "/webhooks/{webhook_id}/{token}/messages/{message_id}", handler)


def _core(request: web.Request) -> FakeDiscordCore:
    """The core behind this request."""
    return request.app[CORE_KEY]


def _webhook(request: web.Request, *, token: bool = True) -> FakeWebhook:
    """The live webhook named by the path (404 Unknown Webhook when deleted or the token is wrong)."""
    core, m = _core(request), request.match_info
    hook = core.webhooks.get(int(m["webhook_id"]))
    if hook is None or (token and "token" in m and m["token"] != hook.token):
        raise not_found(UNKNOWN_WEBHOOK, "Webhook")
    return hook


def _interaction(request: web.Request) -> InteractionRecord | None:
    """The interaction whose token is in a `/webhooks/{app_id}/{token}` path, if it is one."""
    core, m = _core(request), request.match_info
    if int(m["webhook_id"]) != core.application_id:
        return None
    for record in core.interactions.values():
        if record.token == m.get("token"):
            return record
    raise not_found(UNKNOWN_WEBHOOK, "Webhook")


async def get_webhook(request: web.Request) -> web.Response:
    """GET /webhooks/{id}[/{token}]."""
    return json_response(_webhook(request).payload())


async def edit_webhook(request: web.Request) -> web.Response:
    """PATCH /webhooks/{id} {name, avatar, channel_id}."""
    hook = _webhook(request)
    body = (await read_body(request)).json
    hook.name = str(body.get("name", hook.name))
    if "channel_id" in body:
        hook.channel_id = int(body["channel_id"])
    _core(request).notify()
    return json_response(hook.payload())


async def delete_webhook(request: web.Request) -> web.Response:
    """DELETE /webhooks/{id}[/{token}]."""
    hook = _webhook(request)
    await _core(request).delete_webhook(hook)
    return no_content()


async def execute_webhook(request: web.Request) -> web.Response:
    """POST /webhooks/{id}/{token}?wait&thread_id: a webhook message, or an interaction followup."""
    core = _core(request)
    body = await read_body(request)
    record = _interaction(request)
    if record is not None:
        message = await _followup(core, record, body)
        return json_response(message.payload())
    hook = _webhook(request)
    channel_id = _target_channel(core, hook, request)
    data = body.json
    validate_webhook_username(data.get("username"))
    author = {
        "id": str(hook.id), "username": str(data.get("username") or hook.name), "avatar": hook.avatar,
        "discriminator": "0000", "bot": True, "global_name": None, "public_flags": 0,
    }
    message = FakeMessage(channel_id=channel_id, guild_id=hook.guild_id, author=author, webhook_id=hook.id,
                          avatar_url=data.get("avatar_url"), **message_fields(core, body))
    message.flags &= ~EPHEMERAL
    await core.store_message(message)
    wait = request.query.get("wait", "false").lower() in ("1", "true")
    return json_response(message.payload()) if wait else no_content()


def _target_channel(core: FakeDiscordCore, hook: FakeWebhook, request: web.Request) -> int:
    """The channel a webhook call writes to: its channel, or `thread_id` (a thread of that channel)."""
    thread_id = request.query.get("thread_id")
    if not thread_id:
        return hook.channel_id
    thread = core.channels.get(int(thread_id))
    if thread is None or not thread.is_thread or thread.parent_id != hook.channel_id:
        raise DiscordError(400, 10003, "Unknown Channel")
    return thread.id


def _hook_message(request: web.Request) -> tuple[FakeMessage, InteractionRecord | None]:
    """The message a `/webhooks/{id}/{token}/messages/{msg}` path names (checked against the webhook)."""
    core, m = _core(request), request.match_info
    record = _interaction(request)
    if record is not None:
        if m["message_id"] == "@original":
            if record.original is None:
                raise not_found(UNKNOWN_MESSAGE, "Message")
            return record.original, record
        ids = {f.id for f in record.followups} | ({record.original.id} if record.original else set())
        if int(m["message_id"]) not in ids:
            raise not_found(UNKNOWN_MESSAGE, "Message")
        return core.get_message(None, m["message_id"]), record
    hook = _webhook(request)
    message = core.get_message(None, m["message_id"]) if m["message_id"] != "@original" else None
    if message is None or message.webhook_id != hook.id:
        raise not_found(UNKNOWN_MESSAGE, "Message")
    thread_id = request.query.get("thread_id")
    if (thread_id and int(thread_id) != message.channel_id) or (not thread_id and message.channel_id != hook.channel_id):
        raise not_found(UNKNOWN_MESSAGE, "Message")
    return message, None


async def get_hook_message(request: web.Request) -> web.Response:
    """GET /webhooks/{id}/{token}/messages/{msg|@original}."""
    message, _ = _hook_message(request)
    return json_response(message.payload())


async def edit_hook_message(request: web.Request) -> web.Response:
    """PATCH /webhooks/{id}/{token}/messages/{msg|@original}?thread_id."""
    core = _core(request)
    message, _ = _hook_message(request)
    body = await read_body(request)
    await core.update_message(message, edit_fields(core, message, body))
    return json_response(message.payload())


async def delete_hook_message(request: web.Request) -> web.Response:
    """DELETE /webhooks/{id}/{token}/messages/{msg|@original}?thread_id."""
    message, _ = _hook_message(request)
    await _core(request).remove_message(message)
    return no_content()


def _interaction_message(core: FakeDiscordCore, record: InteractionRecord, fields: dict[str, Any]) -> FakeMessage:
    """A bot message answering an interaction, with interaction metadata."""
    channel = core.get_channel(record.channel_id)
    message = core.bot_message(channel, **fields)
    message.type = 20 if record.type == 2 else 0
    message.application_id = core.application_id
    message.webhook_id = core.application_id
    user = record.payload.get("member", {}).get("user") or record.payload.get("user")
    message.interaction_metadata = {
        "id": str(record.id), "type": record.type, "user": user,
        "authorizing_integration_owners": {"0": str(channel.guild_id)},
    }
    return message


async def _followup(core: FakeDiscordCore, record: InteractionRecord, body: Body) -> FakeMessage:
    """A followup; after a defer the first one fills in the "thinking" original response."""
    if not record.responded:
        raise not_found(UNKNOWN_WEBHOOK, "Webhook")
    fields = message_fields(core, body)
    original = record.original
    if original is not None and original.flags & LOADING:
        stored = fields.pop("files", None) or {}  # uploads that fill in the deferred response stay downloadable
        core.attachment_bytes.update(stored)
        original.files.update(stored)
        fields["flags"] = original.flags & EPHEMERAL
        await core.update_message(original, fields)
        record.followups.append(original)
        core.notify()
        return original
    message = _interaction_message(core, record, fields)
    record.followups.append(message)
    await core.store_message(message)
    return message


async def interaction_callback(request: web.Request) -> web.Response:
    """POST /interactions/{id}/{token}/callback?with_response=1 → {interaction, resource}."""
    core, m = _core(request), request.match_info
    record = core.interactions.get(int(m["interaction_id"]))
    if record is None or record.token != m["token"]:
        raise not_found(UNKNOWN_INTERACTION, "interaction")
    if time.monotonic() - record.created_at > core.interaction_timeout:
        record.rejected.append("late: answered after the interaction timeout")
        core.notify()
        raise not_found(UNKNOWN_INTERACTION, "interaction")
    if record.responded:
        record.rejected.append("already acknowledged")
        core.notify()
        raise DiscordError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
    body = await read_body(request)
    kind = int(body.json["type"])
    data = body.json.get("data") or {}
    record.callback_type, record.callback_data = kind, data
    record.responded_at = time.monotonic()
    resource: dict[str, Any] = {"type": kind}
    inner = Body(data, body.files)
    if kind == CHANNEL_MESSAGE:
        record.original = await core.store_message(_interaction_message(core, record, message_fields(core, inner)))
    elif kind == DEFERRED_MESSAGE:
        fields = {"flags": LOADING | (int(data.get("flags") or 0) & EPHEMERAL)}
        record.original = await core.store_message(_interaction_message(core, record, fields))
    elif kind in (UPDATE_MESSAGE, DEFERRED_UPDATE) and record.message_id is not None:
        record.original = core.get_message(None, record.message_id)  # @original is the component's message
        if kind == UPDATE_MESSAGE:
            await core.update_message(record.original, edit_fields(core, record.original, inner))
    if record.original is not None:
        resource["message"] = record.original.payload()
    core.notify()
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    if record.original is not None:
        interaction.update({
            "response_message_id": str(record.original.id),
            "response_message_loading": kind == DEFERRED_MESSAGE,
            "response_message_ephemeral": record.original.ephemeral,
        })
    payload: dict[str, Any] = {"interaction": interaction}
    if kind not in (AUTOCOMPLETE_RESULT, MODAL):
        payload["resource"] = resource
    return json_response(payload)
