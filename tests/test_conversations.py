"""Conversation tests: `rasa test core` on tests/stories with user text,
failing on any wrong intent or action prediction."""
from __future__ import annotations

import pytest

from .conftest import require_model
from .rasa_cli import rasa

pytestmark = pytest.mark.slow


def test_conversation_stories(tmp_path):
    model = require_model()
    proc = rasa(["test", "core", "--model", str(model), "--stories", "tests/stories", "--out", str(tmp_path),
                 "--fail-on-prediction-errors", "--no-plot"])
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert proc.returncode == 0, (detail or proc.stdout[-3000:]) + proc.stderr[-3000:]
    assert "# None of the test stories failed" in detail or not detail.strip()
