"""What the assistant says, independent of Rasa and of any channel.

Each method returns a :class:`Reply` (plain text, HTML, buttons and the code of
the guide shown, if any). ``actions/`` turns a Rasa tracker into a call here and
the reply into dispatcher messages; the hotline console and other channels can
call the same methods.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional

from . import render
from .catalog.queries import Catalog, Guide
from .catalog.schema import DOMAINS
from .faq import Answer
from .normalize import compact

# the menu's headings; the services under each come from the catalogue
DOMAIN_TITLES = dict(DOMAINS)
SECTIONS = {"materials": "所需材料", "steps": "办理流程", "location": "办理地点", "legal": "政策依据"}
# Button words that ask for a section of the guide under discussion. "政策依据" has no
# intent of its own: the button sends the words, and every service-aware action
# recognises them (section_request) whatever intent NLU gives them.
SECTION_WORDS = {"政策依据": "legal", "法律依据": "legal", "政策": "legal", "依据": "legal",
                 "完整指南": "full", "完整办事指南": "full", "全部内容": "full"}
# The cities offered as buttons when we ask for the place are the catalogue's featured
# cities (``featured`` in regions/*.yml), the menu buttons its ``menu`` services
# (services/*.yml): a new city or service is a content change.


CHANNEL_NOTICES = frozenset(
    {"handoff_timeout", "handoff_after_failures", "non_text", "edited_message", "rate_limited",
     "button_expired", "unknown_command", "conversation_reset", "retry_failed"}
)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict:
        return {"title": self.title, "payload": self.payload}


@dataclass
class Reply:
    text: str
    html: str
    buttons: List[Button] = field(default_factory=list)
    service: Optional[str] = None
    kind: str = "info"

    def custom(self) -> dict:
        return {"kind": self.kind, "service": self.service, "html": self.html}


def intent_for(service_code: str) -> str:
    """marriage.register -> marriage_register (Rasa intent names have no dots)."""
    return service_code.replace(".", "_", 1)


def service_for_intent(intent: Optional[str]) -> Optional[str]:
    if not intent or "_" not in intent:
        return None
    domain, rest = intent.split("_", 1)
    if domain not in DOMAIN_TITLES:
        return None
    return f"{domain}.{rest}"


# An intent this likely, in an NLU ranking the fallback classifier rejected, is offered
# in the clarifying question (``fallback_candidates``).
CANDIDATE_CONFIDENCE = 0.1


def fallback_candidates(ranking: Optional[List[Dict[str, Any]]]) -> List[str]:
    """The services of an intent ranking worth offering when the NLU was unsure, most
    likely first (what the clarifying question offers; ``nlu_ext.evaluation`` measures the same)."""
    out = []
    for r in ranking or []:
        code = service_for_intent(r.get("name"))
        if code and (r.get("confidence") or 0) >= CANDIDATE_CONFIDENCE:
            out.append(code)
    return out


def section_request(text: Optional[str]) -> Optional[str]:
    """'legal' or 'full' if the message is one of the section button words, else None."""
    return SECTION_WORDS.get(compact(text).strip("。？?！!"))


def full_guide_payload(service_code: str) -> str:
    """The 完整指南 button: the service's own intent again (the guide in full)."""
    return intent_payload(intent_for(service_code))


def intent_payload(intent: str, **entities: str) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


# the guided services (bot/guided): answers for this citizen, not the general guide
GUIDED_BUTTONS = (
    Button("测算养老补贴", "/check_eligibility"),
    Button("预约婚姻登记", "/book_appointment"),
    Button("查办件进度", "/check_status"),
)

# a guide's own way on to the guided service that fits it
GUIDE_NEXT = {
    "marriage.register": Button("预约结婚登记", "/book_appointment"),
    "marriage.divorce": Button("预约离婚登记", "/book_appointment"),
    "funeral.after_death": Button("生成我家的办事清单", "/make_checklist"),
    "elder.age_allowance": Button("测算能领哪些补贴", "/check_eligibility"),
    "elder.service_subsidy": Button("测算能领哪些补贴", "/check_eligibility"),
    "elder.care_subsidy": Button("测算能领哪些补贴", "/check_eligibility"),
}

# after the menu's services: the overview of everything the assistant answers
CAPABILITIES = Button("我能办什么", "/ask_capabilities")

FOLLOW_UPS = (
    Button("所需材料", "/ask_materials"),
    Button("办理流程", "/ask_steps"),
    Button("办理地点", "/ask_location"),
    Button("其他问题", "/other_question"),
    Button("转人工", "/human_handoff"),
)


def short_buttons(service_code: str) -> List[Button]:
    """Under a short reply: the sections on demand, the full guide, the guided service."""
    out = [Button("所需材料", "/ask_materials"), Button("办理流程", "/ask_steps"), Button("办理地点", "/ask_location"),
           Button("政策依据", "政策依据"), Button("完整指南", full_guide_payload(service_code))]
    if service_code in GUIDE_NEXT:
        out.append(GUIDE_NEXT[service_code])
    return out


def _both(template_fn, *args, **kwargs):
    return template_fn(*args, fmt="text", **kwargs), template_fn(*args, fmt="html", **kwargs)


def _local_flags(a: Answer, g: Guide, booking: bool = False) -> dict:
    """Which catalogue data the local part shows; ``any``: something local is said."""
    flags = {k: k in a.local for k in ("amounts", "summary", "apply_online", "offices")}
    flags["booking"] = booking or "offices" in a.local
    flags["data"] = bool((flags["amounts"] and g.amounts) or (flags["summary"] and g.local_scope)
                         or (flags["apply_online"] and g.apply_online))
    flags["any"] = bool(a.regional or g.offices or flags["data"])
    return flags


class Assistant:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    # -- guides ----------------------------------------------------------------
    def guide(self, service_code: str, region_code: Optional[str] = None, age: Optional[int] = None,
              office_code: Optional[str] = None) -> Reply:
        g = self.catalog.guide(service_code, region_code, age, office_code=office_code)
        text, html = _both(render.render, "guide.j2", g=g)
        buttons = list(FOLLOW_UPS)
        if service_code in GUIDE_NEXT:  # before 其他问题 / 转人工
            buttons.insert(3, GUIDE_NEXT[service_code])
        return Reply(text, html, buttons, service=service_code, kind="guide")

    # -- answer first, then localise ----------------------------------------------------
    def select_answer(self, service_code: str, text: str, region_code: Optional[str] = None) -> Optional[Answer]:
        """The FAQ answer to the message for this place, or None when no entry fits."""
        match = self.catalog.faq().select(text or "", service_code)
        if match is None:
            return None
        chain = [r.code for r in self.catalog.region_index().chain(region_code)] if region_code else []
        return match.faq.answer_for(chain)

    def answer(self, service_code: str, text: str = "", region_code: Optional[str] = None,
               age: Optional[int] = None, office_code: Optional[str] = None) -> Reply:
        """The first reply to a service question: the FAQ answer if one fits (else the
        service's short summary) with its legal basis, then the local part: the local
        facts when the place is known, else the offer to give them (city buttons)."""
        g = self.catalog.guide(service_code, region_code, age, office_code=office_code)
        a = self.select_answer(service_code, text, region_code) or self._summary_answer(g)
        local = _local_flags(a, g)
        ask_city = region_code is None and (a.needs_region or g.service.needs_region)
        # a local question answered with local facts: they replace the national "由各地规定"
        lead = not (a.needs_region and region_code and local["data"])
        if not lead and g.local_scope:  # cite the local documents the figures come from
            a = replace(a, legal_basis=list(g.legal_basis[-2:]))
        text_out, html = _both(render.macro, "sections.j2", "short", g=g, a=a, local=local, ask_city=ask_city,
                               lead=lead)
        buttons = short_buttons(service_code) + (self.city_buttons() if ask_city else [])
        return Reply(text_out, html, buttons, service=service_code, kind="guide")

    def operator_answer(self, service_code: str, text: str, region_code: Optional[str] = None) -> Optional[dict]:
        """For the staff console's assist mode: the FAQ answer to read aloud above the guide."""
        a = self.select_answer(service_code, text, region_code)
        if a is None:
            return None
        legal = render.macro("sections.j2", "legal_line", "text", items=a.legal_basis)
        return {"id": a.entry_id, "text": a.text, "legal": legal, "sample": a.sample}

    def local_facts(self, service_code: str, region_code: str, question: str = "",
                    age: Optional[int] = None, office_code: Optional[str] = None) -> Reply:
        """After the city arrives: what is local about the pending question, briefly."""
        g = self.catalog.guide(service_code, region_code, age, office_code=office_code)
        a = self.select_answer(service_code, question, region_code)
        regional = a if a is not None and a.regional else None
        local = _local_flags(a or self._summary_answer(g), g, booking=True)
        local["any"] = local["any"] or regional is not None
        text_out, html = _both(render.macro, "sections.j2", "local_reply", g=g, a=regional, local=local)
        return Reply(text_out, html, short_buttons(service_code), service=service_code, kind="guide")

    @staticmethod
    def _summary_answer(g: Guide) -> Answer:
        # No FAQ entry fits: the service's short summary (regional where overridden).
        return Answer("", g.summary, list(g.legal_basis), ("amounts", "offices"), g.service.needs_region)

    def section(self, service_code: str, section: str, region_code: Optional[str] = None,
                age: Optional[int] = None, office_code: Optional[str] = None) -> Reply:
        if section == "full":
            return self.guide(service_code, region_code, age, office_code=office_code)
        if section not in SECTIONS:
            raise ValueError(section)
        g: Guide = self.catalog.guide(service_code, region_code, age, office_code=office_code)
        text, html = _both(render.render, "section.j2", g=g, section=section)
        asked = "政策依据" if section == "legal" else f"/ask_{section}"
        buttons = [b for b in short_buttons(service_code) if b.payload != asked]
        return Reply(text, html, buttons, service=service_code, kind="section")

    def ask_region(self, service_code: str) -> Reply:
        info = self.catalog.service(service_code)
        name = info.name if info else service_code
        text, html = _both(render.message, "ask_region", service_name=name)
        buttons = self.city_buttons() + [Button("跳过", "/skip")]
        return Reply(text, html, buttons, kind="ask_region")

    # -- regions -----------------------------------------------------------------
    def region_set(self, region_code: str) -> Reply:
        index = self.catalog.region_index()
        name = index.full_name(region_code)
        has_local = self.catalog.has_local_data(region_code)
        text, html = _both(render.message, "region_set", region_name=name, has_local=has_local)
        return Reply(text, html, self.menu_buttons(), kind="region_set")

    def region_not_understood(self) -> Reply:
        text, html = _both(render.message, "region_not_understood", hotline=self.catalog.default_hotline)
        buttons = self.city_buttons() + [Button("跳过", "/skip")]
        return Reply(text, html, buttons, kind="ask_region")

    # -- navigation --------------------------------------------------------------
    def city_names(self) -> List[str]:
        """Short names of the featured cities (杭州, 郴州 …), in their content order."""
        return [r.short_name for r in self.catalog.featured_cities()]

    def city_buttons(self) -> List[Button]:
        return [Button(c, intent_payload("inform_region", region=c)) for c in self.city_names()]

    def menu_buttons(self) -> List[Button]:
        return [Button(info.name, intent_payload(intent_for(info.code))) for info in self.catalog.menu_services()]

    def menu(self) -> Reply:
        domains = []
        for key, title in DOMAIN_TITLES.items():
            names = [s.name for s in self.catalog.services() if s.domain == key]
            if names:
                domains.append({"title": title, "services": names})
        text, html = _both(render.message, "menu", domains=domains)
        return Reply(text, html, self.menu_buttons() + list(GUIDED_BUTTONS), kind="menu")

    def welcome(self) -> Reply:
        """The first message of a conversation: what the assistant answers (the catalogue's
        domains) and the menu buttons (``menu`` in services/*.yml), then 我能办什么. The web
        chat's page carries it (bot.web.server), so it is shown before any turn."""
        services = self.catalog.services()
        domains = [title for key, title in DOMAIN_TITLES.items() if any(s.domain == key for s in services)]
        return self._welcome(domains, self.menu_buttons())

    @staticmethod
    def basic_welcome() -> Reply:
        """The welcome without the catalogue (not loaded or not reachable): 我能办什么 only."""
        return Assistant._welcome([], [])

    @staticmethod
    def _welcome(domains: List[str], buttons: List[Button]) -> Reply:
        text, html = _both(render.message, "welcome", domains=domains)
        return Reply(text, html, buttons + [CAPABILITIES], kind="welcome")

    def which_service(self, section: str) -> Reply:
        text, html = _both(render.message, "which_service", section_name=SECTIONS.get(section, "信息"))
        return Reply(text, html, self.menu_buttons(), kind="which_service")

    def clarify(self, candidate_codes: Iterable[str], text: str = "", region_code: Optional[str] = None,
                age: Optional[int] = None) -> Reply:
        codes: List[str] = []
        for code in candidate_codes:
            if code not in codes and self.catalog.service(code):
                codes.append(code)
        for info in self.catalog.services_by_keyword(text):
            if info.code not in codes:
                codes.append(info.code)
        # NLU was unsure: even a single likely service is offered, not answered, so an
        # unsure guess never becomes a confident wrong guide (one tap to confirm it)
        options = [self.catalog.service(c) for c in codes[:3]]
        topic = self.catalog.out_of_scope_topic(text) if text else None
        t, h = _both(render.message, "clarify", options=options, topic=topic)
        if options:
            buttons = [Button(o.name, intent_payload(intent_for(o.code))) for o in options]
            buttons.append(Button("都不是", "/other_question"))
        else:
            buttons = self.menu_buttons()
        return Reply(t, h, buttons, kind="clarify")

    def out_of_scope(self, text: str, region_code: Optional[str] = None) -> Reply:
        """Not ours: the agency that handles it; and when the message names one of our
        services too ("残疾证怎么办，两项补贴能领吗"), that service as a button. A message
        with no word in it ("？？？", emoji) is not a question of another agency: the
        menu, as when the NLU is unsure."""
        if text and not any(ch.isalnum() for ch in text):
            return self.clarify([], "")
        topic = self.catalog.out_of_scope_topic(text, loose=True)
        related = self.catalog.services_by_keyword(text, limit=2) if text else []
        t, h = _both(render.message, "out_of_scope", topic=topic, hotline=self.catalog.hotline_for(region_code),
                     related=related)
        buttons = [Button(i.name, intent_payload(intent_for(i.code))) for i in related]
        return Reply(t, h, buttons + [CAPABILITIES], kind="out_of_scope")

    def handoff(self, region_code: Optional[str] = None, staff_online: bool = False,
                wait_minutes: int = 5) -> Reply:
        """A person was asked for. With staff signed in to the console the conversation is
        queued for them (``kind="handoff_queued"``; the channel does the queueing), else
        the citizen gets the hotline."""
        if staff_online:
            t, h = _both(render.message, "handoff_queued", minutes=wait_minutes,
                         hotline=self.catalog.hotline_for(region_code))
            return Reply(t, h, [], kind="handoff_queued")
        region = self.catalog.region(region_code)
        name = self.catalog.region_index().full_name(region_code) if region else None
        t, h = _both(render.message, "handoff", hotline=self.catalog.hotline_for(region_code), region_name=name)
        return Reply(t, h, [], kind="handoff")

    @staticmethod
    def unavailable(hotline: str) -> Reply:
        t, h = _both(render.message, "unavailable", hotline=hotline)
        return Reply(t, h, [], kind="unavailable")

    @staticmethod
    def unavailable_in_form(hotline: str, title: str) -> Reply:
        """The backend failed mid-form: the apology, and the answers so far are kept."""
        t, h = _both(render.message, "unavailable", hotline=hotline)
        kt, kh = _both(render.message, "form_kept", title=title)
        return Reply(f"{t}\n{kt}", f"{h}<br>{kh}", [], kind="unavailable")

    @staticmethod
    def empty_message() -> Reply:
        t, h = _both(render.message, "empty_message")
        return Reply(t, h, [], kind="empty")

    @staticmethod
    def unknown_payload() -> Reply:
        t, h = _both(render.message, "unknown_payload")
        return Reply(t, h, [], kind="unknown_payload")

    @staticmethod
    def channel_notice(name: str, **context) -> Reply:
        """Messages a channel sends by itself (non-text input, rate limit, reset...)."""
        if name not in CHANNEL_NOTICES:
            raise ValueError(name)
        t, h = _both(render.message, name, **context)
        return Reply(t, h, [], kind=name)

    @staticmethod
    def for_problem(problem: str) -> Reply:
        return Assistant.empty_message() if problem == "empty" else Assistant.unknown_payload()
