"""``python -m bot wechat menu``: install the account's menu through WeChat's API."""
from __future__ import annotations

import asyncio
import sys

from ..config import Settings
from .api import WechatAPI
from .menu import menu_items, wechat_menu


def main(args) -> int:
    settings = Settings.from_env()
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        print("error: set WECHAT_APP_ID and WECHAT_APP_SECRET (see docs/wechat.md)", file=sys.stderr)
        return 1
    try:
        items = menu_items()
    except (OSError, ValueError) as exc:
        print(f"error: WECHAT_MENU: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(WechatAPI(settings).create_menu(wechat_menu(items)))
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        code = getattr(exc, "errcode", None)
        print(f"error: WeChat refused the menu: {type(exc).__name__}{f' {code}' if code else ''}", file=sys.stderr)
        return 1
    print("menu installed: " + " / ".join(i["name"] for i in items))
    return 0
