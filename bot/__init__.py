"""thidua: a Telegram and Zalo chatbot that runs an office's emulation campaign."""
