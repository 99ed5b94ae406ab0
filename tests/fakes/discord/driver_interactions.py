"""Test-driver half for interactions: invoke slash commands, autocomplete, click components, submit modals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionRecord,
    build_command_data,
    find_command,
)
from .world import ALL_PERMISSIONS, FakeChannel, FakeMember, FakeMessage, new_token, snowflake

if TYPE_CHECKING:
    from .core import FakeDiscordCore

    _Base = FakeDiscordCore
else:
    _Base = object

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class CommandNotVisible(PermissionError):
    """The member lacks the command's default_member_permissions, so Discord would not offer it."""


class InteractionDriver(_Base):
    """Mixin for FakeDiscord: people using commands and components."""

    def find_registered_command(self, channel: FakeChannel, name: str) -> dict[str, Any]:
        """The registered command `name` visible in `channel`'s guild (guild commands first, then global)."""
        command = find_command(self.commands.get(channel.guild_id, []), name) or find_command(
            self.commands.get(None, []), name)
        if command is None:
            known = [c["name"] for scope in self.commands.values() for c in scope]
            raise LookupError(f"no registered command /{name}; registered: {known}")
        return command

    async def invoke_command(self, channel: FakeChannel, member: FakeMember, path: str,
                             options: dict[str, Any] | None = None, *,
                             bypass_permissions: bool = False) -> InteractionRecord:
        """A person runs `/path` (e.g. "character create") with options; returns the interaction record."""
        command = self.find_registered_command(channel, path.split()[0])
        if not bypass_permissions:
            self._check_visible(channel, member, command)
        data = build_command_data(self, command, path, dict(options or {}), guild_id=channel.guild_id)  # type: ignore[arg-type]
        return await self._send_interaction(APPLICATION_COMMAND, channel, member, data)

    async def autocomplete(self, channel: FakeChannel, member: FakeMember, path: str,
                           options: dict[str, Any], focused: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """A person types into option `focused` of `/path`; returns the bot's choices."""
        command = self.find_registered_command(channel, path.split()[0])
        data = build_command_data(self, command, path, dict(options), guild_id=channel.guild_id, focused=focused)  # type: ignore[arg-type]
        record = await self._send_interaction(AUTOCOMPLETE, channel, member, data)
        await record.wait_response(timeout)
        return record.choices

    async def click_button(self, message: FakeMessage, custom_id: str, member: FakeMember) -> InteractionRecord:
        """A person clicks the button `custom_id` on a message."""
        return await self.use_component(message, custom_id, member)

    async def choose_options(self, message: FakeMessage, custom_id: str, member: FakeMember,
                             values: list[str]) -> InteractionRecord:
        """A person picks `values` in the string select `custom_id` on a message."""
        return await self.use_component(message, custom_id, member, values=values)

    async def use_component(self, message: FakeMessage, custom_id: str, member: FakeMember,
                            values: list[str] | None = None) -> InteractionRecord:
        """A person uses a component of a message (button, or select when `values` is given)."""
        component = _find_component(message.components, custom_id)
        if component is None:
            raise LookupError(f"message {message.id} has no component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        channel = self.get_channel(message.channel_id)
        return await self._send_interaction(MESSAGE_COMPONENT, channel, member, data, message=message)

    async def submit_modal(self, record: InteractionRecord, values: dict[str, str],
                           member: FakeMember | None = None) -> InteractionRecord:
        """A person submits the modal the bot opened in answer to `record`; `values` by text input custom_id."""
        modal = record.modal
        if modal is None:
            raise LookupError("the bot did not answer this interaction with a modal")
        guild = self.guilds[self.get_channel(record.channel_id).guild_id]
        member = member or guild.members[record.user_id]
        data = {"custom_id": modal["custom_id"], "components": [_fill(c, values) for c in modal.get("components", [])]}
        channel = self.get_channel(record.channel_id)
        message = self.messages.get(record.message_id) if record.message_id else None
        return await self._send_interaction(MODAL_SUBMIT, channel, member, data, message=message)

    def _check_visible(self, channel: FakeChannel, member: FakeMember, command: dict[str, Any]) -> None:
        """Raise CommandNotVisible when Discord would hide the command from this member."""
        required = command.get("default_member_permissions")
        if required is None:
            return
        perms = self.guilds[channel.guild_id].permissions_for(member)
        if perms != ALL_PERMISSIONS and perms & int(required) != int(required):
            raise CommandNotVisible(f"{member.name} lacks permissions {required} for /{command['name']}")

    async def _send_interaction(self, kind: int, channel: FakeChannel, member: FakeMember, data: dict[str, Any],
                                message: FakeMessage | None = None) -> InteractionRecord:
        """Record an interaction and dispatch INTERACTION_CREATE."""
        guild = self.guilds[channel.guild_id]
        perms = guild.permissions_for(member, channel)
        bot_perms = guild.permissions_for(guild.members[self.bot_user.id], channel)
        interaction_id, token = snowflake(), new_token()
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(self.application_id), "type": kind, "data": data,
            "guild_id": str(guild.id), "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id), "channel": {**channel.payload(), "permissions": str(perms)},
            "member": member.payload(permissions=perms), "token": token, "version": 1,
            "app_permissions": str(bot_perms), "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)}, "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message.payload()
        record = InteractionRecord(core=self, id=interaction_id, token=token, type=kind, payload=payload,  # type: ignore[arg-type]
                                   channel_id=channel.id, user_id=member.id,
                                   message_id=message.id if message is not None else None)
        self.interactions[interaction_id] = record
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return record


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """Depth-first search for a component by custom_id (rows, containers, sections, labels)."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        children = list(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                children.append(component[key])
        found = _find_component(children, custom_id)
        if found is not None:
            return found
    return None


def _fill(component: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The submitted form of a modal component: text inputs carry their value."""
    kind = component.get("type")
    if kind == 4:
        return {"type": 4, "custom_id": component["custom_id"], "value": values.get(component["custom_id"], "")}
    if kind == 18 and isinstance(component.get("component"), dict):
        return {"type": 18, "component": _fill(component["component"], values)}
    if kind == 3:
        chosen = values.get(component["custom_id"], [])
        return {"type": 3, "custom_id": component["custom_id"], "values": list(chosen)}
    out: dict[str, Any] = {"type": kind}
    if "components" in component:
        out["components"] = [_fill(c, values) for c in component["components"]]
    return out
