"""The reliability battery (``make reliability``), on loopback only; writes reports/reliability.md.

1. Fuzz: at least ``--inputs`` bad inputs per entry point, in-process against a fake
   Rasa (web chat API, feedback API, Telegram updates, console API, QR payloads,
   booking and status-lookup answers), then a sample of web chat inputs against the
   real stack. Pass: 0 server errors, 0 crashes, 0 lost messages.
2. Faults, with the real stack (trained model, action server, Rasa, web chat) on
   free ports, the catalogue in a PostgreSQL database of its own: the action server,
   Rasa and the database are each stopped in the middle of a booking and started
   again. Pass: the citizen gets the apology with the hotline, the booking made
   before is still there, and the booking in progress completes after the restart.
3. Load: ``--users`` concurrent web chat conversations of ``--turns`` turns for
   ``--seconds``. Pass: no errors; p50/p95 latency reported.

Exit status 1 when any criterion fails. ``--quick`` runs a few hundred inputs and
skips the real stack.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, ClientTimeout, CookieJar  # noqa: E402

from tests.fuzz_domain import fuzz_forms, fuzz_qr  # noqa: E402
from tests.fuzz_http import HOTLINE, WebEnv, chat_request, fuzz_console, fuzz_feedback, fuzz_web_chat  # noqa: E402
from tests.fuzz_inputs import Tally, failure_text  # noqa: E402
from tests.fuzz_telegram import fuzz_telegram  # noqa: E402

PG_ADMIN = os.environ.get("MINZHENG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MODEL = ROOT / "models" / "minzheng.tar.gz"
OFFICE = "zhejiang-hangzhou-xihu-marriage"
OFFICE_NAME = "杭州市西湖区婚姻登记处"


# ================================================================================ fuzz

async def fuzz_all(n: int, seed: int) -> List[Tally]:
    env = await WebEnv.start()
    try:
        tallies = [await fuzz_web_chat(env, n, seed + 1), await fuzz_feedback(env, n, seed + 2),
                   await fuzz_console(env, n, seed + 3)]
        tallies.append(await fuzz_telegram(env.db_url, n, seed + 4, entries=env.entries))
        tallies.append(await asyncio.to_thread(fuzz_qr, env.db_url, n, seed + 5, env.entries))
        tallies.append(await asyncio.to_thread(fuzz_forms, env.db_url, n, seed + 6))
    finally:
        await env.close()
    for t in tallies:
        print("  " + t.summary(), flush=True)
    return tallies


# ================================================================================ the real stack

class Databases:
    """Databases of our own on the local PostgreSQL server (never the shared one's data)."""

    def __init__(self, admin_url: str = PG_ADMIN):
        from bot.catalog.db import get_engine

        self.admin = get_engine(admin_url)
        self.base = admin_url.rsplit("/", 1)[0]
        self.names: List[str] = []

    def _run(self, sql: str) -> None:
        from sqlalchemy import text

        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(sql))

    def create(self) -> str:
        name = f"minzheng_rel_{uuid.uuid4().hex[:8]}"
        self._run(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return f"{self.base}/{name}"

    def block(self, name: str) -> None:
        """The database goes away for every client: no new connections, existing ones cut."""
        self._run(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        self._run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                  "AND pid <> pg_backend_pid()")

    def unblock(self, name: str) -> None:
        self._run(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

    def drop_all(self) -> None:
        for name in self.names:
            try:
                self.unblock(name)
                self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report, keep dropping the others
                print(f"  could not drop database {name}: {exc}", file=sys.stderr)


def load_catalogue(url: str) -> None:
    from bot.catalog.loader import load_content, write_catalog
    from bot.catalog.migrate import upgrade
    from bot.config import CONTENT_DIR
    from bot.status_lookup import load_samples

    upgrade(url)
    write_catalog(url, load_content(CONTENT_DIR))
    load_samples(url)


def start_stack(db_url: str, work: Path):
    from bot.stack import Stack, free_port

    stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=free_port(), model=MODEL,
                  token=uuid.uuid4().hex + uuid.uuid4().hex, tracker_db=work / "tracker.db", log_dir=work / "log",
                  env={"MINZHENG_DB_URL": db_url, "MINZHENG_TRUSTED_PROXIES": "127.0.0.1",
                       "MINZHENG_HOTLINE": HOTLINE, "RASA_TELEMETRY_ENABLED": "false"})
    return stack.start(timeout=300)


class Citizen:
    """One citizen at the web chat: a browser of their own (cookie jar), an address of their own."""

    def __init__(self, web_url: str, n: int):
        self.url = web_url.rstrip("/") + "/api/chat"
        self.sender = f"rel{uuid.uuid4().hex[:20]}"
        self.headers = {"X-Forwarded-For": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"}
        self.session = ClientSession(cookie_jar=CookieJar(unsafe=True), timeout=ClientTimeout(total=60))

    async def say(self, text: str) -> Dict[str, Any]:
        started = time.monotonic()
        async with self.session.post(self.url, json={"sender": self.sender, "text": text},
                                     headers=self.headers) as resp:
            status = resp.status
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                body = {}
        messages = body.get("messages") or [] if isinstance(body, dict) else []
        return {"status": status, "ok": isinstance(body, dict) and body.get("ok") is True,
                "text": "\n".join(m.get("text") or "" for m in messages), "messages": messages,
                "seconds": time.monotonic() - started}

    async def close(self) -> None:
        await self.session.close()


async def stack_sample(stack, n: int, seed: int) -> Tally:
    """Bad web chat inputs against the real servers (real Rasa, real actions)."""
    from aiohttp.test_utils import TestClient  # noqa: F401 - only for the type of the fake env

    from bot.channel_input import known_intents
    from tests.fuzz_http import TracebackCatcher, send

    rng = random.Random(seed)
    tally = Tally("web chat API (real stack)")
    env = type("Env", (), {"entries": ["hz-xihu-marriage"], "intents": sorted(known_intents())})()
    base = stack.web_url.rstrip("/")

    class Client:  # what tests.fuzz_http.send needs of a client
        def __init__(self):
            self.session = ClientSession(cookie_jar=CookieJar(unsafe=True), timeout=ClientTimeout(total=60))

        def request(self, method, path, **kw):
            return self.session.request(method, base + path, **kw)

    client = Client()
    started = time.monotonic()
    try:
        sem = asyncio.Semaphore(4)

        async def one(req):
            async with sem:
                client.session.cookie_jar.clear()
                await send(client, req, tally, "web chat API (real stack)", TracebackCatcher())

        await asyncio.gather(*(one(chat_request(rng, env)) for _ in range(n)))
    finally:
        await client.session.close()
    tally.seconds = time.monotonic() - started
    print("  " + tally.summary(), flush=True)
    return tally


# ================================================================================ faults

@dataclass
class Fault:
    name: str
    apology: bool = False  # the citizen got the apology with the hotline
    kept: bool = False  # the booking made before the fault is still there
    continued: bool = False  # the booking in progress completed after the restart
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.apology and self.kept and self.continued


def booking_script(db_url: str) -> List[str]:
    from bot.booking import BookingService

    free = BookingService(db_url).availability(OFFICE, "marriage", days=10)
    day = next(d for d in free if d.free > 0)
    start = next(s.start for s in day.slots if s.free > 0)
    return ["帮我预约结婚登记", "西湖区", OFFICE_NAME, "1998年3月2日", "2000年5月1日",
            f"{day.day.month}月{day.day.day}日", start, "张三", "13800131234", "确认"]


def _code(text: str) -> Optional[str]:
    return text.split("确认码：", 1)[1][:8] if "确认码：" in text else None


async def book(citizen: Citizen, script: List[str], notes: List[str]) -> Optional[str]:
    reply = {}
    for line in script:
        reply = await citizen.say(line)
    if "预约成功" not in reply.get("text", ""):
        notes.append(f"booking did not complete: {reply.get('text', '')[:200]!r}")
        return None
    return _code(reply["text"])


async def fault_run(stack, dbs: Databases, db_name: str, db_url: str, name: str, stop, start, kept_code: str,
                    at: int = 2) -> Fault:
    """Start a booking, break something before answer ``at``, check the apology, repair, answer
    again and finish the booking."""
    from bot.booking import BookingService

    fault = Fault(name)
    script = booking_script(db_url)
    citizen = Citizen(stack.web_url, random.randrange(1, 2**24))
    try:
        for line in script[:at]:
            r = await citizen.say(line)
            if r["status"] != 200 or not r["ok"]:
                fault.notes.append(f"before the fault, {line!r} got {r['status']} {r['text'][:120]!r}")
        await asyncio.to_thread(stop)
        r = await citizen.say(script[at])
        fault.apology = r["status"] == 200 and HOTLINE in r["text"]
        fault.notes.append(f"during the fault: HTTP {r['status']}, ok={r['ok']}, {r['text'][:160]!r}")
        await asyncio.to_thread(start)
        rest = script[at:]
        code = await book(citizen, rest, fault.notes)
        fault.continued = code is not None
        if code:
            fault.notes.append(f"booking {code} completed after the restart")
    finally:
        await citizen.close()
    fault.kept = await asyncio.to_thread(lambda: BookingService(db_url).find(kept_code, "1234") is not None)
    return fault


async def faults(stack, dbs: Databases, db_name: str, db_url: str) -> List[Fault]:
    first = Citizen(stack.web_url, 1)
    notes: List[str] = []
    try:
        kept = await book(first, booking_script(db_url), notes)
    finally:
        await first.close()
    if kept is None:
        return [Fault("booking before the faults", notes=notes)]
    print(f"  booking {kept} made before the faults", flush=True)
    out = []
    for name, stop, start, at in (
        ("action server", lambda: stack.stop_process("actions"), lambda: stack.start_process("actions"), 2),
        ("Rasa", lambda: stack.stop_process("rasa"), lambda: stack.start_process("rasa", 300), 3),
        ("database", lambda: dbs.block(db_name), lambda: dbs.unblock(db_name), 2),
    ):
        result = await fault_run(stack, dbs, db_name, db_url, name, stop, start, kept, at)
        print(f"  fault {name}: apology={result.apology} kept={result.kept} continued={result.continued}", flush=True)
        out.append(result)
    return out


# ================================================================================ load

LOAD_SCRIPTS = (
    ("你好", "低保怎么申请", "杭州", "需要什么材料", "结婚登记要带什么材料", "离婚需要什么手续", "结婚证丢了怎么补办",
     "高龄津贴怎么领", "谢谢", "再见"),
    ("帮我查一下办件进度", "HZ2026110001", "1234", "老人去世了要办哪些手续", "海葬有补贴吗", "临时救助找谁", "杭州",
     "你能做什么", "养老院补贴", "谢谢"),
    ("帮我测算一下老人能领什么养老补贴", "87岁", "杭州", "是杭州户口", "都不是", "基本上卧床了", "低保怎么申请",
     "西湖区", "需要什么材料", "再见"),
)


@dataclass
class Load:
    users: int
    turns: int
    seconds: float
    latencies: List[float] = field(default_factory=list)
    conversations: int = 0
    errors: int = 0
    error_examples: List[str] = field(default_factory=list)

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    @property
    def ok(self) -> bool:
        return self.errors == 0 and bool(self.latencies)


async def load(stack, users: int, turns: int, seconds: float) -> Load:
    result = Load(users, turns, seconds)
    deadline = time.monotonic() + seconds
    counter = iter(range(100, 10**7))

    async def user(u: int) -> None:
        while time.monotonic() < deadline:
            script = LOAD_SCRIPTS[(u + result.conversations) % len(LOAD_SCRIPTS)]
            citizen = Citizen(stack.web_url, next(counter))
            result.conversations += 1
            try:
                for line in script[:turns]:
                    try:
                        r = await citizen.say(line)
                    except Exception as exc:  # noqa: BLE001
                        r = {"status": type(exc).__name__, "ok": False, "text": "", "seconds": 0.0}
                    if r["status"] != 200 or not r["ok"] or not r["text"].strip():
                        result.errors += 1
                        if len(result.error_examples) < 5:
                            result.error_examples.append(
                                f"{line!r}: HTTP {r['status']} ok={r['ok']} {r['text'][:100]!r}")
                    else:
                        result.latencies.append(r["seconds"])
                    if time.monotonic() >= deadline:
                        break
            finally:
                await citizen.close()

    await asyncio.gather(*(user(u) for u in range(users)))
    return result


# ================================================================================ report

def report(path: Path, args, fuzz: List[Tally], sample: Optional[Tally], fault_results: List[Fault],
           load_result: Optional[Load], stack_note: str, took: float) -> bool:
    lines = ["# Reliability battery", "", f"`{' '.join(['python', 'scripts/reliability.py', *sys.argv[1:]])}` "
             f"(seed {args.seed}), {time.strftime('%Y-%m-%d %H:%M')}, {took / 60:.1f} minutes.", "",
             "## Fuzz", "", "| entry point | inputs | valid messages | replied | server errors | crashes | lost | "
             "throttled (429) | seconds | result |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    tallies = fuzz + ([sample] if sample else [])
    for t in tallies:
        lines.append(f"| {t.name} | {t.inputs} | {t.valid} | {t.replied} | {t.server_errors} | {t.crashes} | "
                     f"{t.lost} | {t.throttled} | {t.seconds:.1f} | {'pass' if t.ok else 'FAIL'} |")
    lines += ["", "Answers seen:", ""]
    for t in tallies:
        lines.append(f"- {t.name}: " + ", ".join(f"{k}: {v}" for k, v in sorted(t.statuses.items(), key=str)))
    failures = failure_text(tallies)
    if failures:
        lines += ["", "### Failures (first examples)", "", "```", failures, "```"]
    lines += ["", "## Faults", ""]
    if stack_note:
        lines.append(stack_note)
    if fault_results:
        lines += ["| stopped | apology with hotline | booking made before kept | booking in progress completed | "
                  "result |", "|---|---|---|---|---|"]
        for f in fault_results:
            lines.append(f"| {f.name} | {f.apology} | {f.kept} | {f.continued} | {'pass' if f.ok else 'FAIL'} |")
        for f in fault_results:
            lines += ["", f"- {f.name}: " + "; ".join(f.notes)]
    lines += ["", "## Load", ""]
    if load_result:
        lat = load_result.latencies
        lines += [f"{load_result.users} concurrent conversations of {load_result.turns} turns for "
                  f"{load_result.seconds:.0f} s through the web chat of the real stack:", "",
                  "| conversations | turns answered | errors | p50 | p95 | max | turns/s | result |",
                  "|---:|---:|---:|---:|---:|---:|---:|---|",
                  f"| {load_result.conversations} | {len(lat)} | {load_result.errors} | {load_result.pct(50):.2f} s | "
                  f"{load_result.pct(95):.2f} s | {max(lat or [0]):.2f} s | {len(lat) / load_result.seconds:.1f} | "
                  f"{'pass' if load_result.ok else 'FAIL'} |"]
        lines += [f"- {e}" for e in load_result.error_examples]
        if lat:
            lines.append(f"\nMean {statistics.mean(lat):.2f} s.")
    else:
        lines.append(stack_note or "not run")
    ok = (all(t.ok for t in tallies) and all(f.ok for f in fault_results)
          and (load_result is None or load_result.ok) and not (args.require_stack and stack_note))
    lines += ["", f"**Overall: {'pass' if ok else 'FAIL'}**", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    (path.with_suffix(".json")).write_text(json.dumps({
        "fuzz": [t.as_dict() for t in tallies], "faults": [f.__dict__ | {"ok": f.ok} for f in fault_results],
        "load": None if load_result is None else {"users": load_result.users, "turns": load_result.turns,
                                                  "seconds": load_result.seconds, "errors": load_result.errors,
                                                  "answered": len(load_result.latencies),
                                                  "p50": load_result.pct(50), "p95": load_result.pct(95)},
        "ok": ok}, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return ok


async def stack_phases(args) -> tuple:
    if not MODEL.exists():
        return None, [], None, f"Not run: {MODEL.relative_to(ROOT)} is missing (`make train`)."
    dbs = Databases()
    work = Path(tempfile.mkdtemp(prefix="minzheng-reliability-"))
    stack = None
    try:
        db_url = dbs.create()
        db_name = db_url.rsplit("/", 1)[1]
        await asyncio.to_thread(load_catalogue, db_url)
        print("starting the real stack (about a minute)...", flush=True)
        stack = await asyncio.to_thread(start_stack, db_url, work)
        print("sample of bad inputs against the real stack...", flush=True)
        sample = await stack_sample(stack, args.stack_inputs, args.seed + 7)
        print("faults...", flush=True)
        fault_results = await faults(stack, dbs, db_name, db_url)
        print(f"load: {args.users} conversations for {args.seconds:.0f} s...", flush=True)
        load_result = await load(stack, args.users, args.turns, args.seconds)
        print(f"  {len(load_result.latencies)} turns, {load_result.errors} errors, p50 {load_result.pct(50):.2f} s, "
              f"p95 {load_result.pct(95):.2f} s", flush=True)
        return sample, fault_results, load_result, ""
    except Exception as exc:  # noqa: BLE001 - the report says what went wrong
        traceback.print_exc()
        return None, [Fault(f"real stack ({type(exc).__name__}: {exc})")], None, f"Failed: {exc} (logs in {work}/log)"
    finally:
        if stack is not None:
            await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(dbs.drop_all)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", type=int, default=10_000, help="fuzz inputs per entry point (default 10000)")
    p.add_argument("--stack-inputs", type=int, default=300, help="bad inputs against the real stack (default 300)")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--turns", type=int, default=10)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--quick", action="store_true", help="300 inputs per entry point, no real stack")
    p.add_argument("--no-stack", action="store_true", help="fuzz only")
    p.add_argument("--report", type=Path, default=ROOT / "reports" / "reliability.md")
    args = p.parse_args(argv)
    if args.quick:
        args.inputs, args.no_stack = 300, True
    args.require_stack = not args.no_stack
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.basicConfig(level=logging.CRITICAL)
    for handler in logging.getLogger().handlers:  # tracebacks go into the report, not the terminal
        handler.setLevel(logging.CRITICAL)
    started = time.monotonic()
    print(f"fuzz: {args.inputs} inputs per entry point...", flush=True)
    fuzz = asyncio.run(fuzz_all(args.inputs, args.seed))
    sample, fault_results, load_result, note = (None, [], None, "Not run (--no-stack).") if args.no_stack \
        else asyncio.run(stack_phases(args))
    ok = report(args.report, args, fuzz, sample, fault_results, load_result, note, time.monotonic() - started)
    print(f"{'PASS' if ok else 'FAIL'}: report in {args.report}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
