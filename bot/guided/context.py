"""What the forms need (the assistant, rules, booking and status services) and the registry of forms."""
from __future__ import annotations

from datetime import date
from typing import Callable, List


from .. import eligibility as elig
from .. import funeral_checklist as fc
from ..assistant import Assistant
from ..booking import BookingService, load_schedules
from ..status_lookup import StatusLookup
from .booking_form import BookingForm
from .eligibility_form import EligibilityForm
from .engine import GuidedForm
from .funeral_form import FuneralForm
from .manage_booking_form import ManageBookingForm
from .status_form import StatusForm


FORMS = (EligibilityForm, FuneralForm, StatusForm, BookingForm, ManageBookingForm)


class Guided:
    """What the forms need: the assistant (catalogue), rules, booking and status services."""

    def __init__(self, assistant: Assistant, db_url: str, today: Callable[[], date] = date.today):
        self.assistant = assistant
        self.db_url = db_url
        self.today = today
        self._schedules = None

    def parents(self, code: str) -> List[str]:
        return self.assistant.catalog.region_index().chain_codes(code)

    def eligibility_rules(self) -> elig.EligibilityRules:
        """Loaded with the catalogue (``python -m bot catalog load``), like the guides."""
        return self.assistant.catalog.eligibility_rules()

    def funeral_rules(self) -> fc.FuneralRules:
        return self.assistant.catalog.funeral_rules()

    def schedules(self):
        if self._schedules is None:
            self._schedules = load_schedules()
        return self._schedules

    def booking(self) -> BookingService:
        return BookingService(self.db_url, self.schedules(), today=self.today)

    def status(self) -> StatusLookup:
        return StatusLookup(self.db_url)

    def form(self, name: str) -> GuidedForm:
        for cls in FORMS:
            if cls.name == name:
                return cls(self)
        raise KeyError(name)
