"""Rasa custom actions: thin adapters from a tracker to ``bot.assistant``."""
