"""``python -m bot ask``: one question per stdin line, one JSON object per stdout line.

Each object is ``{"text", "intent", "confidence", "service", "reply"}``. The
questions go through the Rasa server's standard REST channel, so the real model
and the real actions answer; intent and confidence come from the conversation
tracker (HTTP API). ``service`` is the catalogue code of the guide shown, or null.
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Any, Dict, List, Optional

import requests

from .assistant import Assistant
from .channel_input import prepare_text
from .rasa_reply import guide_service, merge_messages


class RasaClient:
    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, sender: str, message: str) -> List[Dict[str, Any]]:
        r = self.http.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=self.timeout,
        )
        r.raise_for_status()
        return r.json()

    def latest_intent(self, sender: str) -> Dict[str, Any]:
        params = {"include_events": "NONE"}
        if self.token:
            params["token"] = self.token
        r = self.http.get(f"{self.url}/conversations/{sender}/tracker", params=params, timeout=self.timeout)
        r.raise_for_status()
        return (r.json().get("latest_message") or {}).get("intent") or {}


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


def main(args) -> int:
    token = args.token or os.environ.get("RASA_TOKEN")
    if args.url:
        client = RasaClient(args.url, token, args.timeout)
        ask_lines(client, sys.stdin, args.conversation)
        return 0
    from pathlib import Path

    from .stack import Stack, free_port

    stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=None,
                  model=Path(args.model) if args.model else None)
    print("starting the Rasa and action servers...", file=sys.stderr, flush=True)
    with stack:
        client = RasaClient(stack.rasa_url, stack.token, args.timeout)
        ask_lines(client, sys.stdin, args.conversation)
    return 0
