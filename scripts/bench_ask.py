"""Benchmark `python -m bot ask`: start-up time and per-question latency.

Sends N questions (default 200, cycling tests/nlu/heldout_questions.txt) through
the real servers and writes reports/bench.md.

    .venv/bin/python scripts/bench_ask.py [-n 200] [--url URL --token TOKEN]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ask import RasaClient, ask_lines  # noqa: E402
from bot.stack import Stack, free_port  # noqa: E402


class Timed(RasaClient):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.latencies = []

    def send(self, sender, message):
        t = time.perf_counter()
        out = super().send(sender, message)
        self.latencies.append(time.perf_counter() - t)
        return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--url")
    ap.add_argument("--token")
    args = ap.parse_args()
    questions = [q for q in (ROOT / "tests/nlu/heldout_questions.txt").read_text(encoding="utf-8").splitlines() if q]
    lines = [questions[i % len(questions)] for i in range(args.n)]
    stack = None
    t0 = time.perf_counter()
    if args.url:
        url, token = args.url, args.token
    else:
        stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=None, tracker_db=None).start()
        url, token = stack.rasa_url, stack.token
    startup = time.perf_counter() - t0
    try:
        client = Timed(url, token)
        t1 = time.perf_counter()
        ask_lines(client, lines, conversation=False, out=io.StringIO())
        total = time.perf_counter() - t1
    finally:
        if stack:
            stack.stop()
    lat = sorted(client.latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    report = (
        f"# `python -m bot ask` benchmark ({time.strftime('%Y-%m-%d')})\n\n"
        f"| measure | value |\n| --- | --- |\n"
        f"| questions | {len(lines)} |\n"
        f"| server start-up | {startup:.1f} s |\n"
        f"| total for all questions (after start-up) | {total:.1f} s |\n"
        f"| latency p50 / p95 / max (REST round trip) | {p(0.5):.0f} / {p(0.95):.0f} / {lat[-1] * 1000:.0f} ms |\n"
        f"| mean | {statistics.mean(lat) * 1000:.0f} ms |\n"
    )
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
