"""The guided forms, one module each, re-exported here for callers that import them
from ``bot.guided.forms``.

``engine``: Message, Turn, Outcome and GuidedForm (the turn loop, leaving and
resuming, don't-know and retry handling) with the helpers every form shares;
``eligibility_form``, ``funeral_form``, ``status_form``, ``booking_form``,
``manage_booking_form``: the five forms; ``context``: Guided (what the forms need)
and the registry; ``staff``: describe_answers for the console. Rasa-free:
``actions/guided.py`` turns a Turn into Rasa events.
"""
from .booking_form import KINDS, BookingForm, day_choice, day_problem, free_slots, slot_choice
from .context import FORMS, Guided
from .eligibility_form import EligibilityForm
from .engine import (AGE, EXIT, GUIDED_INTENTS, LAST, REGION, RESUME, RETRY, SERVICE_INTENTS, SKIPPED,
                     SWITCH_INTENTS, GuidedForm, Message, Outcome, Turn, client_of, confident_switch, exit_reason,
                     text_reply)
from .funeral_form import PROGRESS_BUTTONS, FuneralForm, funeral_progress
from .manage_booking_form import ManageBookingForm
from .staff import FORM_TITLES, describe_answers
from .status_form import StatusForm

__all__ = [
    "AGE", "EXIT", "FORMS", "FORM_TITLES", "GUIDED_INTENTS", "KINDS", "LAST", "PROGRESS_BUTTONS", "REGION", "RESUME",
    "RETRY", "SERVICE_INTENTS", "SKIPPED", "SWITCH_INTENTS", "BookingForm", "EligibilityForm", "FuneralForm",
    "Guided", "GuidedForm", "ManageBookingForm", "Message", "Outcome", "StatusForm", "Turn", "client_of",
    "confident_switch", "day_choice", "day_problem", "describe_answers", "exit_reason", "free_slots",
    "funeral_progress", "slot_choice", "text_reply",
]
