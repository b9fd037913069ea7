"""The account's menu (自定义菜单) and what each click sends to the assistant.

Configurable: ``WECHAT_MENU`` may name a JSON file ``[{"name": "婚姻登记", "say": "婚姻登记"}, ...]``
(``say``: words the citizen might type, or an intent payload such as ``/human_handoff``).
Installed with ``python -m bot wechat menu``.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

DEFAULT_MENU: List[Dict[str, str]] = [
    {"name": "婚姻登记", "say": "婚姻登记"},
    {"name": "身后事", "say": "家里老人去世了要办哪些手续"},
    {"name": "养老补贴", "say": "养老补贴"},
    {"name": "低保救助", "say": "低保怎么申请"},
    {"name": "转人工", "say": "/human_handoff"},
]
KEY_PREFIX = "MZ_"


def menu_items(path: Optional[str] = None) -> List[Dict[str, str]]:
    path = path or os.environ.get("WECHAT_MENU", "").strip() or None
    if not path:
        return DEFAULT_MENU
    with open(path, encoding="utf-8") as fh:
        items = json.load(fh)
    if not isinstance(items, list) or not 1 <= len(items) <= 5 or not all(
            isinstance(i, dict) and isinstance(i.get("name"), str) and isinstance(i.get("say"), str)
            and 0 < len(i["name"].encode("utf-8")) <= 16 for i in items):
        raise ValueError(f"{path}: a list of 1-5 {{name, say}} (names up to 16 bytes)")
    return items


def wechat_menu(items: List[Dict[str, str]]) -> Dict[str, Any]:
    """The body of WeChat's menu/create: one click button per item."""
    return {"button": [{"type": "click", "name": i["name"], "key": f"{KEY_PREFIX}{n}"}
                       for n, i in enumerate(items)]}


def said_for_click(key: str, items: Optional[List[Dict[str, str]]] = None) -> Optional[str]:
    items = items or menu_items()
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or not key[len(KEY_PREFIX):].isdigit():
        return None
    n = int(key[len(KEY_PREFIX):])
    return items[n]["say"] if n < len(items) else None


def menu_text(items: Optional[List[Dict[str, str]]] = None) -> str:
    names = "、".join(i["name"] for i in items or menu_items())
    return f"您可以点击下方菜单（{names}），也可以直接用文字提问，例如“高龄津贴怎么申请”。"
