"""The Discord frontend: the bot (discord.py), its slash commands, reply streaming and buttons."""
