"""The measuring helpers of `make bench` (scripts/bench_turns.py, scripts/bench_ask.py):
percentiles, how a reply is classified, process-tree memory, the report's verdicts."""
from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load(name: str):
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


bt = load("bench_turns")


def test_percentile_is_nearest_rank():
    values = [5, 1, 4, 2, 3]
    assert bt.percentile(values, 0.5) == 3
    assert bt.percentile(values, 0.95) == 5
    assert bt.percentile(values, 0.0) == 1
    assert bt.percentile(list(range(1, 101)), 0.95) == 95
    assert math.isnan(bt.percentile([], 0.5))


def test_reply_kind_tells_guide_bare_and_anything_else():
    guide = [{"text": "【结婚登记】…", "custom": {"kind": "guide", "service": "marriage.register", "html": ""}}]
    goodbye = [{"text": "感谢您的咨询，再见！如有需要，随时来问我。"}]
    thanks = [{"text": "不客气，很高兴能帮到您。"}]
    clarify = [{"text": "您想问的是哪一项？", "custom": {"kind": "clarify", "service": None, "html": ""}}]
    assert bt.reply_kind(guide) == "guide"
    assert bt.reply_kind(goodbye) == "bare"
    assert bt.reply_kind(thanks) == "bare"
    assert bt.reply_kind(clarify) == "other"
    assert bt.reply_kind([]) == "other"


def test_the_scripted_conversation_has_both_kinds():
    kinds = [kind for _, kind in bt.CONVERSATION]
    assert kinds.count("bare") >= 2 and kinds.count("guide") >= 2


def test_tree_rss_counts_the_children():
    pytest.importorskip("psutil")
    # a child that holds ~60 MB resident
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(60_000_000); time.sleep(30)"])
    try:
        alone = bt.tree_rss(os.getpid()) - bt.tree_rss(child.pid)
        deadline = time.monotonic() + 10
        while bt.tree_rss(child.pid) < 50e6 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert bt.tree_rss(child.pid) >= 50e6
        assert bt.tree_rss(os.getpid()) >= alone + 50e6
    finally:
        child.kill()
        child.wait()
    assert bt.tree_rss(child.pid) == 0  # gone


def sample_result(ratio_guide: float, rss: float) -> dict:
    turns = {"bare": {"n": 80, "p50_ms": 20.0, "p95_ms": 30.0},
             "guide": {"n": 80, "p50_ms": 20.0 * ratio_guide, "p95_ms": 50.0},
             "tracker": {"n": 80, "p50_ms": 4.0, "p95_ms": 6.0}}
    return {"date": "2026-12-01", "model": {"model": "minzheng.tar.gz", "model_mb": 20.0, "pipeline": ["X"]},
            "rasa_module": "actions.rasa_patches", "env": {"TF_NUM_INTRAOP_THREADS": "1"},
            "ratio": ratio_guide, "turns": turns, "mismatches": [], "startup_s": {"rasa": 20.0, "actions": 2.0},
            "rss_ready": {"rasa": rss, "actions": 2e8}, "rss_peak": {"rasa": rss, "actions": 2e8},
            "load": [{"conversations": 20, "turns": 120, "errors": 0, "seconds": 4.0, "throughput": 30.0,
                      "p50_ms": 500.0, "p95_ms": 900.0}]}


def test_report_states_whether_the_targets_are_met():
    ba = load("bench_ask")
    good = ba.report(sample_result(1.5, 1.0e9))
    assert "| 1.50 × (30.0 / 20.0 ms) | met |" in good
    assert "| 1.00 GB | met |" in good
    assert "TF_NUM_INTRAOP_THREADS=1" in good
    bad = ba.report(sample_result(3.0, 1.5e9))
    assert bad.count("**not met**") == 2
    assert "| 20 | 120 | 0 | 4.0 s | 30.0 turns/s | 500 ms | 900 ms |" in bad


def test_env_pairs_are_parsed_and_bad_ones_refused():
    ba = load("bench_ask")
    assert ba.parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(SystemExit):
        ba.parse_env(["novalue"])
