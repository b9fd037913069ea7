"""Routing of real citizens' messages, as the citizen sees it.

Each message is parsed by a trained model (NLU only), then answered the way
the actions answer it: a service intent gets that service's guide,
``nlu_fallback`` the clarifying question (``Assistant.clarify``),
``out_of_scope`` the referral (``Assistant.out_of_scope``, which also offers
any of our services the message names), anything else a non-guide reply.

A message labelled with a service is routed right when it gets that guide,
or a clarifying question or referral whose buttons offer it; a ``none``
message is routed right when it gets no guide. A guide for any other service
is a *wrong guide*.

    .venv/bin/python -m nlu_ext.evaluation tests/nlu/real_messages.tsv [--model models/minzheng.tar.gz]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from bot.assistant import Assistant, fallback_candidates, service_for_intent

GUIDE, CLARIFY, REFERRAL, OUT_OF_SCOPE, OTHER = "guide", "clarify", "referral", "out_of_scope", "other"


@dataclass
class Routed:
    text: str
    label: str
    style: str
    intent: str
    confidence: float
    kind: str
    services: List[str] = field(default_factory=list)

    @property
    def wrong_guide(self) -> bool:
        return self.kind == GUIDE and self.services[:1] != [self.label]

    @property
    def right(self) -> bool:
        if self.label == "none":
            return self.kind != GUIDE
        if self.kind == GUIDE:
            return self.services[:1] == [self.label]
        # a clarifying question or a referral that offers the service: one tap away
        return self.kind in (CLARIFY, REFERRAL, OUT_OF_SCOPE) and self.label in self.services

    @property
    def direct(self) -> bool:
        return self.kind == GUIDE and self.services[:1] == [self.label]


def read_tsv(path: Path) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def offered(reply) -> List[str]:
    """The services a reply offers as buttons."""
    codes = (service_for_intent(b.payload.lstrip("/").split("{")[0]) for b in reply.buttons)
    return [c for c in codes if c]


def decide(assistant: Assistant, text: str, parse: dict) -> tuple[str, List[str]]:
    """The reply kind and the services it names, for one NLU parse."""
    intent = (parse.get("intent") or {}).get("name")
    if intent == "nlu_fallback":
        reply = assistant.clarify(fallback_candidates(parse.get("intent_ranking")), text)
        if reply.kind == GUIDE:
            return GUIDE, [reply.service]
        return CLARIFY, offered(reply)
    if intent == "out_of_scope":
        reply = assistant.out_of_scope(text)
        topic = assistant.catalog.out_of_scope_topic(text, loose=True)
        return (REFERRAL if topic else OUT_OF_SCOPE), offered(reply)
    code = service_for_intent(intent)
    if code:
        return GUIDE, [code]
    return OTHER, []


async def _parse_all(model: Path, texts: Iterable[str]) -> List[dict]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message on stdout
    agent = Agent.load(str(model))
    return [await agent.parse_message(t) for t in texts]


def route_rows(model: Path, rows: List[Dict[str, str]], assistant: Assistant) -> List[Routed]:
    parses = asyncio.run(_parse_all(model, [r["text"] for r in rows]))
    out = []
    for row, parse in zip(rows, parses, strict=True):
        kind, services = decide(assistant, row["text"], parse)
        intent = parse.get("intent") or {}
        out.append(Routed(row["text"], row["label"], row.get("style", ""), intent.get("name") or "",
                          float(intent.get("confidence") or 0), kind, services))
    return out


@dataclass
class Summary:
    n: int
    right: int
    direct: int
    wrong_guides: int
    kinds: Counter

    @property
    def routing(self) -> float:
        return self.right / self.n if self.n else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong_guides / self.n if self.n else 0.0


def summarise(routed: List[Routed]) -> Summary:
    return Summary(len(routed), sum(r.right for r in routed), sum(r.direct for r in routed),
                   sum(r.wrong_guide for r in routed), Counter(r.kind for r in routed))


def report(name: str, routed: List[Routed]) -> str:
    s = summarise(routed)
    in_scope = [r for r in routed if r.label != "none"]
    lines = [f"### {name}: {s.n} messages", "",
             f"- routed right: **{s.routing:.1%}** ({s.right}/{s.n})",
             f"- wrong guides: **{s.wrong_rate:.1%}** ({s.wrong_guides}/{s.n})",
             f"- in-scope messages answered with the right guide at once: {sum(r.direct for r in in_scope)}"
             f"/{len(in_scope)}; offered it in a clarifying question: "
             f"{sum(r.right and not r.direct for r in in_scope)}/{len(in_scope)}",
             "- replies: " + ", ".join(f"{k} {v}" for k, v in sorted(s.kinds.items())), ""]
    for title, key in (("label", lambda r: r.label), ("style", lambda r: r.style)):
        groups: Dict[str, List[Routed]] = defaultdict(list)
        for r in routed:
            groups[key(r)].append(r)
        lines += [f"| {title} | n | routed right | right guide at once | wrong guides |",
                  "| --- | --- | --- | --- | --- |"]
        for g in sorted(groups, key=lambda g: (-len(groups[g]), g)):
            rs = groups[g]
            lines.append(f"| {g} | {len(rs)} | {sum(r.right for r in rs) / len(rs):.0%} | "
                         f"{sum(r.direct for r in rs)} | {sum(r.wrong_guide for r in rs)} |")
        lines.append("")
    return "\n".join(lines)


def default_assistant() -> Assistant:
    from bot.catalog.queries import Catalog
    from bot.config import Settings

    s = Settings.from_env()
    return Assistant(Catalog(s.db_url, default_hotline=s.hotline))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--model", type=Path, default=Path("models/minzheng.tar.gz"))
    ap.add_argument("--errors", action="store_true", help="print the messages routed wrong")
    ap.add_argument("--json", type=Path, help="write the summaries as JSON")
    args = ap.parse_args(argv)
    assistant = default_assistant()
    summaries = {}
    for path in args.files:
        routed = route_rows(args.model, read_tsv(path), assistant)
        print(report(path.name, routed))
        s = summarise(routed)
        summaries[path.name] = {"n": s.n, "routing": s.routing, "wrong_guides": s.wrong_rate, "direct": s.direct}
        if args.errors:
            for r in routed:
                if not r.right or r.wrong_guide:
                    print(f"{r.label}\t{r.style}\t{r.kind}:{','.join(r.services)}\t{r.intent} {r.confidence:.2f}\t"
                          f"{r.text[:100]}")
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
