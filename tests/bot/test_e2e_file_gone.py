"""The database file deleted under the running bot (the real discord.py against the local Discord): a member's next
line is answered with one line saying nothing more is recorded (no reply is written or posted), and /admin check
gives that line too, not a traceback."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.bot.conftest import Chronicle


async def test_the_file_deleted_under_the_bot_is_one_line_everywhere(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("Before the file went away.")
    await chronicle.say(w.member, "Hello?")
    posted, asked = len(chronicle.hook_messages()), len(chronicle.llm.chat_requests)

    chronicle.db_path.unlink()
    with capture_logs() as logs:
        said = await fd.user_says(w.channel, w.member, "Still there?")
        await fd.wait_for(lambda: any(m.message_reference and str(m.message_reference.get("message_id")) == str(said.id)
                                      for m in fd.messages_in(w.channel)), timeout=10)
        await chronicle.settle()
        check = await chronicle.command(w.admin, "admin check")
    answer = [m for m in fd.messages_in(w.channel) if m.message_reference][-1].content
    expected = ("Chronicle's database file was deleted or replaced while it was running, so nothing more is recorded "
                "until an admin restores it from a backup or restarts Chronicle.")
    assert answer.startswith(expected) and "error id `" in answer and "\n" not in answer
    assert check.texts[-1].startswith(expected) and "\n" not in check.texts[-1]
    assert len(chronicle.hook_messages()) == posted and len(chronicle.llm.chat_requests) == asked  # nothing shown
    faults = [e for e in logs if e["event"] == "storage_fault"]
    assert len(faults) == 2 and all(e["kind"] == "gone" and str(chronicle.db_path) in e["detail"] for e in faults)
    assert not [e for e in logs if e.get("exc_info")]  # no traceback logged
    assert not chronicle.db_path.exists()
