"""Compare NLU pipelines: k-fold cross-validation on data/ and a score on the
held-out set, for config.yml and each file in config/. Writes
reports/nlu-comparison.md and prints it.

    .venv/bin/python scripts/evaluate_nlu.py [--folds 3] [--configs config.yml config/alternative.yml]
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
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def rasa(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "rasa", *args], cwd=ROOT, env=ENV, check=True,
                   stdout=subprocess.DEVNULL)


def f1(report_dir: Path, name: str = "intent_report.json") -> float:
    data = json.loads((report_dir / name).read_text(encoding="utf-8"))
    return data["weighted avg"]["f1-score"]


def entity_f1(report_dir: Path) -> str:
    path = report_dir / "DIETClassifier_report.json"
    if not path.exists():
        return "-"
    return f"{json.loads(path.read_text(encoding='utf-8'))['weighted avg']['f1-score']:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=3, help="0 skips cross-validation (held-out set only)")
    ap.add_argument("--configs", nargs="+", default=["config.yml", *sorted(str(p.relative_to(ROOT))
                                                                          for p in (ROOT / "config").glob("*.yml"))])
    ap.add_argument("--reuse", type=Path, default=None,
                    help="directory with already trained <config stem>.tar.gz models for the held-out score")
    args = ap.parse_args()
    out_dir = ROOT / "reports"
    out_dir.mkdir(exist_ok=True)
    rows = []
    for cfg in args.configs:
        name = Path(cfg).stem
        started = time.monotonic()
        cv_dir = out_dir / f"cv-{name}"
        if args.folds:
            rasa("test", "nlu", "--config", cfg, "--nlu", "data/nlu", "--cross-validation", "--folds",
                 str(args.folds), "--out", str(cv_dir), "--no-plot")
        cv_minutes = (time.monotonic() - started) / 60
        held_dir = out_dir / f"heldout-{name}"
        reused = args.reuse / f"{name}.tar.gz" if args.reuse else None
        with tempfile.TemporaryDirectory() as tmp:
            train_started = time.monotonic()
            if reused and reused.exists():
                model, train_minutes = reused, None
            else:
                rasa("train", "nlu", "--config", cfg, "--nlu", "data/nlu", "--out", tmp, "--fixed-model-name", name)
                model, train_minutes = Path(tmp) / f"{name}.tar.gz", (time.monotonic() - train_started) / 60
            rasa("test", "nlu", "--model", str(model), "--nlu", "tests/nlu/heldout.yml",
                 "--out", str(held_dir), "--no-plot")
        cv = (f"{f1(cv_dir):.3f}", entity_f1(cv_dir)) if args.folds else ("-", "-")
        rows.append((cfg, *cv, f1(held_dir), entity_f1(held_dir), cv_minutes, train_minutes))
        print(f"{cfg}: done", file=sys.stderr)
    lines = [
        f"# NLU pipeline comparison ({time.strftime('%Y-%m-%d')})",
        "",
        f"{args.folds}-fold cross-validation on `data/` and the separately written held-out set "
        "`tests/nlu/heldout.yml`; weighted F1.",
        "",
        "| config | CV intent F1 | CV entity F1 | held-out intent F1 | held-out entity F1 "
        "| CV minutes | training minutes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cfg, cv, ce, ho, he, cv_min, train_min in rows:
        train = f"{train_min:.1f}" if train_min is not None else "(reused model)"
        lines.append(f"| `{cfg}` | {cv} | {ce} | {ho:.3f} | {he} | {cv_min:.1f} | {train} |")
    text = "\n".join(lines) + "\n"
    (out_dir / "nlu-comparison.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
