"""The Telegram front end (python-telegram-bot 22): see ``bot.telegram.app``."""
