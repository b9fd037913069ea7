"""Turn the Rasa REST channel's output into whole bot messages.

An action sends a message as text (+ buttons) and, right after it, a custom
JSON with the same content as HTML plus what the message is (``kind``) and the
guide's service code. Channels want one message with all of that.
"""
from __future__ import annotations

from typing import Any, Dict, List


def merge_messages(raw: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    for m in raw or []:
        custom = m.get("custom")
        if m.get("text") is not None:
            out.append(
                {
                    "text": m["text"],
                    "html": None,
                    "buttons": [
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in (m.get("buttons") or [])
                    ],
                    "kind": None,
                    "service": None,
                }
            )
        if isinstance(custom, dict):
            if out and out[-1]["kind"] is None and "html" in custom:
                out[-1].update(html=custom.get("html"), kind=custom.get("kind"), service=custom.get("service"))
            elif custom.get("html"):
                out.append({"text": None, "html": custom["html"], "buttons": [],
                            "kind": custom.get("kind"), "service": custom.get("service")})
    return out


def guide_service(messages: List[Dict[str, Any]]) -> Any:
    """Service code of the last guide (or guide section) among merged messages."""
    service = None
    for m in messages:
        if m.get("kind") in ("guide", "section") and m.get("service"):
            service = m["service"]
    return service
