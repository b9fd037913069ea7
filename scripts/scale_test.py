"""`make test-scale`: production mode on loopback under load, with a Rasa replica killed.

Starts production mode (``bot.production``) with two Rasa replicas, two action servers
and two web processes behind nginx, on a PostgreSQL database of its own (created and
dropped here, unique name) and a Redis DB number and key prefix of its own. Then
``--conversations`` citizens (100) talk at the same time through nginx's web chat API
(``POST /api/chat``, each with its own cookie and client address), 5 to 10 turns each;
a fifth of them book a marriage registration with the guided booking form, and each
citizen reads a reply for 6 to 18 s before the next message. When half of all turns are
done, one Rasa replica is killed (SIGKILL).

Passes when every conversation got an answer to every turn (``ok``, with messages),
each conversation's tracker holds exactly its messages in the order sent (none lost,
none run twice), every booking conversation got its confirmation, and the database
holds exactly one booking per booking conversation. Writes reports/scale.md
(throughput, p50/p95, errors, the gateway's retries) and exits 1 on failure.

    .venv/bin/python scripts/scale_test.py [--conversations 100] [--no-kill] [--keep]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.production import SENDER_HEADER, Production, ProductionConfig  # noqa: E402

PG_ADMIN = os.environ.get("MINZHENG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MINZHENG_TEST_REDIS", "127.0.0.1:6379")
REDIS_DB = int(os.environ.get("MINZHENG_SCALE_REDIS_DB", "11"))
OFFICE = "zhejiang-hangzhou-xihu-marriage"
REPORT = ROOT / "reports" / "scale.md"

# questions of the guide conversations (each conversation takes 5-9 of them, then 谢谢)
QUESTIONS = [
    "结婚登记要带什么材料", "杭州", "在哪里办", "办理时间是什么时候", "要收费吗", "离婚登记怎么办",
    "高龄津贴怎么申请", "我爸今年85岁", "低保怎么申请", "残疾人两项补贴", "临时救助", "补领结婚证",
    "养老补贴", "家里老人去世了要办什么", "丧葬补助", "收养登记", "特困供养", "流浪乞讨人员救助",
]


@dataclass
class Conversation:
    n: int
    turns: List[str]
    booking: Optional[Dict[str, str]] = None
    sender: Optional[str] = None
    replies: List[dict] = field(default_factory=list)
    latencies: List[float] = field(default_factory=list)
    ended_at: List[float] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)


def free_base() -> int:
    """A base port with 80 free ports above it (the production layout's internal ports),
    below Linux's ephemeral range (32768 up), so that no outgoing connection of the
    starting processes can take one of them between this check and their bind."""
    for _ in range(50):
        base = random.randrange(20000, 32768 - 80)
        ok = True
        for port in range(base, base + 80):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise SystemExit("no free port range")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def plan(count: int, db_url: str, seed: int) -> List[Conversation]:
    """A fifth book a registration (each a different free slot and phone); the rest ask."""
    from bot.booking import BookingService

    rng = random.Random(seed)
    slots = [(d.day, s.start) for d in BookingService(db_url).availability(OFFICE, "marriage", days=20)
             for s in d.slots for _ in range(s.free)]
    rng.shuffle(slots)
    bookings = min(count // 5, len(slots))
    out = []
    for n in range(count):
        if n < bookings:
            day, start = slots[n]
            phone = f"1390000{n:04d}"
            name = "张" + "一二三四五六七八九十"[n % 10] + "丰"
            turns = ["帮我预约结婚登记", "西湖区", "杭州市西湖区婚姻登记处", "1998年3月2日", "2000年5月1日",
                     f"{day.month}月{day.day}日", start, name, phone, "确认"]
            out.append(Conversation(n, turns, booking={"phone": phone, "day": day.isoformat(), "start": start}))
        else:
            k = rng.randint(4, 9)
            out.append(Conversation(n, rng.sample(QUESTIONS, k) + ["谢谢"]))
    rng.shuffle(out)
    return out


async def talk(conv: Conversation, url: str, progress: Dict[str, int], kill_at: int, killed: asyncio.Event,
               rng: random.Random, args_think=(3.0, 8.0)) -> None:
    import aiohttp

    address = f"10.77.{conv.n // 250}.{conv.n % 250 + 1}"  # each citizen its own address (via nginx)
    jar = aiohttp.CookieJar(unsafe=True)  # the cookie of a site at an IP address (127.0.0.1)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90), cookie_jar=jar) as http:
        await asyncio.sleep(rng.uniform(0, args_think[1]))  # not all at the same second
        for text in conv.turns:
            t0 = time.monotonic()
            try:
                async with http.post(f"{url}api/chat", json={"text": text},
                                     headers={"X-Forwarded-For": address}) as resp:
                    body = await resp.json()
                    status = resp.status
            except Exception as exc:  # noqa: BLE001 - recorded as this turn's error
                body, status = {"ok": False, "error": type(exc).__name__}, 0
            conv.latencies.append(time.monotonic() - t0)
            conv.ended_at.append(time.monotonic())
            if status != 200 or not body.get("ok") or not body.get("messages"):
                conv.errors.append(f"turn {len(conv.replies) + 1} {text!r}: HTTP {status} {body.get('error', '')}"
                                   f"{' (unavailable)' if body.get('retry') else ''}")
            conv.replies.append(body)
            progress["done"] += 1
            if progress["done"] >= kill_at and not killed.is_set():
                killed.set()
            if conv.sender is None:
                for cookie in http.cookie_jar:
                    if cookie.key == "minzheng_chat":
                        conv.sender = "web-" + cookie.value.split(".")[0]
            await asyncio.sleep(rng.uniform(args_think[0], args_think[1]))  # reading the answer


def user_texts(tracker: dict) -> List[str]:
    return [ev.get("text") for ev in tracker.get("events") or [] if ev.get("event") == "user"]


async def run(args) -> int:
    import redis as redis_lib
    from sqlalchemy import create_engine, text

    from bot.stack import latest_model

    model = Path(args.model) if args.model else latest_model()
    if model is None:
        print("no trained model in models/: run `make train`", file=sys.stderr)
        return 1
    tag = secrets.token_hex(4)
    db_name = f"minzheng_scale_{tag}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db_name}"'))
    db_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db_name}"
    rhost, rport = REDIS.split(":")
    prefix = f"scale{tag}"
    listen = free_port()
    env = {"MINZHENG_DB_URL": db_url, "MINZHENG_REDIS_URL": f"redis://{rhost}:{rport}/{REDIS_DB}",
           "MINZHENG_REDIS_PREFIX": prefix, "RASA_TOKEN": secrets.token_urlsafe(24),
           "MINZHENG_ACTION_SECRET": secrets.token_urlsafe(24), "MINZHENG_CLIENT_SECRET": secrets.token_urlsafe(24),
           "MINZHENG_RASA_REPLICAS": "2", "MINZHENG_ACTION_REPLICAS": "2", "MINZHENG_WEB_REPLICAS": "2",
           "MINZHENG_LISTEN": f"127.0.0.1:{listen}", "MINZHENG_PORT_BASE": str(free_base())}
    config = ProductionConfig.from_env(env)
    run_dir = ROOT / "var" / f"scale-{tag}"
    prod = Production(config, model, run_dir=run_dir)
    failures: List[str] = []
    t_start = time.monotonic()
    try:
        print(f"starting production mode ({db_name}, redis db {REDIS_DB} prefix {prefix}, logs {run_dir}/log)...",
              flush=True)
        prod.start(timeout=600)
        t_ready = time.monotonic()
        print(f"ready after {t_ready - t_start:.0f}s", flush=True)
        convs = plan(args.conversations, db_url, args.seed)
        total = sum(len(c.turns) for c in convs)
        progress = {"done": 0}
        killed = asyncio.Event()
        kill_at = total // 2 if not args.no_kill else total + 1
        victim = {"name": None, "at": None, "done": None}

        async def killer() -> None:
            await killed.wait()
            if args.no_kill:
                return
            victim.update(name="rasa-1", at=time.monotonic(), done=progress["done"])
            await asyncio.to_thread(prod.kill, "rasa-1")
            print(f"killed rasa-1 after {progress['done']} of {total} turns", flush=True)

        rng = random.Random(args.seed)
        t0 = time.monotonic()
        kill_task = asyncio.create_task(killer())
        await asyncio.gather(*(talk(c, prod.url, progress, kill_at, killed, random.Random(rng.random()),
                                    (args.think_min, args.think_max)) for c in convs))
        wall = time.monotonic() - t0
        killed.set()
        await kill_task

        # -- checks ------------------------------------------------------------------------------
        import aiohttp

        rasa = prod.rasa_url
        async with aiohttp.ClientSession() as http:
            for c in convs:
                if c.errors:
                    failures.append(f"conversation {c.n}: " + "; ".join(c.errors))
                if c.sender is None:
                    failures.append(f"conversation {c.n}: no conversation cookie")
                    continue
                async with http.get(f"{rasa}/conversations/{c.sender}/tracker",
                                    params={"token": config.rasa_token}, headers={SENDER_HEADER: c.sender}) as r:
                    tracker = await r.json() if r.status == 200 else {}
                said = user_texts(tracker)
                if said != c.turns:
                    failures.append(f"conversation {c.n} ({c.sender}): tracker has {said}, sent {c.turns}")
                if c.booking is not None:
                    last = " ".join(m.get("text") or "" for m in c.replies[-1].get("messages") or [])
                    if "预约成功" not in last:
                        failures.append(f"conversation {c.n}: booking not confirmed: {last[:80]!r}")
        with create_engine(db_url).connect() as conn:
            rows = conn.execute(text("SELECT phone, count(*) FROM bookings GROUP BY phone")).all()
        booked = {phone: n for phone, n in rows}
        expected = {c.booking["phone"] for c in convs if c.booking}
        duplicated = {p: n for p, n in booked.items() if n > 1}
        if duplicated:
            failures.append(f"duplicated bookings: {duplicated}")
        if set(booked) != expected:
            failures.append(f"bookings for {sorted(set(booked) ^ expected)} missing or unexpected")

        logs = "".join((run_dir / "log" / f"{n}.log").read_text(errors="replace")
                       for n in prod.commands if n.startswith("web-"))
        retried = logs.count("turn sent again")
        from_tracker = logs.count("replies read from the tracker")
        latencies = [x for c in convs for x in c.latencies]
        after = [x for c in convs for x, end in zip(c.latencies, c.ended_at, strict=True)
                 if victim["at"] is not None and end >= victim["at"]]
        errors = sum(len(c.errors) for c in convs)
        figures = {
            "conversations": len(convs), "bookings": len(expected), "turns": len(latencies),
            "errors": errors, "retries": retried, "replies_from_tracker": from_tracker,
            "wall_s": round(wall, 1), "throughput": round(len(latencies) / wall, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000), "p95_ms": round(percentile(latencies, 95) * 1000),
            "max_ms": round(max(latencies) * 1000),
            "after_kill_p95_ms": round(percentile(after, 95) * 1000) if after else None,
            "killed": victim["name"], "killed_after_turns": victim["done"],
            "startup_s": round(t_ready - t_start), "total_s": None,
        }
        figures["total_s"] = round(time.monotonic() - t_start)
        write_report(figures, failures)
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        prod.stop()
        if not args.keep:
            try:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            except Exception as exc:  # noqa: BLE001 - say so, do not hide the result
                print(f"could not drop {db_name}: {exc}", file=sys.stderr)
            r = redis_lib.Redis(host=rhost, port=int(rport), db=REDIS_DB)
            keys = list(r.scan_iter(f"{prefix}*"))
            if keys:
                r.delete(*keys)
        admin.dispose()
    if failures:
        print(f"FAILED ({len(failures)}):\n  " + "\n  ".join(failures[:30]), file=sys.stderr)
        print(f"logs: {run_dir}/log", file=sys.stderr)
        return 1
    if not args.keep:
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"passed: {REPORT}")
    return 0


def write_report(f: dict, failures: List[str]) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    verdict = "passed" if not failures else f"FAILED ({len(failures)} problems)"
    lines = [
        "# Scale test (make test-scale)", "",
        f"Production mode on loopback (bot/production.py): nginx, 2 Rasa replicas (sender-hashed), 2 action "
        f"servers, 2 web processes; PostgreSQL tracker store and catalogue, Redis lock store. "
        f"{f['conversations']} concurrent conversations through nginx's web chat API, {f['bookings']} of them "
        f"booking with the guided form; {f['killed'] or 'no replica'} killed (SIGKILL) after "
        f"{f['killed_after_turns']} turns. Result: **{verdict}**.", "",
        "| figure | value |", "| --- | --- |",
        f"| turns | {f['turns']} |",
        f"| errors (a turn without an answer) | {f['errors']} |",
        f"| turns the gateway sent again (replica died) | {f['retries']} |",
        f"| turns whose replies were read from the tracker | {f['replies_from_tracker']} |",
        f"| load phase | {f['wall_s']} s |",
        f"| throughput | {f['throughput']} turns/s |",
        f"| latency p50 / p95 / max | {f['p50_ms']} / {f['p95_ms']} / {f['max_ms']} ms |",
        f"| p95 of turns ending after the kill | {f['after_kill_p95_ms']} ms |",
        f"| start-up (migrate + all processes ready) | {f['startup_s']} s |",
        f"| whole run | {f['total_s']} s |", "",
        "Checks: every turn answered; each conversation's tracker holds its messages exactly once, in "
        "order; every booking confirmed; one booking per booking conversation in the database.", "",
    ]
    if failures:
        lines += ["## Problems", ""] + [f"- {x}" for x in failures[:50]] + [""]
    REPORT.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--no-kill", action="store_true", help="do not kill a replica")
    parser.add_argument("--think-min", type=float, default=6.0, help="seconds a citizen reads a reply, at least")
    parser.add_argument("--think-max", type=float, default=18.0, help="... and at most")
    parser.add_argument("--model", help="model archive (default: the newest in models/)")
    parser.add_argument("--keep", action="store_true", help="keep the database and Redis keys (debugging)")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
