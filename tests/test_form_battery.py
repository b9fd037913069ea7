"""The battery: scripted conversations with the five guided forms, told the way
people actually answer (tests/forms/*.yml), run end to end through the REST channel
of one Rasa server with the trained model and the real action server.

A conversation passes when
  * its last reply is the end it was written for (``end``: a result, a booking, a
    checklist, a deliberate stop or a handoff: a reply kind), and holds ``contains``;
  * no earlier reply leaves the form (the menu, a guide, a clarifying question, a
    stop or a handoff) unless the script says so (``leaves``: the turn numbers);
  * no prompt is repeated: never the same reply twice in a row, never three times.

The script may hold more answers than the form asks for (the order of questions
depends on the answers): the conversation stops at its intended end. Messages: plain
text; ``@N`` sends the payload of button N (1-based) of the last reply; ``{code}``
(``{code_lower}``) is the confirmation code of a booking made earlier in the same
conversation; ``@new-session`` lets two hours pass (the next message opens a new
Rasa session). ``python -m pytest tests/test_form_battery.py`` runs it (``make test`` too);
the figures go to ``reports/form-battery.md``.
"""
from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import requests
import yaml

from bot.rasa_client import last_user_intent

from .conftest import require_model

BATTERY_DIR = Path(__file__).parent / "forms"
REPORT = Path(__file__).resolve().parent.parent / "reports" / "form-battery.md"
LEAVING = {"menu", "guide", "section", "clarify", "out_of_scope", "form_stopped", "handoff", "handoff_queued",
           "which_service", "ask_region", "form_paused"}
WORKERS = 3


def load_battery() -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    for path in sorted(BATTERY_DIR.glob("*.yml")):
        for conv in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            out.append({**conv, "file": path.name})
    return out


BATTERY = load_battery()


@dataclass
class Turn:
    said: str
    texts: List[str]
    kinds: List[str]
    buttons: List[Dict[str, str]]
    intent: Optional[str] = None

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


@dataclass
class Result:
    conv: Dict[str, Any]
    turns: List[Turn] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    seconds: float = 0.0


def _send(url: str, sender: str, text: str) -> List[Dict[str, Any]]:
    r = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
    r.raise_for_status()
    return r.json()


def run_conversation(url: str, token: str, conv: Dict[str, Any]) -> Result:
    res = Result(conv)
    sender = f"battery-{conv['id']}-{uuid.uuid4().hex[:6]}"
    code = ""
    started = time.monotonic()
    for raw in conv["say"]:
        said = str(raw)
        if said == "@new-session":  # two hours pass: the next message opens a new session
            events = requests.get(f"{url}/conversations/{sender}/tracker", params={"token": token,
                                  "include_events": "ALL"}, timeout=60).json()["events"]
            for e in events:
                e["timestamp"] = e["timestamp"] - 7200
            requests.put(f"{url}/conversations/{sender}/tracker/events", params={"token": token}, json=events,
                         timeout=60).raise_for_status()
            continue
        m = re.fullmatch(r"@([0-9])", said)
        if m:
            buttons = res.turns[-1].buttons if res.turns else []
            n = int(m.group(1))
            if n > len(buttons):
                res.problems.append(f"turn {len(res.turns) + 1}: no button {n} to press")
                break
            said = buttons[n - 1]["payload"]
        said = said.replace("{code}", code).replace("{code_lower}", code.lower())
        messages = _send(url, sender, said)
        texts = [mm["text"] for mm in messages if mm.get("text")]
        kinds = [str((mm.get("custom") or {}).get("kind")) for mm in messages if (mm.get("custom") or {}).get("kind")]
        buttons = [b for mm in messages for b in (mm.get("buttons") or [])]
        turn = Turn(said, texts, kinds, buttons)
        tracker = requests.get(f"{url}/conversations/{sender}/tracker",
                               params={"token": token, "include_events": "AFTER_RESTART"}, timeout=60).json()
        turn.intent = last_user_intent(tracker).get("name")
        users = [e for e in tracker.get("events") or [] if e.get("event") == "user"]
        if said.strip() and (not users or users[-1].get("text") != said):
            res.problems.append(f"turn {len(res.turns) + 1}: {said!r} is not the tracker's last user message")
        res.turns.append(turn)
        found = re.search(r"确认码：([A-Z0-9]{8})", turn.text)
        code = found.group(1) if found else code
        if set(turn.kinds) & set(_ends(conv)):
            break  # the intended end: answers the script has left were for questions not asked
    res.seconds = time.monotonic() - started
    check(res)
    return res


def _ends(conv: Dict[str, Any]) -> List[str]:
    return conv["end"] if isinstance(conv["end"], list) else [conv["end"]]


def check(res: Result) -> None:
    conv, turns = res.conv, res.turns
    if not turns:
        res.problems.append("no reply at all")
        return
    last = turns[-1]
    ends = _ends(conv)
    if not set(ends) & set(last.kinds):
        res.problems.append(f"ends with {last.kinds} ({last.text[:80]!r}), expected {ends}")
    for want in conv.get("contains") or []:
        if want not in last.text:
            res.problems.append(f"last reply lacks {want!r}")
    allowed = set(conv.get("leaves") or [])
    for i, t in enumerate(turns[:-1], 1):
        left = set(t.kinds) & LEAVING
        if left and i not in allowed:
            res.problems.append(f"turn {i} ({t.said!r}) left the form: {sorted(left)}: {t.text[:80]!r}")
        if not t.texts:
            res.problems.append(f"turn {i} ({t.said!r}) got no reply")
    seen: Dict[str, int] = {}
    for i, t in enumerate(turns, 1):
        if i > 1 and t.text and t.text == turns[i - 2].text:
            res.problems.append(f"turn {i} ({t.said!r}) repeats the previous prompt")
        seen[t.text] = seen.get(t.text, 0) + 1
        if t.text and seen[t.text] == 3:
            res.problems.append(f"turn {i}: the same prompt a third time: {t.text[:60]!r}")


@pytest.fixture(scope="session")
def battery_stack(catalog_url):
    from bot.stack import Stack, free_port

    model = require_model()
    stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=None, model=model, tracker_db=None,
                  env={"MINZHENG_DB_URL": catalog_url})
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def battery_results(battery_stack):
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda c: run_conversation(battery_stack.rasa_url, battery_stack.token, c), BATTERY))
    write_report(results, time.monotonic() - started)
    return {r.conv["id"]: r for r in results}


def write_report(results: List[Result], seconds: float) -> None:
    by_form: Dict[str, List[Result]] = {}
    for r in results:
        by_form.setdefault(r.conv["form"], []).append(r)
    messages = sum(len(r.turns) for r in results)
    passed = sum(1 for r in results if not r.problems)
    lines = ["# Guided-form battery", "",
             f"{len(results)} conversations, {messages} citizen messages, {passed} passed, "
             f"{seconds:.0f} s with {WORKERS} conversations at a time.", "",
             "| form | conversations | passed | messages |", "|---|---|---|---|"]
    for form, rs in sorted(by_form.items()):
        lines.append(f"| {form} | {len(rs)} | {sum(1 for r in rs if not r.problems)} | "
                     f"{sum(len(r.turns) for r in rs)} |")
    tags: Dict[str, int] = {}
    for r in results:
        for tag in r.conv.get("tags") or []:
            tags[tag] = tags.get(tag, 0) + 1
    lines += ["", "| deviation | conversations |", "|---|---|"]
    lines += [f"| {t} | {n} |" for t, n in sorted(tags.items(), key=lambda kv: -kv[1])]
    failed = [r for r in results if r.problems]
    if failed:
        lines += ["", "## Failures", ""]
        for r in failed:
            lines.append(f"- `{r.conv['id']}`: " + "; ".join(r.problems))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_battery_is_big_enough_and_covers_every_form():
    forms = {c["form"] for c in BATTERY}
    assert len(BATTERY) >= 80
    assert forms == {"eligibility_form", "funeral_form", "booking_form", "manage_booking_form", "status_form"}
    assert len({c["id"] for c in BATTERY}) == len(BATTERY), "conversation ids are unique"


@pytest.mark.slow
@pytest.mark.parametrize("conv_id", [c["id"] for c in BATTERY])
def test_conversation(battery_results, conv_id):
    r = battery_results[conv_id]
    transcript = "\n".join(f"  > {t.said}  [{t.intent}]\n    " + t.text.replace("\n", "\n    ")[:400]
                           for t in r.turns)
    assert not r.problems, "\n".join(r.problems) + "\n" + transcript


def test_last_user_intent_reads_the_last_user_event_not_latest_message():
    tracker = {"latest_message": {"intent": {"name": "check_eligibility", "confidence": 0.99}},
               "events": [{"event": "user", "text": "帮我算算",
                           "parse_data": {"intent": {"name": "check_eligibility"}}},
                          {"event": "action", "name": "eligibility_form"},
                          {"event": "user", "text": "87岁", "parse_data": {"intent": {"name": "inform_region",
                                                                                         "confidence": 0.9}}},
                          {"event": "bot", "text": "老人住在哪个城市？"}]}
    assert last_user_intent(tracker) == {"name": "inform_region", "confidence": 0.9}
    assert last_user_intent({"latest_message": {"intent": {"name": "greet"}}}) == {"name": "greet"}
