"""Compare NLU pipelines: training time from scratch, k-fold cross-validation on
data/, the separately written held-out set, and routing on the real citizens'
messages (tests/nlu/real_messages*.tsv, evaluation only), for config.yml and
each file in config/. Writes reports/nlu-comparison.md (and one JSON per
config) and prints it.

    .venv/bin/python scripts/evaluate_nlu.py [--folds 3] [--configs config.yml config/diet.yml]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
REAL_SETS = [ROOT / "tests/nlu/real_messages.tsv", ROOT / "tests/nlu/real_messages_blind.tsv",
             ROOT / "tests/nlu/real_messages_blind2.tsv"]
OUT = ROOT / "reports"


def run(*args: str) -> None:
    subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rasa(*args: str) -> None:
    run("-m", "rasa", *args)


def weighted_f1(report_dir: Path, pattern: str) -> str:
    for path in sorted(report_dir.glob(pattern)):
        return f"{json.loads(path.read_text(encoding='utf-8'))['weighted avg']['f1-score']:.3f}"
    return "-"


def entity_f1(report_dir: Path) -> str:
    for name in ("DIETClassifier_report.json", "PlaceAgeExtractor_report.json", "CRFEntityExtractor_report.json"):
        if (report_dir / name).exists():
            return weighted_f1(report_dir, name)
    return "-"


def evaluate(cfg: str, folds: int) -> dict:
    name = Path(cfg).stem
    row: dict = {"config": cfg}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        # the whole `rasa train` (NLU and rules), as `make train` runs it
        rasa("train", "--config", cfg, "--domain", "domain.yml", "--data", "data", "--out", tmp,
             "--fixed-model-name", name)
        row["train_seconds"] = round(time.monotonic() - started)
        model = Path(tmp) / f"{name}.tar.gz"
        held = OUT / f"heldout-{name}"
        rasa("test", "nlu", "--model", str(model), "--nlu", "tests/nlu/heldout.yml", "--out", str(held), "--no-plot")
        row["heldout_intent"] = weighted_f1(held, "intent_report.json")
        row["heldout_entity"] = entity_f1(held)
        summary = OUT / f"real-{name}.json"
        real_md = OUT / f"real-{name}.md"
        with real_md.open("w", encoding="utf-8") as out:
            subprocess.run([sys.executable, "-m", "nlu_ext.evaluation", *map(str, REAL_SETS), "--model", str(model),
                            "--json", str(summary)], cwd=ROOT, env=ENV, check=True, stdout=out,
                           stderr=subprocess.DEVNULL)
        row["real"] = json.loads(summary.read_text(encoding="utf-8"))
    if folds:
        started = time.monotonic()
        cv = OUT / f"cv-{name}"
        rasa("test", "nlu", "--config", cfg, "--nlu", "data/nlu", "--cross-validation", "--folds", str(folds),
             "--out", str(cv), "--no-plot")
        row["cv_minutes"] = round((time.monotonic() - started) / 60, 1)
        row["cv_intent"] = weighted_f1(cv, "intent_report.json")
        row["cv_entity"] = entity_f1(cv)
    (OUT / f"eval-{name}.json").write_text(json.dumps(row, indent=2, ensure_ascii=False), encoding="utf-8")
    return row


def table(rows: list, folds: int) -> str:
    sets = [p.name for p in REAL_SETS if p.exists()]
    head = ["config", "train s", f"CV intent F1 ({folds}-fold)", "CV entity F1", "held-out intent F1",
            "held-out entity F1"]
    for s in sets:
        head += [f"{s}: routed right", f"{s}: wrong guides", f"{s}: right guide at once"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [f"`{r['config']}`", str(r["train_seconds"]), r.get("cv_intent", "-"), r.get("cv_entity", "-"),
                 r["heldout_intent"], r["heldout_entity"]]
        for s in sets:
            real = r["real"].get(s)
            cells += [f"{real['routing']:.1%}", f"{real['wrong_guides']:.1%}", str(real["direct"])] if real \
                else ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=3, help="0 skips cross-validation")
    ap.add_argument("--configs", nargs="+", default=["config.yml", *sorted(str(p.relative_to(ROOT))
                                                                          for p in (ROOT / "config").glob("*.yml"))])
    ap.add_argument("--table-only", action="store_true",
                    help="no runs: the table from the reports/eval-<config>.json of earlier runs")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = []
    for cfg in args.configs:
        if args.table_only:
            path = OUT / f"eval-{Path(cfg).stem}.json"
            if path.exists():
                rows.append(json.loads(path.read_text(encoding="utf-8")))
            continue
        print(f"{cfg}: training, held-out set, real messages, cross-validation ...", file=sys.stderr, flush=True)
        rows.append(evaluate(cfg, args.folds))
        print(f"{cfg}: done in {rows[-1]['train_seconds']} s training", file=sys.stderr, flush=True)
    text = (f"# NLU pipeline comparison ({time.strftime('%Y-%m-%d')})\n\n"
            "Training time is a whole `rasa train` from scratch; F1 is weighted; routing on the real messages "
            "as `python -m nlu_ext.evaluation` defines it (reports/real-<config>.md has the per-service and "
            "per-style tables).\n\n" + table(rows, args.folds) + "\n")
    (OUT / "nlu-comparison.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
