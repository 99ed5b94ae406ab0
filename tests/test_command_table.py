"""Parity of the frontends with the command table: every action is offered with the same options, bounds and
choices on each frontend that declares it (the slash tree, the console, the `chronicle` CLI), and a frontend
leaves an action out only when the table says so."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from discord import AppCommandOptionType, app_commands

from bot.cli.main import build_parser
from bot.console.commands import COMMANDS, OUT, read_option
from bot.discord import slash
from engine import TABLE, Action, InvalidInput, Option
from engine.table import INTERACTIVE, NOWHERE

Spec = tuple[str, bool, Any, Any, tuple[str, ...]]  # name, required, low, high, choices
DISCORD_KIND = {"text": AppCommandOptionType.string, "int": AppCommandOptionType.integer,
                "number": AppCommandOptionType.number, "bool": AppCommandOptionType.boolean,
                "choice": AppCommandOptionType.string, "file": AppCommandOptionType.attachment}


def table_spec(option: Option) -> Spec:
    """An option as the table declares it."""
    return option.name, option.required, option.low, option.high, option.choices


def slash_commands() -> dict[str, app_commands.Command[Any, ..., Any]]:
    """Every generated slash command by its full path ('admin rewind')."""
    return {c.qualified_name: c for group in slash.groups() for c in group.walk_commands()
            if isinstance(c, app_commands.Command)}


def cli_commands() -> dict[str, argparse.ArgumentParser]:
    """Every `chronicle` subcommand parser by its words ('card import')."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for word, child in action.choices.items():
                    found[" ".join((*words, word))] = child
                    walk(child, (*words, word))

    walk(build_parser(), ())
    return found


def test_every_action_is_offered_by_the_frontends_it_declares_and_by_no_other() -> None:
    slashes, cli = slash_commands(), cli_commands()
    for path, entry in TABLE.items():
        assert (path in slashes) == ("discord" in entry.frontends), path
        assert (path in COMMANDS) == ("console" in entry.frontends), path
        assert ((entry.cli or "") in cli) == ("cli" in entry.frontends), path
    assert set(slashes) <= set(TABLE) and set(COMMANDS) - {"help"} <= set(TABLE)


@pytest.mark.parametrize("entry", [e for e in TABLE.values() if "discord" in e.frontends], ids=lambda e: e.path)
def test_a_slash_command_has_the_tables_options_bounds_and_choices(entry: Action) -> None:
    command = slash_commands()[entry.path]
    shown = [(p.name, p.required, p.min_value, p.max_value, tuple(str(c.value) for c in p.choices))
             for p in command.parameters]
    assert sorted(shown) == sorted(table_spec(o) for o in entry.options)
    for parameter, option in zip(sorted(command.parameters, key=lambda p: p.name),
                                 sorted(entry.options, key=lambda o: o.name), strict=True):
        assert parameter.type is DISCORD_KIND[option.kind], (entry.path, option.name)
        assert bool(parameter.autocomplete) == (option.lookup is not None), (entry.path, option.name)
    assert bool(command.checks) == entry.admin  # admin actions are checked again when used


@pytest.mark.parametrize("entry", [e for e in TABLE.values() if "console" in e.frontends], ids=lambda e: e.path)
def test_a_console_command_has_the_tables_options_and_reads_them_within_its_bounds(entry: Action) -> None:
    options = [o for o in COMMANDS[entry.path].options if o is not OUT]
    assert [table_spec(o) for o in options] == [table_spec(o) for o in entry.options]
    for option in options:
        if option.kind == "int" and option.high is not None:
            assert read_option(option, str(option.high)) == option.high
            with pytest.raises(InvalidInput, match=f"{option.name}: must be a whole number"):
                read_option(option, str(int(option.high) + 1))
        if option.kind == "choice":
            with pytest.raises(InvalidInput):
                read_option(option, "not-a-choice")


@pytest.mark.parametrize("entry", [e for e in TABLE.values() if e.cli], ids=lambda e: e.path)
def test_a_cli_subcommand_has_the_tables_options_and_bounds(entry: Action) -> None:
    parser = cli_commands()[entry.cli or ""]
    arguments = {a.dest: a for a in parser._actions}
    for option in entry.options:
        argument = arguments[option.name]
        assert argument.required == option.required or (not option.required and argument.option_strings)
        if option.kind == "choice":
            assert tuple(argument.choices or ()) == option.choices
        if option.kind == "int" and option.high is not None and argument.type is not None:
            assert argument.type(str(option.high)) == option.high
            with pytest.raises(argparse.ArgumentTypeError):
                argument.type(str(int(option.high) + 1))


def test_what_drifted_before_the_table_is_offered_everywhere() -> None:
    """`scene close summary:` and `character create example_dialogue:` once existed only in the console;
    rewind's bounds were spelled four times."""
    slashes = slash_commands()
    assert "summary" in {p.name for p in slashes["scene close"].parameters}
    assert "example_dialogue" in {p.name for p in slashes["character create"].parameters}
    rewind = TABLE["admin rewind"].option("messages")
    assert rewind is not None and (rewind.low, rewind.high) == (1, 10_000)
    messages = next(p for p in slashes["admin rewind"].parameters if p.name == "messages")
    assert (messages.min_value, messages.max_value) == (1, 10_000)
    cli = {a.dest: a for a in cli_commands()["rewind"]._actions}
    with pytest.raises(argparse.ArgumentTypeError):
        cli["messages"].type("10001")


def test_internal_actions_are_offered_nowhere_and_interactive_ones_on_discord_and_the_console() -> None:
    assert TABLE["line say"].frontends == NOWHERE and not TABLE["line say"].options
    assert INTERACTIVE == {"discord", "console"}
