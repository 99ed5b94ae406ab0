"""Every user action's model, by area, each declared once with its table entry (engine/table.py): characters,
chats, world, transcript, memory, relationships, lore, admin. Importing this package fills the table."""

from engine.commands.admin import CheckWorld, Doctor, Reproject, ShowLog
from engine.commands.base import (
    Actor,
    Command,
    InChannel,
    InChat,
    InStory,
    Narrated,
    NarratorTask,
    Query,
    Request,
    describe_validation_error,
    parse,
    without_nul,
)
from engine.commands.characters import (
    AuthorCharacter,
    EditCharacter,
    ExportCharacter,
    ImportCharacter,
    ListCharacters,
    RetireCharacter,
    SetPersona,
    ShowCharacter,
    ShowPersona,
)
from engine.commands.chats import (
    AddToCast,
    ChatStatus,
    EndChat,
    ExportChat,
    InspectPrompt,
    ListCast,
    MuteCastMember,
    NudgeCharacter,
    RemoveFromCast,
    RewindChat,
    SetTurnRule,
    SomeoneElse,
    StartChat,
    Timeline,
    UnmuteCastMember,
)
from engine.commands.lore import (
    AddLoreEntry,
    AttachLorebook,
    DetachLorebook,
    EditLoreEntry,
    ExportLorebook,
    ImportLorebook,
    ListLorebooks,
    RemoveLoreEntry,
    ShowLorebook,
    ToggleLoreEntry,
)
from engine.commands.memory import (
    ForgetMemory,
    ListMemories,
    PassageMemory,
    PinMemory,
    RecordMeanwhileDigest,
    RecordPassageMemories,
    SearchMemories,
    StartMeanwhile,
    UnpinMemory,
    WriteMemory,
)
from engine.commands.relationships import AdjustRelationship, ListRelationships, RelationshipMap
from engine.commands.transcript import (
    AnswerLine,
    ContinueReply,
    EditMessage,
    RecordReply,
    RegenerateReply,
    RetractDeletedMessage,
    RetractMessage,
    ReviseReply,
    SayLine,
    SwipeGreeting,
)
from engine.commands.world import (
    CloseScene,
    CreatePlace,
    EnterScene,
    LeaveScene,
    ListPlaces,
    OpenScene,
    SetWeather,
    Skipped,
    SkipTime,
)

# What each first word of the table's paths stands for (the groups frontends show).
GROUPS = {
    "character": "Characters of this server", "persona": "Who you are in the stories",
    "chat": "The story in this channel", "scene": "Scenes of the story", "place": "Places in the story's world",
    "time": "In-story time", "weather": "The story's weather", "memory": "What the characters remember",
    "meanwhile": "Off-screen scenes", "relationship": "How the characters feel about each other",
    "reply": "The latest character reply", "lore": "Lorebooks (world info) of this server",
    "admin": "Chronicle admin tools", "cast": "Who is in the story",
}

__all__ = [
    "GROUPS",
    "CheckWorld", "Doctor", "Reproject", "ShowLog", "Actor", "Command", "InChannel", "InChat", "InStory", "Narrated",
    "NarratorTask", "Query", "Request", "describe_validation_error", "parse", "without_nul", "AuthorCharacter",
    "EditCharacter", "ExportCharacter", "ImportCharacter", "ListCharacters", "RetireCharacter", "SetPersona",
    "ShowCharacter", "ShowPersona", "ChatStatus", "EndChat", "ExportChat", "InspectPrompt", "RewindChat",
    "StartChat", "Timeline", "AddToCast", "ListCast", "MuteCastMember", "RemoveFromCast", "UnmuteCastMember",
    "NudgeCharacter", "SetTurnRule", "SomeoneElse",
    "AddLoreEntry", "AttachLorebook", "DetachLorebook", "EditLoreEntry", "ExportLorebook",
    "ImportLorebook", "ListLorebooks", "RemoveLoreEntry", "ShowLorebook", "ToggleLoreEntry", "ForgetMemory",
    "PinMemory", "UnpinMemory",
    "ListMemories", "PassageMemory", "RecordMeanwhileDigest",
    "RecordPassageMemories", "SearchMemories", "StartMeanwhile", "WriteMemory",
    "AdjustRelationship", "ListRelationships", "RelationshipMap", "AnswerLine", "ContinueReply", "EditMessage",
    "RecordReply", "RegenerateReply", "RetractDeletedMessage", "RetractMessage", "ReviseReply", "SayLine",
    "SwipeGreeting", "EnterScene", "LeaveScene", "CloseScene", "CreatePlace", "ListPlaces", "OpenScene",
    "SetWeather", "SkipTime", "Skipped",
]
