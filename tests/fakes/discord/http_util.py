"""HTTP helpers for the fake Discord: exact JSON responses, Discord errors, JSON/multipart bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .world import snowflake

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "50",
    "X-RateLimit-Remaining": "49",
    "X-RateLimit-Reset-After": "1.0",
}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return JSON with `Content-Type: application/json` exactly (discord.py compares it verbatim)."""
    headers = {"Content-Type": "application/json", **RATE_LIMIT_HEADERS, **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


def no_content() -> web.Response:
    """Return an empty 204 response."""
    return web.Response(status=204, headers=RATE_LIMIT_HEADERS)


class DiscordError(Exception):
    """Raised by a handler to answer with Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def response(self) -> web.Response:
        """Return the error as an HTTP response."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return json_response(body, status=self.status)


def not_found(code: int, what: str) -> DiscordError:
    """Return a 404 error such as `Unknown Message`."""
    return DiscordError(404, code, f"Unknown {what}")


UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063
MISSING_PERMISSIONS = 50013
ALREADY_ACKNOWLEDGED = 40060


INVALID_FORM_BODY = 50035


def invalid_form(field_name: str, code: str, message: str) -> DiscordError:
    """Return Discord's 400 `Invalid Form Body` for one field."""
    errors = {field_name: {"_errors": [{"code": code, "message": message}]}}
    return DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def validate_message(data: dict[str, Any]) -> None:
    """Reject what Discord rejects: content over 2,000 characters, more than 10 embeds."""
    content = data.get("content")
    if content is not None and len(str(content)) > 2000:
        raise invalid_form("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    if len(data.get("embeds") or []) > 10:
        raise invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")


def validate_webhook_username(username: Any) -> None:
    """Reject webhook usernames Discord rejects (1–80 characters, no "clyde" or "discord")."""
    if username is None:
        return
    name = str(username)
    if not 1 <= len(name) <= 80:
        raise invalid_form("username", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
    if "clyde" in name.lower() or "discord" in name.lower():
        raise invalid_form("username", "USERNAME_INVALID_CONTAINS", "Username cannot contain \"clyde\" or \"discord\"")


def missing_permissions() -> DiscordError:
    """Return the 403 `Missing Permissions` error."""
    return DiscordError(403, MISSING_PERMISSIONS, "Missing Permissions")


@dataclass
class Body:
    """A request body: the JSON payload plus any uploaded files (name → (filename, bytes, type))."""

    json: dict[str, Any]
    files: list[tuple[str, bytes, str]] = field(default_factory=list)


async def read_body(request: web.Request) -> Body:
    """Parse a JSON body or a multipart body with `payload_json` and `files[n]` parts."""
    if request.content_type.startswith("multipart/"):
        payload: dict[str, Any] = {}
        files: list[tuple[str, bytes, str]] = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            elif part.filename:
                data = bytes(await part.read())  # type: ignore[union-attr]
                ctype = part.headers.get("Content-Type", "application/octet-stream")
                files.append((part.filename, data, ctype))
        return Body(payload, files)
    if not request.can_read_body:
        return Body({})
    text = await request.text()
    return Body(json.loads(text) if text else {})


def build_attachments(
    base_url: str, body: Body, keep: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Turn uploaded files into attachment objects (plus kept existing ones); return them with the bytes."""
    attachments = list(keep or [])
    stored: dict[str, bytes] = {}
    described = {str(a.get("id")): a for a in body.json.get("attachments") or []}
    for index, (given, data, ctype) in enumerate(body.files):
        att_id, filename = snowflake(), cdn_filename(given)
        meta = described.get(str(index), {})
        attachments.append({
            "id": str(att_id), "filename": filename, "size": len(data),
            "url": f"{base_url}/attachments/{att_id}/{filename}",
            "proxy_url": f"{base_url}/attachments/{att_id}/{filename}",
            "content_type": ctype, "description": meta.get("description"),
            "ephemeral": False,
        })
        stored[str(att_id)] = data
    return attachments, stored


def kept_attachments(existing: list[dict[str, Any]], body: Body) -> list[dict[str, Any]] | None:
    """On edit: the existing attachments named in `attachments`, or None when the field is absent."""
    listed = body.json.get("attachments")
    if listed is None:
        return None
    ids = {str(a.get("id")) for a in listed}
    return [a for a in existing if a["id"] in ids]


def cdn_filename(name: str) -> str:
    """The name Discord gives an uploaded file: folders dropped, anything but letters, digits, dot, dash and
    underscore made an underscore (so a name is always one safe URL path segment)."""
    base = re.split(r"[\\/]", name)[-1].lstrip(".")
    return re.sub(r"[^A-Za-z0-9._-]", "_", base) or "unknown"
