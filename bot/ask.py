"""``python -m bot ask``: one question per stdin line, one JSON object per stdout line.

Each object is ``{"text", "intent", "confidence", "service", "reply"}``. The
questions go through the Rasa server's standard REST channel, so the real model
and the real actions answer; intent and confidence come from the conversation
tracker (HTTP API). ``service`` is the catalogue code of the guide shown, or null.
"""
from __future__ import annotations

import json
import sys
import uuid
from typing import Any, Dict, List

import requests

from .assistant import Assistant
from .channel_input import prepare_text
from .rasa_client import SyncRasaClient
from .rasa_reply import guide_service, merge_messages


# the synchronous face of the one Rasa client (bot.rasa_client)
RasaClient = SyncRasaClient


def summarise(text: str, raw: List[Dict[str, Any]], intent: Dict[str, Any]) -> Dict[str, Any]:
    messages = merge_messages(raw)
    service = guide_service(messages)
    reply = "\n\n".join(m["text"] for m in messages if m.get("text"))
    confidence = intent.get("confidence")
    return {
        "text": text,
        "intent": intent.get("name"),
        "confidence": round(float(confidence), 4) if confidence is not None else None,
        "service": service,
        "reply": reply,
    }


def ask_lines(client: RasaClient, lines, conversation: bool, out=sys.stdout) -> int:
    conv_id = f"ask-{uuid.uuid4().hex[:12]}"
    count = 0
    for i, line in enumerate(lines):
        text = line.rstrip("\n")
        sender = conv_id if conversation else f"{conv_id}-{i}"
        prepared = prepare_text(text)
        if prepared.message is None:
            reply = Assistant.for_problem(prepared.problem)
            result = {"text": text, "intent": None, "confidence": None, "service": None, "reply": reply.text}
        else:
            messages = client.send(sender, prepared.message)
            result = summarise(text, messages, client.latest_intent(sender))
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        count += 1
    return count


def http_problem(exc: requests.RequestException, url: str, timeout: float) -> str:
    """One line for the operator instead of a traceback."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        if code in (401, 403):
            return (f"Rasa at {url} refused the API token (HTTP {code}): pass --token, or set RASA_TOKEN to the "
                    "server's token (a server started by `make run` uses RASA_TOKEN or var/rasa-token)")
        if code == 404:
            return (f"{url} has no Rasa REST channel or conversation API (HTTP 404): is it a Rasa server "
                    "with --enable-api and credentials.yml?")
        return f"Rasa at {url} answered HTTP {code}"
    if isinstance(exc, requests.Timeout):
        return f"Rasa at {url} did not answer within {timeout:g} s (--timeout)"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect to Rasa at {url}: is it running? (make run)"
    if isinstance(exc, requests.JSONDecodeError):
        return f"{url} did not answer with JSON: is it a Rasa server?"
    return f"cannot ask Rasa at {url}: {type(exc).__name__}"


def _ask(url: str, token: str, args) -> int:
    client = RasaClient(url, token, args.timeout)
    try:
        ask_lines(client, sys.stdin, args.conversation)
    except requests.RequestException as exc:
        print(f"error: {http_problem(exc, url, args.timeout)}", file=sys.stderr)
        return 1
    return 0


def main(args) -> int:
    from .config import rasa_token

    # the same token source as the server `make run` starts (bot.config.rasa_token)
    token = args.token or rasa_token()
    if args.url:
        return _ask(args.url, token, args)
    from pathlib import Path

    from .stack import Stack, StackError, free_port

    # questions asked here are throwaway conversations: no tracker store on disk
    stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=None, token=token,
                  model=Path(args.model) if args.model else None, tracker_db=None)
    print("starting the Rasa and action servers...", file=sys.stderr, flush=True)
    try:
        stack.start()
    except (StackError, TimeoutError) as exc:
        print(f"error: could not start the servers: {exc}", file=sys.stderr)
        return 1
    try:
        return _ask(stack.rasa_url, stack.token, args)
    finally:
        stack.stop()
