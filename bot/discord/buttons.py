"""Views: the reply buttons on a channel's latest character reply.

Each button names the reply and the revision it was shown on (`chronicle:reply:<mode>:<id>:<rev>`),
so a double click or a click on an outdated reply changes nothing: the engine refuses a revision of
anything but that reply at that revision.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.discord.errors import report_error
from bot.discord.streaming import revise_latest, someone_else, swipe_greeting

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

REGENERATE_ID = "chronicle:reply:regenerate"
CONTINUE_ID = "chronicle:reply:continue"
_LABELS = {"regenerate": ("Regenerate", "🔄"), "continue": ("Continue", "➡️"), "other": ("Someone else", "👥")}


class ReplyButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                  template=r"chronicle:reply:(?P<mode>regenerate|continue|other):(?P<reply>[A-Za-z0-9_]{1,60}):(?P<rev>\d{1,9})"):
    """↻ Regenerate or → Continue one reply at one revision, or let someone else in the cast answer after it;
    anyone in the story may use it."""

    def __init__(self, mode: str, reply_id: str, revision: int) -> None:
        label, emoji = _LABELS[mode]
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=discord.ButtonStyle.secondary,
                                           custom_id=f"chronicle:reply:{mode}:{reply_id}:{revision}"))
        self.mode, self.reply_id, self.revision = mode, reply_id, revision

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> ReplyButton:
        """Rebuild the button from its custom id (after a restart too)."""
        return cls(match["mode"], match["reply"], int(match["rev"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Rewrite or extend that reply, or ask for another speaker; failures reach the person like command
        failures."""
        try:
            if self.mode == "other":
                await someone_else(cast("ChronicleBot", interaction.client), interaction, reply_id=self.reply_id,
                                   revision=self.revision)
                return
            await revise_latest(cast("ChronicleBot", interaction.client), interaction, self.mode,
                                reply_id=self.reply_id, revision=self.revision)
        except Exception as exc:  # noqa: BLE001 — the one error funnel answers it
            await report_error(interaction, exc)


class GreetingButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                     template=r"chronicle:greeting:(?P<dir>prev|next):(?P<reply>[A-Za-z0-9_]{1,60}):(?P<rev>\d{1,9}):"
                              r"(?P<to>\d{1,4})"):
    """◀ or ▶ on a story's opening greeting: show the host's greeting number `to` instead, before anyone speaks."""

    def __init__(self, direction: str, reply_id: str, revision: int, to: int) -> None:
        super().__init__(discord.ui.Button(emoji="◀️" if direction == "prev" else "▶️",
                                           style=discord.ButtonStyle.secondary,
                                           custom_id=f"chronicle:greeting:{direction}:{reply_id}:{revision}:{to}"))
        self.reply_id, self.revision, self.to = reply_id, revision, to

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> GreetingButton:
        """Rebuild the button from its custom id (after a restart too)."""
        return cls(match["dir"], match["reply"], int(match["rev"]), int(match["to"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Swipe to that greeting; failures reach the person like command failures."""
        try:
            await swipe_greeting(cast("ChronicleBot", interaction.client), interaction, self.to,
                                 reply_id=self.reply_id, revision=self.revision)
        except Exception as exc:  # noqa: BLE001 — the one error funnel answers it
            await report_error(interaction, exc)


def reply_buttons(reply_id: str, revision: int, *, greeting: tuple[int, int] | None = None,
                  others: bool = False) -> discord.ui.View:
    """The buttons for one reply at one revision; with `greeting` (shown, count) and more than one greeting,
    ◀ n/count ▶ swipe between the host's greetings; with `others` (a cast with someone else who may speak),
    Someone else."""
    view = discord.ui.View(timeout=None)
    if greeting is not None and greeting[1] > 1:
        shown, count = greeting
        view.add_item(GreetingButton("prev", reply_id, revision, (shown - 2) % count + 1))
        view.add_item(discord.ui.Button(label=f"{shown}/{count}", disabled=True, style=discord.ButtonStyle.secondary,
                                        custom_id=f"chronicle:greeting:at:{reply_id}:{revision}"))
        view.add_item(GreetingButton("next", reply_id, revision, shown % count + 1))
    view.add_item(ReplyButton("regenerate", reply_id, revision))
    view.add_item(ReplyButton("continue", reply_id, revision))
    if others:
        view.add_item(ReplyButton("other", reply_id, revision))
    return view


class ReplyButtons(discord.ui.View):
    """The buttons of replies posted before buttons named their reply: they act on the latest reply."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Regenerate", emoji="🔄", style=discord.ButtonStyle.secondary, custom_id=REGENERATE_ID)
    async def regenerate(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Rewrite the latest reply."""
        await revise_latest(cast("ChronicleBot", interaction.client), interaction, "regenerate")

    @discord.ui.button(label="Continue", emoji="➡️", style=discord.ButtonStyle.secondary, custom_id=CONTINUE_ID)
    async def continue_(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Extend the latest reply."""
        await revise_latest(cast("ChronicleBot", interaction.client), interaction, "continue")

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any]) -> None:
        """Button failures reach the person like command failures."""
        await report_error(interaction, error)
