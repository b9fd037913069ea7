"""``python -m bot.rasa_server <rasa run options>``: ``rasa run`` with the API token
taken from the environment instead of the command line.

Rasa 3.6 reads its HTTP API token only from ``--auth-token`` (no environment
variable, no config key), and a command line is readable by every user of the
machine (``ps``, ``/proc/<pid>/cmdline``). This wrapper adds ``--auth-token`` to
``sys.argv`` inside the process, from ``RASA_TOKEN`` (or ``var/rasa-token``, see
``bot.config.rasa_token``); the kernel's copy of the arguments never holds it.

It also installs ``actions.rasa_patches`` (Rasa's check of each action server
response with a validator built once: ~30 ms less per custom action, see
docs/performance.md), unless ``MINZHENG_RASA_PATCHES=off`` (what
``scripts/bench_ask.py --unpatched`` measures against).
"""
from __future__ import annotations

import os
import sys


def argv_with_token(argv: list, token: str) -> list:
    """``rasa run ...`` with ``--auth-token=<token>`` inserted right after ``run`` (the end
    of the list is where Rasa looks for a positional model path). One argument with
    ``=``: a generated token may begin with ``-`` (``secrets.token_urlsafe``), which
    argparse would otherwise read as the next option and refuse (exit code 2)."""
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in argv):
        raise SystemExit("pass the Rasa token in RASA_TOKEN, not on the command line")
    return ["rasa", "run", f"--auth-token={token}", *argv]


def main() -> None:
    from .config import rasa_token

    sys.argv = argv_with_token(sys.argv[1:], rasa_token())
    if os.environ.get("MINZHENG_RASA_PATCHES", "on").lower() not in ("off", "0", "false", "no"):
        from actions.rasa_patches import install

        install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
