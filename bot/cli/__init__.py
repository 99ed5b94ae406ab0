"""The `chronicle` command: run the bot or the console, and the admin subcommands."""
