"""What the bot says and asks: commands and conversations, written once for every channel."""
