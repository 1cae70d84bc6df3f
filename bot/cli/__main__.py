"""`python -m bot.cli`: the same as the `thidua` command."""

from bot.cli.main import main

main()
