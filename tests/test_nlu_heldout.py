"""NLU quality on the separately written held-out set (tests/nlu/heldout.yml).

The build fails when intent F1 drops below the floor. Figures and the
comparison of pipelines are in docs/nlu-evaluation.md (`make eval`).
"""
from __future__ import annotations

import json

import pytest

from bot.catalog.schema import DOMAINS

from .conftest import require_model
from .rasa_cli import rasa

pytestmark = pytest.mark.slow

MIN_WEIGHTED_F1 = 0.95
MIN_SERVICE_INTENT_F1 = 0.60


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    model = require_model()
    out = tmp_path_factory.mktemp("nlu-report")
    proc = rasa(["test", "nlu", "--model", str(model), "--nlu", "tests/nlu/heldout.yml", "--out", str(out),
                 "--no-plot"])
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((out / "intent_report.json").read_text(encoding="utf-8")), out


def test_intent_f1_floor(report):
    intents, _ = report
    f1 = intents["weighted avg"]["f1-score"]
    assert f1 >= MIN_WEIGHTED_F1, f"weighted intent F1 {f1:.3f} < {MIN_WEIGHTED_F1}"


def test_no_service_intent_collapses(report):
    intents, _ = report
    weak = {
        name: round(v["f1-score"], 2)
        for name, v in intents.items()
        if isinstance(v, dict) and name.split("_")[0] in DOMAINS
        and v["f1-score"] < MIN_SERVICE_INTENT_F1
    }
    assert not weak, weak
