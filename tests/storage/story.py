"""A realistic story as a list of events (every kind the projection handles), for backend portability tests."""

from __future__ import annotations

from engine.cards import parse_card
from engine.events import (
    CardAvatar,
    CharacterAuthored,
    CharacterRetired,
    ChatEnded,
    ChatRewound,
    ChatStarted,
    Event,
    LineSaid,
    LorebookAttached,
    LorebookCreated,
    LorebookDetached,
    LoreEntryRemoved,
    LoreEntryWritten,
    MeanwhileDigestRecorded,
    MeanwhileStarted,
    MemoryForgotten,
    MemoryWritten,
    MessageEdited,
    MessageRetracted,
    PersonaSet,
    PlaceCreated,
    RelationshipAdjusted,
    ReplyRecorded,
    ReplyRevised,
    SceneClosed,
    SceneOpened,
    TimeSkipped,
    WeatherSet,
)
from engine.lore import Lorebook, LoreEntry
from engine.store import NewEvent
from tests.engine.cards.builders import V3, dump

GUILD, OTHER_GUILD = "guild-1", "guild-2"
ADMIN, PLAYER = "admin-1", "player-1"
CHAT, ENDED_CHAT = "chat-1", "chat-0"


class Story:
    """Events in log order; with a fresh log, the n-th event (0-based) gets seq n + 1."""

    def __init__(self) -> None:
        self.events: list[NewEvent] = []

    def add(self, payload: Event, guild: str | None = GUILD, actor: str = ADMIN) -> int:
        """Add an event; return the seq it will get."""
        self.events.append(NewEvent(payload, guild, actor))
        return len(self.events)


def _cast(s: Story) -> None:
    """Characters (one replaced, one retired, one in another guild) and personas (per guild and global)."""
    for cid, name, text in [("ch-aria", "Aria", "A wandering bard."), ("ch-bram", "Bram", "A quiet smith."),
                            ("ch-elo", "Élodie", "A cartographer, 50% lost."), ("ch-tom", "Old Tom", "A ferryman.")]:
        s.add(CharacterAuthored(character_id=cid, guild_id=GUILD, name=name, description=text, author_id=ADMIN,
                          greeting=f"{name} nods.", avatar_url=f"https://cdn.example/{cid}.png"))
    s.add(CharacterAuthored(character_id="ch-aria", guild_id=GUILD, name="Aria", description="A bard with a lute.",
                      personality="Curious; sings when nervous.", author_id=ADMIN))
    s.add(CharacterRetired(character_id="ch-tom", guild_id=GUILD))
    s.add(CharacterAuthored(character_id="ch-x", guild_id=OTHER_GUILD, name="Aria", description="Elsewhere.",
                      author_id=PLAYER), guild=OTHER_GUILD)
    s.add(PersonaSet(user_id=ADMIN, guild_id=GUILD, name="Wren", description="A traveller."))
    s.add(PersonaSet(user_id=PLAYER, name="pip", description="Everyone's friend."), guild=None, actor=PLAYER)


def _first_chat(s: Story) -> None:
    """A short chat that ended, so the channel could start another."""
    s.add(ChatStarted(chat_id=ENDED_CHAT, guild_id=GUILD, channel_id="chan-1", host_id="ch-bram", started_by=ADMIN,
                      start_minute=0, anchor="Day 1, dawn", weather="fog"))
    s.add(LineSaid(chat_id=ENDED_CHAT, message_id="m-0", author_id=ADMIN, persona_name="Wren", text="Hello?"))
    s.add(MemoryWritten(chat_id=ENDED_CHAT, memory_id="mem-0", character_id="ch-aria",
                        text="In another story, the well was full of wine."))
    s.add(ChatEnded(chat_id=ENDED_CHAT, ended_by=ADMIN))


def _opening(s: Story) -> None:
    """The main chat: places, a scene, talk with edits, a retraction and regenerations."""
    s.add(ChatStarted(chat_id=CHAT, guild_id=GUILD, channel_id="chan-1", host_id="ch-aria", guest_id="ch-bram",
                      started_by=ADMIN, start_minute=720, anchor="Day 1, noon", weather="clear"))
    s.add(PlaceCreated(chat_id=CHAT, place_id="pl-town", name="Harbour Town", description="Salt and gulls."))
    s.add(PlaceCreated(chat_id=CHAT, place_id="pl-inn", name="The Rusty Anchor", parent_id="pl-town",
                           description="A tavern with 100% more rum."))
    s.add(SceneOpened(chat_id=CHAT, scene_id="sc-1", place_id="pl-inn", title="Arrival", present=["ch-aria", "ch-bram"]))
    s.add(LineSaid(chat_id=CHAT, message_id="m-1", author_id=ADMIN, persona_name="Wren", text="I push the door open."))
    s.add(ReplyRecorded(chat_id=CHAT, message_id="r-1", character_id="ch-aria", character_name="Aria",
                     text="Aria looks up from her lute. \"A traveller? Sit.\"", discord_message_ids=["d-1", "d-2"]))
    s.add(LineSaid(chat_id=CHAT, message_id="m-2", author_id=PLAYER, persona_name="pip", text="Is the well dry?"))
    s.add(MessageEdited(chat_id=CHAT, message_id="m-2", text="Is the old well dry? (50% sure)"), actor=PLAYER)
    s.add(ReplyRecorded(chat_id=CHAT, message_id="r-2", character_id="ch-bram", character_name="Bram",
                     text="Bram grunts. \"Dry since the storm.\"", discord_message_ids=["d-3"]))
    s.add(ReplyRevised(chat_id=CHAT, message_id="r-2", text="Bram shrugs. \"Ask the ferryman.\"",
                           discord_message_ids=["d-4"]))
    s.add(ReplyRevised(chat_id=CHAT, message_id="r-2", text=" He returns to his anvil.", mode="continue"))
    s.add(LineSaid(chat_id=CHAT, message_id="m-3", author_id=ADMIN, persona_name="Wren", text="Oops, wrong channel."))
    s.add(MessageRetracted(chat_id=CHAT, message_id="m-3"))


def _middle(s: Story) -> None:
    """Memories, an off-screen scene, relationships, weather, a time skip and a closed scene."""
    memories = [("mem-1", "ch-aria", "Wren arrived at the Rusty Anchor during the storm season.", 6),
                ("mem-2", "ch-bram", "The old well near the harbour has been dry since the storm.", 8),
                ("mem-3", "ch-aria", "Pip asked about the well; the ferryman may know more.", 9),
                ("mem-4", "ch-aria", "Aria owes the harbour master three silver coins.", 3),
                ("mem-5", "ch-bram", "A note about nothing in particular.", 2),
                ("mem-7", "ch-bram", "Bram's map: harbour-town.example/maps/v1.2 (ask bob@example.org)", 4)]
    for memory_id, character, text, importance in memories:
        s.add(MemoryWritten(chat_id=CHAT, memory_id=memory_id, character_id=character, text=text,
                            importance=importance))
    s.add(MemoryForgotten(chat_id=CHAT, memory_id="mem-5"))
    s.add(MeanwhileStarted(chat_id=CHAT, meanwhile_id="mw-1", character_ids=["ch-bram"], place_id="pl-town",
                                premise="Bram visits the ferryman at dusk."))
    s.add(MeanwhileDigestRecorded(chat_id=CHAT, meanwhile_id="mw-1", digest="The ferryman saw lights in the well."))
    s.add(RelationshipAdjusted(chat_id=CHAT, source_id="ch-aria", source_kind="character", source_name="Aria",
                     target_id=ADMIN, target_kind="persona", target_name="Wren", affinity_delta=10, affinity=10,
                     trust=0, note="Curious about the stranger."))
    s.add(RelationshipAdjusted(chat_id=CHAT, source_id="ch-aria", source_kind="character", source_name="Aria",
                     target_id=ADMIN, target_kind="persona", target_name="Wren", trust_delta=5, affinity=10, trust=5))
    s.add(RelationshipAdjusted(chat_id=CHAT, source_id="ch-bram", source_kind="character", source_name="bram (smith)",
                     target_id="ch-aria", target_kind="character", target_name="Aria", affinity_delta=-5,
                     affinity=-5, trust=20))
    s.add(WeatherSet(chat_id=CHAT, weather="storm"))
    s.add(TimeSkipped(chat_id=CHAT, from_minute=720, to_minute=1200, anchor="Day 1, evening",
                          summary="Eight hours pass; the storm rolls in."))
    s.add(SceneClosed(chat_id=CHAT, scene_id="sc-1", summary="Wren met Aria and Bram at the inn."))
    s.add(SceneOpened(chat_id=CHAT, scene_id="sc-2", place_id="pl-town", title="The well", present=["ch-aria"]))


def _lore(s: Story) -> None:
    """A lorebook written, toggled and pruned, attached to the story and to characters."""
    book = Lorebook(name="Harbour lore", scan_depth=3, extensions={"x": 1}, entries=(
        LoreEntry(id=7, keys=("well",), content="The well hides a passage."),
        LoreEntry(keys=("storm",), content="Storms drown the docks.", characters=("Aria",), probability=50,
                  use_probability=True)))
    s.add(LorebookCreated(book_id="lb-1", guild_id=GUILD, author_id=ADMIN, book=book))
    s.add(LoreEntryWritten(book_id="lb-1", guild_id=GUILD, number=3, entry=LoreEntry(keys=("ferry",), sticky=2,
                                                                                     content="The ferry is late.")))
    s.add(LoreEntryWritten(book_id="lb-1", guild_id=GUILD, number=1, entry=book.entries[0].model_copy(
        update={"enabled": False})))
    s.add(LoreEntryRemoved(book_id="lb-1", guild_id=GUILD, number=2))
    s.add(LorebookAttached(book_id="lb-1", guild_id=GUILD, chat_id=CHAT))
    s.add(LorebookAttached(book_id="lb-1", guild_id=GUILD, character_id="ch-bram"))
    s.add(LorebookDetached(book_id="lb-1", guild_id=GUILD, character_id="ch-bram"))
    s.add(LorebookAttached(book_id="lb-1", guild_id=GUILD, character_id="ch-aria"))


def build_story() -> Story:
    """The whole story, ending in a rewind that undoes the last lines of talk and a memory."""
    s = Story()
    _cast(s)
    _first_chat(s)
    _opening(s)
    _middle(s)
    _lore(s)
    mark = s.add(LineSaid(chat_id=CHAT, message_id="m-4", author_id=ADMIN, persona_name="Wren",
                          text="We climb down into the well."))
    s.add(ReplyRecorded(chat_id=CHAT, message_id="r-4", character_id="ch-aria", character_name="Aria",
                     text="\"Mind the third rung,\" Aria whispers.", discord_message_ids=["d-9"]))
    s.add(MemoryWritten(chat_id=CHAT, memory_id="mem-6", character_id="ch-aria", text="The third rung of the well "
                        "ladder is broken.", importance=7))
    s.add(WeatherSet(chat_id=CHAT, weather="hail"))
    s.add(LorebookCreated(book_id="lb-2", guild_id=GUILD, author_id=ADMIN, book=Lorebook(name="Well notes")))
    s.add(LorebookAttached(book_id="lb-2", guild_id=GUILD, chat_id=CHAT))  # the rewind undoes this attachment
    s.add(ChatRewound(chat_id=CHAT, to_seq=mark, actor_id=ADMIN))
    s.add(CharacterAuthored(character_id="ch-sera", guild_id=OTHER_GUILD, author_id=PLAYER, card=parse_card(dump(V3), "s").card,
                      avatar=CardAvatar(data="iVBORw0KGgo="), avatar_url="https://cdn.example/sera.png"),
          guild=OTHER_GUILD, actor=PLAYER)  # a whole imported card, with its book and image
    s.add(ReplyRecorded(chat_id=CHAT, message_id="r-5", character_id="ch-aria", character_name="Aria",
                     text="Aria lowers a lantern into the well instead.", discord_message_ids=["d-10"]))
    return s
