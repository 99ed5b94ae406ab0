"""End to end: a model that writes far more than a reply holds, through the real bot and the local Discord."""

from __future__ import annotations

from engine.events import REPLY_MAX
from engine.narrator.generation import CUT_MARKER
from tests.bot.conftest import Chronicle


async def test_a_huge_reply_is_posted_and_recorded_cut_with_the_same_visible_marker(chronicle: Chronicle) -> None:
    w = chronicle.fd.world
    await chronicle.start_story()
    paragraphs = [f"Paragraph {i}. " + "The wind howls over the pass. " * 40 for i in range(170)]  # about 200 kB
    chronicle.llm.enqueue_text("\n\n".join(p.strip() for p in paragraphs), chunks=200)
    await chronicle.say(w.admin, "Tell me everything.", replies=5, timeout=30)
    parts = chronicle.hook_messages()
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    recorded = (await chronicle.engine.reads.transcript(chat.chat_id))[-1]
    assert recorded.role == "character" and recorded.text.endswith(CUT_MARKER) and len(recorded.text) <= REPLY_MAX
    assert recorded.discord_ids == tuple(str(m.id) for m in parts)
    assert "\n\n".join(m.content for m in parts) == recorded.text  # what was posted is what was recorded
    assert parts[-1].content.endswith(CUT_MARKER) and all(len(m.content) <= 2000 for m in parts)
