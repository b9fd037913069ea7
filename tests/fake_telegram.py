"""A fake Telegram Bot API server on loopback, for driving python-telegram-bot's real
HTTP stack (httpx, getUpdates long polling) in tests without the internet.

It enforces the Bot API rules our front end must respect, so a test fails the way
Telegram would fail: the token in the URL, ``parse_mode=HTML`` with only Telegram's
tags and entities, 4096 visible characters per message, 1-64 bytes of callback
data, known chat ids. Tests queue updates (``send_text``, ``press``...) and wait for
what the bot sent (``wait_for``).
"""
from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from html.parser import HTMLParser
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

TOKEN = "123456:TEST-token_for-the-fake-api"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "民政助手", "username": "minzheng_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "tg-spoiler", "span", "blockquote", "tg-emoji"}
JSON_FIELDS = {"chat_id", "reply_markup", "offset", "limit", "timeout", "allowed_updates",
               "link_preview_options", "commands", "message_id", "show_alert", "drop_pending_updates"}


class _TelegramHTML(HTMLParser):
    """Parses like Telegram: known tags only, properly nested; returns the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[str] = []
        self.text: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TELEGRAM_TAGS:
            raise ValueError(f"Unsupported start tag \"{tag}\"")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            raise ValueError(f"Unmatched end tag \"{tag}\"")

    def handle_data(self, data):
        self.text.append(data)


def telegram_visible_text(text: str) -> str:
    for ent in re.findall(r"&([A-Za-z]+);", text):
        if ent not in ("lt", "gt", "amp", "quot"):
            raise ValueError(f"Unsupported entity &{ent};")
    if re.search(r"<(?![A-Za-z/])", text):
        raise ValueError("Unexpected < (must be escaped as &lt;)")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise ValueError(f"Unclosed tag \"{parser.stack[-1]}\"")
    return "".join(parser.text)


class FakeTelegram:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: List[Dict[str, Any]] = []  # every API call: {"method", "params"}
        self.sent: List[Dict[str, Any]] = []  # sendMessage calls that succeeded
        self.fail_next: Dict[str, int] = {}  # method -> how many upcoming calls answer 500
        self._updates: List[Dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: Optional[web.AppRunner] = None
        self.base_url = ""

    # -- server --------------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> Dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        out: Dict[str, Any] = {}
        for key, value in form.items():
            if key in JSON_FIELDS and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            out[key] = value
        return out

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append({"method": method, "params": params})
        if self.fail_next.get(method):
            self.fail_next[method] -= 1
            return web.json_response({"ok": False, "error_code": 500, "description": "Internal Server Error"},
                                     status=500)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        try:
            result = await handler(params)
        except ValueError as exc:
            return web.json_response({"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"},
                                     status=400)
        return web.json_response({"ok": True, "result": result})

    # -- Bot API methods -------------------------------------------------------------
    async def _api_getMe(self, p):
        return BOT_USER

    async def _api_deleteWebhook(self, p):
        return True

    async def _api_setWebhook(self, p):
        return True

    async def _api_setMyCommands(self, p):
        return True

    async def _api_sendChatAction(self, p):
        return True

    async def _api_answerCallbackQuery(self, p):
        return True

    async def _api_getUpdates(self, p):
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 5.0)
        async with self._changed:
            while True:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return list(self._updates)
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except asyncio.TimeoutError:
                    pass

    async def _api_sendMessage(self, p):
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("message text is empty")
        if p.get("parse_mode") == "HTML":
            try:
                visible = telegram_visible_text(text)
            except ValueError as exc:
                raise ValueError(f"can't parse entities: {exc}") from None
        else:
            visible = text
        if len(visible.encode("utf-16-le")) // 2 > 4096:
            raise ValueError("message is too long")
        markup = p.get("reply_markup")
        if markup:
            for row in markup["inline_keyboard"]:
                for b in row:
                    data = b.get("callback_data", "")
                    if not 1 <= len(data.encode("utf-8")) <= 64:
                        raise ValueError("BUTTON_DATA_INVALID")
                    if not b.get("text"):
                        raise ValueError("BUTTON_TEXT_EMPTY")
        chat_id = int(p["chat_id"])
        msg = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": BOT_USER,
            "text": visible,
        }
        if markup:
            msg["reply_markup"] = markup
        record = {"chat_id": chat_id, "text": text, "visible": visible, "reply_markup": markup,
                  "parse_mode": p.get("parse_mode"), "message": msg}
        async with self._changed:
            self.sent.append(record)
            self._changed.notify_all()
        return msg

    # -- test side: updates in --------------------------------------------------------
    async def push(self, update: Dict[str, Any]) -> Dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update

    @staticmethod
    def _user(chat_id: int, language: str = "zh-hans") -> Dict[str, Any]:
        return {"id": abs(chat_id), "is_bot": False, "first_name": "测试", "language_code": language}

    def _message(self, chat_id: int, **fields) -> Dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "测试"},
                "from": self._user(chat_id), **fields}

    async def send_text(self, chat_id: int, text: str) -> Dict[str, Any]:
        fields: Dict[str, Any] = {"text": text}
        if text.startswith("/"):
            cmd = text.split()[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        return await self.push({"message": self._message(chat_id, **fields)})

    async def send_group_text(self, chat_id: int, text: str, chat_type: str = "group",
                              member: int = 777) -> Dict[str, Any]:
        """A member of a group (negative ``chat_id``) writes in the group."""
        fields: Dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        msg = {"message_id": next(self._message_ids), "date": int(time.time()),
               "chat": {"id": chat_id, "type": chat_type, "title": "小区业主群"}, "from": self._user(member), **fields}
        return await self.push({"message": msg})

    async def press_in_group(self, chat_id: int, data: str, member: int = 777) -> Dict[str, Any]:
        message = {"message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "group", "title": "群"},
                   "from": BOT_USER, "text": "…"}
        query = {"id": str(next(self._update_ids)), "from": self._user(member), "chat_instance": "cg",
                 "data": data, "message": message}
        return await self.push({"callback_query": query})

    async def send_sticker(self, chat_id: int) -> Dict[str, Any]:
        sticker = {"file_id": "CAACAgI", "file_unique_id": "AgAD", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return await self.push({"message": self._message(chat_id, sticker=sticker)})

    async def send_photo(self, chat_id: int) -> Dict[str, Any]:
        photo = [{"file_id": "AgACAgI", "file_unique_id": "AQAD", "width": 90, "height": 90}]
        return await self.push({"message": self._message(chat_id, photo=photo, caption="看看这个")})

    async def send_voice(self, chat_id: int) -> Dict[str, Any]:
        voice = {"file_id": "AwACAgI", "file_unique_id": "AgAE", "duration": 3}
        return await self.push({"message": self._message(chat_id, voice=voice)})

    async def edit_text(self, chat_id: int, text: str) -> Dict[str, Any]:
        msg = self._message(chat_id, text=text)
        msg["edit_date"] = int(time.time())
        return await self.push({"edited_message": msg})

    async def channel_post(self, chat_id: int, text: str) -> Dict[str, Any]:
        msg = {"message_id": next(self._message_ids), "date": int(time.time()),
               "chat": {"id": chat_id, "type": "channel", "title": "频道"}, "text": text}
        return await self.push({"channel_post": msg})

    async def press(self, chat_id: int, data: str, message: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        message = message or {"message_id": 1, "date": int(time.time()),
                              "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER, "text": "…"}
        query = {"id": str(next(self._update_ids)), "from": self._user(chat_id), "chat_instance": "ci",
                 "data": data, "message": message}
        return await self.push({"callback_query": query})

    async def press_button(self, chat_id: int, title: str) -> Dict[str, Any]:
        """Press the button titled ``title`` on the last message the bot sent to the chat."""
        for rec in reversed(self.sent):
            if rec["chat_id"] != chat_id or not rec["reply_markup"]:
                continue
            for row in rec["reply_markup"]["inline_keyboard"]:
                for b in row:
                    if b["text"] == title:
                        return await self.press(chat_id, b["callback_data"], rec["message"])
        raise AssertionError(f"no button {title!r} sent to chat {chat_id}")

    # -- test side: what the bot sent -----------------------------------------------------
    def sent_to(self, chat_id: int) -> List[Dict[str, Any]]:
        return [m for m in self.sent if m["chat_id"] == chat_id]

    async def wait_for(self, chat_id: int, predicate: Callable[[Dict[str, Any]], bool] = lambda m: True,
                       after: int = 0, timeout: float = 20.0) -> Dict[str, Any]:
        """The first message to ``chat_id`` (among those after the first ``after`` ones) matching."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for m in self.sent_to(chat_id)[after:]:
                    if predicate(m):
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [m["visible"][:80] for m in self.sent_to(chat_id)]
                    raise AssertionError(f"no matching message to chat {chat_id} within {timeout}s; got {got}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    async def settle(self, seconds: float = 0.5) -> None:
        """Give the bot time to (not) answer."""
        await asyncio.sleep(seconds)


def buttons_of(message: Dict[str, Any]) -> List[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))
