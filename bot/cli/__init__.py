"""The `thidua` command line (`bot.cli.main:app`)."""
