"""Babel message catalogs (vi default, en), shipped compiled; one domain per area of the bot."""
