"""/admin: rewind the channel's story, reproject or check the world, read the log. Admins only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord import doctor, render
from bot.discord.checks import actor_for, admin_only, cause_of
from bot.discord.replies import announce, defer_private, send_ephemeral
from bot.discord.transformers import message_id_from
from engine import InvalidInput, RewindResult

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot
    from bot.discord.posting import Target


class Admin(commands.Cog):
    """Admin tools: hidden from members by default permissions, and checked again when used."""

    admin = app_commands.Group(name="admin", description="Chronicle admin tools", guild_only=True,
                               default_permissions=discord.Permissions(manage_guild=True))

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    @admin.command(name="rewind", description="Rewind this channel's story (the log keeps everything)")
    @app_commands.describe(messages="Undo this many of the newest messages",
                           to="Keep the story up to this message (a message link or id)")
    @admin_only()
    async def admin_rewind(self, interaction: discord.Interaction,
                           messages: app_commands.Range[int, 1, 10_000] | None = None,
                           to: app_commands.Range[str, 1, 200] | None = None) -> None:
        """Rewind, delete the character messages after the point, and post a notice."""
        actor = actor_for(interaction)
        channel = interaction.channel
        if messages is not None and to is not None:
            raise InvalidInput("Give either `messages` or `to`, not both.")
        target = message_id_from(to, interaction.channel_id) if to is not None else None
        await defer_private(interaction)
        result = await self.bot.engine.rewind(actor, str(interaction.channel_id), to_message=target,
                                              messages=messages if target is None else None,
                                              cause=cause_of(interaction))
        if isinstance(channel, (discord.TextChannel, discord.Thread)):
            await self._remove_replies(channel, result)
        await announce(interaction, await self._notice(interaction, result), ack="Rewound.")

    async def _remove_replies(self, channel: Target, result: RewindResult) -> None:
        """Delete the character messages that are no longer part of the story."""
        ids = [int(i) for m in result.removed_messages if m.role == "character" for i in m.discord_ids]
        await self.bot.poster.delete_ids(channel, ids)
        latest = self.bot.latest_replies.get(channel.id)
        if latest is not None and latest.message_id in ids:
            self.bot.latest_replies.pop(channel.id, None)

    async def _notice(self, interaction: discord.Interaction, result: RewindResult) -> str:
        """Who rewound, to where, and what that means for the channel's messages."""
        lines = await self.bot.engine.transcript(result.chat_id, limit=1)
        if lines and lines[-1].discord_ids:
            last = lines[-1]
            url = render.jump_url(interaction.guild_id or 0, interaction.channel_id or 0, last.discord_ids[0])
            where = f"{url} ({last.speaker}: “{render.clip(last.text, 60)}”)"
        elif lines:
            where = f"{lines[-1].speaker}: “{render.clip(lines[-1].text, 60)}”"
        else:
            where = "the start of the story"
        removed = len(result.removed_messages)
        return (f"⏪ **{interaction.user.display_name}** rewound the story to {where}. "
                f"{removed} message{'s' if removed != 1 else ''} left the story: character replies after that "
                f"point were deleted, and people's messages after it stay in the channel but are no longer part "
                f"of the story.")

    @admin.command(name="reproject", description="Rebuild the whole world from the event log")
    @admin_only()
    async def admin_reproject(self, interaction: discord.Interaction) -> None:
        """Rebuild every projection from the log."""
        actor = actor_for(interaction)
        await defer_private(interaction)
        count = await self.bot.engine.reproject(actor)
        await send_ephemeral(interaction, f"Rebuilt the world from {count} events. Nothing was lost.")

    @admin.command(name="check", description="Compare the live world with a fresh rebuild from the log")
    @admin_only()
    async def admin_check(self, interaction: discord.Interaction) -> None:
        """Check projections against a rebuild."""
        await defer_private(interaction)
        report = await self.bot.engine.check()
        if report.clean:
            text = f"✅ Clean: {report.events} events replayed, {report.tables_checked} tables identical."
        else:
            shown = "\n".join(render.clip(d, 150) for d in report.differences[:10])
            text = (f"⚠️ Drift in {len(report.differences)} place(s) after replaying {report.events} events:\n"
                    f"```\n{shown}\n```\n`/admin reproject` rebuilds the world from the log.")
        await send_ephemeral(interaction, text)

    @admin.command(name="doctor", description="Check Chronicle's setup: Discord, the model, the database")
    @admin_only()
    async def admin_doctor(self, interaction: discord.Interaction) -> None:
        """One line per check, each failing one with its fix."""
        await defer_private(interaction)
        engine = self.bot.engine
        checks = await doctor.discord_checks(self.bot)
        checks += await doctor.model_checks(engine.model, self.bot.model_target or doctor.target_of(engine))
        checks += await doctor.database_checks(engine)
        verdict = "Everything Chronicle needs is in place." if doctor.passed(checks) else "Some things need fixing:"
        await send_ephemeral(interaction, f"{verdict}\n{doctor.report(checks)}")

    @admin.command(name="log", description="The newest events of this server's log")
    @app_commands.describe(limit="How many events (1-50)")
    @admin_only()
    async def admin_log(self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 50] = 10) -> None:
        """Show the newest events."""
        events = await self.bot.engine.recent_events(guild_id=str(interaction.guild_id), limit=limit)
        await send_ephemeral(interaction, render.event_lines(events))


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Admin(bot))
