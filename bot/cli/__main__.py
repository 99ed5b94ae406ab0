"""`python -m bot.cli`: the chronicle command."""

from bot.cli.main import main

raise SystemExit(main())
