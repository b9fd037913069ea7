"""Minzheng Assistant domain package.

Holds the service catalogue, region resolution, text normalisation and guide
rendering. It knows nothing about Rasa or Telegram; ``actions/`` and the
channels are thin adapters around it.
"""
