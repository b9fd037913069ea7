"""Rasa pipeline components that wrap functions of ``bot``."""
