"""The measurements of `make bench` (used by scripts/bench_ask.py).

* bare and guide turns one at a time through Rasa's REST channel (p50 / p95 and their ratio);
* the Rasa HTTP API's tracker read (what the web gateway does after each turn to detect a
  partial reply) and the action server answering a real action call posted directly;
* throughput with C concurrent conversations of a few turns each;
* the resident memory of a process and its children, sampled while the others run.

A *bare* turn is answered by a response template (``utter_thanks``, ``utter_goodbye``): NLU,
the rule policy and the tracker store, no custom action. A *guide* turn is answered by
``action_service_guide``: the same plus the call to the action server.
"""
from __future__ import annotations

import asyncio
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import requests

# (text, kind): what each conversation says, in order; "bare" turns are answered by utter_*
CONVERSATION: Tuple[Tuple[str, str], ...] = (
    ("结婚登记要带什么证件", "guide"),
    ("谢谢", "bare"),
    ("我妈九十岁了有没有高龄津贴", "guide"),
    ("谢谢你", "bare"),
    ("低保怎么申请", "guide"),
    ("好的，再见", "bare"),
)
# replies that identify a bare turn's response template (domain.yml: utter_thanks, utter_goodbye;
# a greeting is answered by action_greet, with the catalogue's menu)
BARE_MARKERS = ("不客气", "感谢您的咨询")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))  # ceil(q * n), at least 1
    return ordered[rank - 1]


def reply_kind(messages: List[Dict[str, Any]]) -> str:
    """'guide' when a message carries a guide (action_service_guide), 'bare' for a
    response template, else 'other' (a clarification, the menu, an error)."""
    for m in messages:
        custom = m.get("custom") if isinstance(m, dict) else None
        if isinstance(custom, dict) and custom.get("kind") == "guide":
            return "guide"
    text = "".join(str(m.get("text") or "") for m in messages if isinstance(m, dict))
    if any(text.startswith(marker) for marker in BARE_MARKERS):
        return "bare"
    return "other"


@dataclass
class Timings:
    samples: Dict[str, List[float]] = field(default_factory=dict)  # seconds per kind
    mismatches: List[str] = field(default_factory=list)  # "text: expected -> got"

    def add(self, kind: str, seconds: float) -> None:
        self.samples.setdefault(kind, []).append(seconds)

    def ms(self, kind: str, q: float) -> float:
        return percentile(self.samples.get(kind, []), q) * 1000

    def count(self, kind: str) -> int:
        return len(self.samples.get(kind, []))


class Rasa:
    """A synchronous client of one Rasa server (REST channel and HTTP API)."""

    def __init__(self, url: str, token: str, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, sender: str, text: str) -> List[Dict[str, Any]]:
        r = self.http.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                           timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def tracker(self, sender: str) -> Dict[str, Any]:
        r = self.http.get(f"{self.url}/conversations/{sender}/tracker", params={"token": self.token},
                          timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def domain(self) -> Dict[str, Any]:
        r = self.http.get(f"{self.url}/domain", params={"token": self.token},
                          headers={"Accept": "application/json"}, timeout=self.timeout)
        r.raise_for_status()
        return r.json()


def sequential(rasa: Rasa, conversations: int, warmup: int = 2) -> Tuple[Timings, List[Dict[str, Any]]]:
    """Each conversation of CONVERSATION in turn, one message at a time. Also times the
    tracker read after each guide turn ("tracker"). Returns the timings and the trackers
    of the guide turns (for :func:`action_server_direct`)."""
    timings = Timings()
    guide_trackers: List[Dict[str, Any]] = []
    for c in range(warmup + conversations):
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        for text, expected in CONVERSATION:
            t = time.perf_counter()
            messages = rasa.send(sender, text)
            elapsed = time.perf_counter() - t
            got = reply_kind(messages)
            if c < warmup:
                continue
            if got != expected:
                timings.mismatches.append(f"{text}: {expected} -> {got}")
                continue
            timings.add(expected, elapsed)
            if expected == "guide":
                t = time.perf_counter()
                tracker = rasa.tracker(sender)
                timings.add("tracker", time.perf_counter() - t)
                if len(guide_trackers) < 20:
                    guide_trackers.append(tracker)
    return timings, guide_trackers


def action_server_direct(action_url: str, secret_header: str, secret: str, domain: Dict[str, Any],
                         trackers: List[Dict[str, Any]], rounds: int = 3) -> List[float]:
    """Seconds per POST of a real action call (a guide turn's tracker, the domain) straight
    to the action server: its share of a guide turn, without Rasa."""
    import rasa_sdk

    http = requests.Session()
    headers = {secret_header: secret} if secret else {}
    out = []
    for _ in range(rounds):
        for tracker in trackers:
            body = {"next_action": "action_service_guide", "sender_id": tracker.get("sender_id"),
                    "tracker": tracker, "domain": domain, "version": rasa_sdk.__version__}
            t = time.perf_counter()
            r = http.post(f"{action_url.rstrip('/')}/webhook", json=body, headers=headers, timeout=30)
            out.append(time.perf_counter() - t)
            r.raise_for_status()
    return out


@dataclass
class Load:
    conversations: int
    turns: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


async def concurrent(url: str, conversations: int, timeout: float = 60.0) -> Load:
    """``conversations`` conversations of CONVERSATION at once, each message sent when the
    previous reply has arrived; errors are turns without a reply (HTTP error, timeout, none)."""
    from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

    load = Load(conversations)
    endpoint = f"{url.rstrip('/')}/webhooks/rest/webhook"

    async def conversation(session) -> None:
        sender = f"load-{uuid.uuid4().hex[:10]}"
        for text, _ in CONVERSATION:
            t = time.perf_counter()
            try:
                async with session.post(endpoint, json={"sender": sender, "message": text}) as resp:
                    body = await resp.json() if resp.status == 200 else None
            except (ClientError, asyncio.TimeoutError, ValueError):
                body = None
            load.latencies.append(time.perf_counter() - t)
            load.turns += 1
            if not body:
                load.errors += 1

    connector = TCPConnector(limit=conversations + 5)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=timeout)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(conversation(session) for _ in range(conversations)))
        load.seconds = time.perf_counter() - t0
    return load


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants; 0 when it is gone."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class RssSampler:
    """Samples :func:`tree_rss` of some processes in a thread; ``peak[name]`` in bytes."""

    def __init__(self, pids: Dict[str, int], interval: float = 0.5):
        self.pids = pids
        self.interval = interval
        self.peak: Dict[str, int] = {name: 0 for name in pids}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def sample(self) -> Dict[str, int]:
        now = {name: tree_rss(pid) for name, pid in self.pids.items()}
        for name, rss in now.items():
            self.peak[name] = max(self.peak[name], rss)
        return now

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()


def mean_ms(values: Sequence[float]) -> float:
    return statistics.mean(values) * 1000 if values else float("nan")
