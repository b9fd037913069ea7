"""Run Rasa's command line from tests (same interpreter, quiet, no telemetry)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import List

from bot.config import PROJECT_ROOT


def rasa(args: List[str], timeout: float = 1200) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
