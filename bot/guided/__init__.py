"""Guided services in a conversation: the forms that collect a citizen's answers for the
eligibility check, the funeral checklist, appointments and status lookup (see
``forms.py``); the rules themselves live in ``bot.eligibility``, ``bot.funeral_checklist``,
``bot.booking``, ``bot.marriage_precheck`` and ``bot.status_lookup``."""
