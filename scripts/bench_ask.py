"""`make bench`: start-up, memory, turn latency and throughput of the Rasa stack.

Starts the action server and the Rasa server (the trained model in models/, the SQLite
catalogue, an in-memory tracker store) on free ports and measures, in one run:

* start-up: each server from spawn to answering HTTP (Rasa: with the model loaded);
* the Rasa server's resident memory (the process and its children, psutil), after
  start-up and at its peak during the run; the action server's too;
* bare turns (a response template) and guide turns (``action_service_guide``) one at a
  time: p50 / p95 and the ratio of the p50s; the tracker read the web gateway makes after
  each turn; the action server answering a guide turn's action call posted directly;
* throughput with 20 and 100 concurrent conversations (6 turns each);
* the 200 held-out questions through ``python -m bot ask`` (the earlier benchmark).

Writes reports/bench.md and reports/bench.json. About three minutes on 2 cores.

    .venv/bin/python scripts/bench_ask.py [-n 200] [--conversations 40] [--concurrency 20 100]
        [--env NAME=VALUE ...] [--unpatched] [--model PATH] [--url URL --token TOKEN]
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_turns import (  # noqa: E402
    RssSampler, Rasa, action_server_direct, concurrent, mean_ms, percentile, sequential, tree_rss,
)
from bot.ask import RasaClient, ask_lines  # noqa: E402
from bot.config import VAR_DIR  # noqa: E402
from bot.stack import ACTION_SECRET_HEADER, Stack, free_port  # noqa: E402

GUIDE_TARGET = 2.0  # guide turn p50 at most this many times a bare turn's (issue 18)
RSS_TARGET = 1.2e9  # bytes, the Rasa server with its children
# the Rasa server through actions.rasa_patches (the action-response check built once)
PATCHED_RASA_MODULE = "actions.rasa_patches"


class TimedStack(Stack):
    """A Stack that records when each server was spawned and when it first answered."""

    def __init__(self, *a, rasa_module: Optional[str] = None, **kw):
        super().__init__(*a, **kw)
        self.rasa_module = rasa_module
        self.spawned: Dict[str, float] = {}
        self.ready: Dict[str, float] = {}

    def _prepare(self, model: Path) -> None:
        super()._prepare(model)
        cmd = self.commands["rasa"]
        if self.rasa_module and "bot.rasa_server" in cmd:
            cmd[cmd.index("bot.rasa_server")] = self.rasa_module

    def _spawn(self, name: str):
        self.spawned[name] = time.perf_counter()
        return super()._spawn(name)

    def wait_ready(self, timeout: float, names: Optional[List[str]] = None) -> None:
        names = [n for n in (names or list(self.running)) if n in self.running and self.health_url(n)]
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            for name, proc in self.running.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"the {name} server exited early; see {self.log_dir}/{name}.log")
            for name in sorted(pending):
                try:
                    if requests.get(self.health_url(name), timeout=2).ok:
                        self.ready[name] = time.perf_counter()
                        pending.discard(name)
                except requests.RequestException:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{', '.join(sorted(pending))} not ready after {timeout:.0f}s")
            time.sleep(0.2)

    def startup(self, name: str) -> Optional[float]:
        if name in self.spawned and name in self.ready:
            return self.ready[name] - self.spawned[name]
        return None


def parse_env(pairs: List[str]) -> Dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--env takes NAME=VALUE, not {pair!r}")
        env[name] = value
    return env


def ask_run(url: str, token: str, n: int) -> Dict[str, Any]:
    """The earlier benchmark: n held-out questions through `python -m bot ask`'s client."""

    class Timed(RasaClient):
        latencies: List[float] = []

        def send(self, sender, message):
            t = time.perf_counter()
            out = super().send(sender, message)
            self.latencies.append(time.perf_counter() - t)
            return out

    questions = [q for q in (ROOT / "tests/nlu/heldout_questions.txt").read_text(encoding="utf-8").splitlines() if q]
    lines = [questions[i % len(questions)] for i in range(n)]
    client = Timed(url, token)
    client.latencies = []
    t = time.perf_counter()
    ask_lines(client, lines, conversation=False, out=io.StringIO())
    lat = client.latencies
    return {"questions": n, "seconds": time.perf_counter() - t, "p50_ms": percentile(lat, 0.5) * 1000,
            "p95_ms": percentile(lat, 0.95) * 1000, "max_ms": max(lat) * 1000 if lat else float("nan"),
            "mean_ms": mean_ms(lat)}


def model_info(model: Optional[Path] = None) -> Dict[str, Any]:
    from bot.stack import latest_model

    model = model or latest_model()
    pipeline = []
    try:
        import yaml

        config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
        pipeline = [c.get("name", "?").rsplit(".", 1)[-1] for c in config.get("pipeline") or []]
    except (OSError, ValueError, AttributeError):
        pass
    return {"model": model.name if model else None, "model_mb": model.stat().st_size / 1e6 if model else None,
            "pipeline": pipeline}


def measure(args, rasa_url: str, token: str, stack: Optional[TimedStack]) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    pids = {}
    if stack:
        pids = {name: stack.running[name].pid for name in ("rasa", "actions") if name in stack.running}
        result["startup_s"] = {name: stack.startup(name) for name in ("rasa", "actions")}
        result["rss_ready"] = {name: tree_rss(pid) for name, pid in pids.items()}
    rasa = Rasa(rasa_url, token)
    with RssSampler(pids) as sampler:
        seq, trackers = sequential(rasa, args.conversations)
        result["turns"] = {kind: {"n": seq.count(kind), "p50_ms": seq.ms(kind, 0.5), "p95_ms": seq.ms(kind, 0.95)}
                           for kind in ("bare", "guide", "tracker")}
        result["mismatches"] = seq.mismatches
        result["ratio"] = seq.ms("guide", 0.5) / seq.ms("bare", 0.5) if seq.count("bare") else float("nan")
        if stack and trackers:
            direct = action_server_direct(stack.action_url, ACTION_SECRET_HEADER, stack.action_secret,
                                          rasa.domain(), trackers)
            result["action_server_direct"] = {"n": len(direct), "p50_ms": percentile(direct, 0.5) * 1000,
                                              "p95_ms": percentile(direct, 0.95) * 1000}
        result["load"] = []
        for c in args.concurrency:
            load = asyncio.run(concurrent(rasa_url, c))
            result["load"].append({"conversations": c, "turns": load.turns, "errors": load.errors,
                                   "seconds": load.seconds, "throughput": load.throughput,
                                   "p50_ms": load.ms(0.5), "p95_ms": load.ms(0.95)})
        if args.n:
            result["ask"] = ask_run(rasa_url, token, args.n)
    result["rss_peak"] = dict(sampler.peak)
    return result


def fmt(value: Optional[float], spec: str = ".0f", unit: str = "") -> str:
    if value is None or value != value:  # None or nan
        return "n/a"
    return f"{value:{spec}}{unit}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(r: Dict[str, Any]) -> str:
    t = r["turns"]
    lines = [
        f"# `make bench` ({r['date']})",
        "",
        f"Model `{r['model']['model']}` ({fmt(r['model']['model_mb'], '.1f', ' MB')}), pipeline "
        f"{' → '.join(r['model']['pipeline']) or 'n/a'}; Rasa run as `{r['rasa_module']}`; "
        f"environment {', '.join(f'`{k}={v}`' for k, v in r['env'].items()) or '(nothing added)'}; "
        f"{os.cpu_count()} CPUs.",
        "",
        "## Targets (issue 18)",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| guide turn p50 ≤ {GUIDE_TARGET:g} × bare turn p50 | {fmt(r['ratio'], '.2f')} × "
        f"({fmt(t['guide']['p50_ms'], '.1f')} / {fmt(t['bare']['p50_ms'], '.1f')} ms) | "
        f"{verdict(r['ratio'] <= GUIDE_TARGET)} |",
    ]
    if "rss_peak" in r and r["rss_peak"].get("rasa"):
        peak = r["rss_peak"]["rasa"]
        lines.append(f"| Rasa server ≤ {RSS_TARGET / 1e9:.1f} GB resident (peak, with children) | "
                     f"{peak / 1e9:.2f} GB | {verdict(peak <= RSS_TARGET)} |")
    lines += ["", "## Start-up and memory", "", "| server | spawn → ready | RSS after start-up | RSS peak |",
              "| --- | --- | --- | --- |"]
    for name in ("rasa", "actions"):
        start = (r.get("startup_s") or {}).get(name)
        ready = (r.get("rss_ready") or {}).get(name)
        peak = (r.get("rss_peak") or {}).get(name)
        lines.append(f"| {name} | {fmt(start, '.1f', ' s')} | {fmt(ready and ready / 1e6, '.0f', ' MB')} | "
                     f"{fmt(peak and peak / 1e6, '.0f', ' MB')} |")
    lines += ["", "## Turns one at a time", "", "| turn | n | p50 | p95 |", "| --- | --- | --- | --- |"]
    labels = {"bare": "bare (response template)", "guide": "guide (action_service_guide)",
              "tracker": "tracker read after a guide turn (GET /conversations/…/tracker)"}
    for kind, label in labels.items():
        lines.append(f"| {label} | {t[kind]['n']} | {fmt(t[kind]['p50_ms'], '.1f', ' ms')} | "
                     f"{fmt(t[kind]['p95_ms'], '.1f', ' ms')} |")
    if "action_server_direct" in r:
        d = r["action_server_direct"]
        lines.append(f"| action server alone (a guide turn's call POSTed to /webhook) | {d['n']} | "
                     f"{fmt(d['p50_ms'], '.1f', ' ms')} | {fmt(d['p95_ms'], '.1f', ' ms')} |")
    if r["mismatches"]:
        lines += ["", f"{len(r['mismatches'])} turns were answered otherwise than expected and left out: "
                  + "; ".join(sorted(set(r["mismatches"])))]
    lines += ["", "## Concurrent conversations (6 turns each, one Rasa process)", "",
              "| conversations | turns | errors | wall time | throughput | p50 | p95 |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for load in r["load"]:
        lines.append(f"| {load['conversations']} | {load['turns']} | {load['errors']} | {load['seconds']:.1f} s | "
                     f"{load['throughput']:.1f} turns/s | {fmt(load['p50_ms'], '.0f', ' ms')} | "
                     f"{fmt(load['p95_ms'], '.0f', ' ms')} |")
    if "ask" in r:
        a = r["ask"]
        lines += ["", "## `python -m bot ask` (held-out questions, each a new conversation)", "",
                  "| questions | total | p50 / p95 / max (REST round trip) | mean |", "| --- | --- | --- | --- |",
                  f"| {a['questions']} | {a['seconds']:.1f} s | {a['p50_ms']:.0f} / {a['p95_ms']:.0f} / "
                  f"{a['max_ms']:.0f} ms | {a['mean_ms']:.0f} ms |"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=200, help="held-out questions through `bot ask` (0: skip)")
    ap.add_argument("--conversations", type=int, default=40, help="conversations measured one turn at a time")
    ap.add_argument("--concurrency", type=int, nargs="*", default=[20, 100])
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the servers (repeatable)")
    ap.add_argument("--unpatched", action="store_true", help="plain bot.rasa_server, without actions.rasa_patches")
    ap.add_argument("--model", help="the model to serve (default: the newest in models/)")
    ap.add_argument("--url", help="an already running Rasa server (no start-up or memory figures)")
    ap.add_argument("--token")
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench.md"))
    args = ap.parse_args(argv)
    env = parse_env(args.env)
    rasa_module = "bot.rasa_server" if args.unpatched else PATCHED_RASA_MODULE
    if args.unpatched:  # bot.rasa_server installs the patches itself unless told not to
        os.environ["MINZHENG_RASA_PATCHES"] = "off"
    stack = None
    if args.url:
        url, token = args.url, args.token or ""
    else:
        stack = TimedStack(rasa_port=free_port(), action_port=free_port(), web_port=None, tracker_db=None,
                           env=env, rasa_module=None if args.unpatched else rasa_module,
                           model=Path(args.model) if args.model else None, log_dir=VAR_DIR / "log" / "bench")
        stack.start()
        url, token = stack.rasa_url, stack.token
    try:
        result = measure(args, url, token, stack)
    finally:
        if stack:
            stack.stop()
    result.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), env=env,
                  model=model_info(Path(args.model) if args.model else None),
                  rasa_module=rasa_module if stack else args.url)
    text = report(result)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str),
                                        encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
