"""Compare the FAQ selection in bot/faq.py with Rasa's ResponseSelector (docs/faq.md).

The ResponseSelector's training data (retrieval intents ``faq/<entry>`` with the
FAQ phrasings, responses with the answers) is generated from bot/content/faq at
run time into a temporary directory, never kept in data/. Both selectors are then
scored the same way on the held-out set tests/nlu/faq_heldout.tsv: the chosen
entry (the best one of the expected service; the ResponseSelector ranks all 140)
is composed into the first reply by ``Assistant.answer``, and the reply must
contain the expected fact in its first sentences.

    .venv/bin/python scripts/faq_response_selector.py [--epochs 100]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ages import parse_age  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.catalog.loader import load_content, write_catalog  # noqa: E402
from bot.catalog.migrate import upgrade  # noqa: E402
from bot.catalog.queries import Catalog  # noqa: E402
from bot.config import CONTENT_DIR  # noqa: E402
from tests.test_faq_heldout import heldout, score  # noqa: E402

PIPELINE = [
    {"name": "nlu_ext.normalizer.ChineseNormalizer"},
    {"name": "JiebaTokenizer", "dictionary_path": "nlu_ext/jieba"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3},
]


def key(entry_id: str) -> str:
    return entry_id.replace(".", "_")


def write_training_data(content, out: Path, epochs: int) -> None:
    nlu = [{"intent": f"faq/{key(e.id)}", "examples": "".join(f"- {q}\n" for q in e.questions)}
           for e in content.faq]
    responses = {f"utter_faq/{key(e.id)}": [{"text": e.answer}] for e in content.faq}
    (out / "nlu.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": nlu, "responses": responses},
                                                allow_unicode=True), encoding="utf-8")
    (out / "domain.yml").write_text(yaml.safe_dump({"version": "3.1", "intents": ["faq"], "responses": responses},
                                                   allow_unicode=True), encoding="utf-8")
    pipeline = PIPELINE + [{"name": "ResponseSelector", "epochs": epochs, "retrieval_intent": "faq",
                            "ranking_length": 0, "random_seed": 42}]
    (out / "config.yml").write_text(yaml.safe_dump({"recipe": "default.v1", "language": "zh",
                                                    "pipeline": pipeline, "policies": []}), encoding="utf-8")


class Forced(Assistant):
    """``Assistant.answer`` with the FAQ entry chosen from outside (or none)."""

    forced: Optional[str] = None

    def select_answer(self, service_code, text, region_code=None):
        if self.forced is None:
            return None
        chain = [r.code for r in self.catalog.region_index().chain(region_code)] if region_code else []
        return self.catalog.faq().by_id[self.forced].answer_for(chain)


async def rs_choices(model: Path, rows, by_key: Dict[str, str], services: Dict[str, str]) -> List[Optional[str]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    out = []
    for question, service, _ in rows:
        parsed = await agent.parse_message(question)
        ranking = parsed.get("response_selector", {}).get("faq", {}).get("ranking", [])
        ids = [by_key.get(r["intent_response_key"].split("/", 1)[1]) for r in ranking]
        out.append(next((i for i in ids if i and services[i] == service), None))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=100)
    args = ap.parse_args()
    content = load_content(CONTENT_DIR)
    rows = heldout()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp / 'catalog.db'}"
        upgrade(url)
        write_catalog(url, content)
        a = Forced(Catalog(url))
        write_training_data(content, tmp, args.epochs)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
        subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(tmp / "config.yml"),
                        "--nlu", str(tmp / "nlu.yml"), "--domain", str(tmp / "domain.yml"), "--out", str(tmp),
                        "--fixed-model-name", "faq_rs", "--quiet"], cwd=ROOT, env=env, check=True)
        by_key = {key(e.id): e.id for e in content.faq}
        services = {e.id: e.service for e in content.faq}
        os.chdir(ROOT)
        rs = asyncio.run(rs_choices(tmp / "faq_rs.tar.gz", rows, by_key, services))
        tfidf = [(m.faq.id if m else None) for m in (a.catalog.faq().select(q, s) for q, s, _ in rows)]
        for name, chosen in (("bot.faq TF-IDF", tfidf), ("ResponseSelector", rs)):
            replies = []
            for (q, s, f), entry in zip(rows, chosen, strict=True):
                a.forced = entry
                ref = a.catalog.find_region(q)
                replies.append((q, s, f, a.answer(s, q, ref.code if ref else None, parse_age(q)).text))
            rate, median, _ = score(replies)
            picked = sum(c is not None for c in chosen)
            print(f"{name}: fact in the first sentences {rate:.1%}, median {median:.0f} chars, "
                  f"entry chosen {picked}/{len(rows)}")
        same = sum(x == y for x, y in zip(tfidf, rs, strict=True))
        print(f"same entry chosen: {same}/{len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
