"""Fuzz driver for the Telegram front end: random and malformed updates through
python-telegram-bot's real handlers (``Update.de_json`` + ``process_update``), the
fake Bot API of tests/fake_telegram.py and the fake Rasa of tests/fuzz_http.py;
part of the updates arrive through the webhook receiver with random secrets.

Every update that is a private message a citizen can really send (text, a command,
a photo...) must get at least one message back; an exception reaching PTB's error
handlers is a crash; a 5xx from the webhook receiver is a server error. Updates
``de_json`` refuses are counted as "rejected" (Telegram never sends them).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

from aiohttp.test_utils import TestClient, TestServer

from .fake_telegram import TOKEN, FakeTelegram
from .fuzz_http import FakeRasa
from .fuzz_inputs import CITIZEN_MESSAGES, Tally, bad_text, mutate, payload, random_json, random_text

SECRET = "fuzz-webhook-secret"


class CountingTelegram(FakeTelegram):
    """The fake Bot API, counting the messages sent to each chat."""

    def __init__(self) -> None:
        super().__init__()
        self.per_chat: Counter = Counter()

    async def _api_sendMessage(self, p):
        msg = await super()._api_sendMessage(p)
        self.per_chat[int(p["chat_id"])] += 1
        self.sent.clear()  # the battery only needs the counts
        return msg


def _user(rng: random.Random, uid: int) -> Dict[str, Any]:
    user: Dict[str, Any] = {"id": uid, "is_bot": rng.random() < 0.03, "first_name": bad_text(rng)[:64] or "测试"}
    if rng.random() < 0.7:
        user["language_code"] = rng.choice(("zh-hans", "zh-hant", "en", "", "xx-" + random_text(rng, 5)))
    return user


def _message(rng: random.Random, chat_id: int, chat_type: str, **fields) -> Dict[str, Any]:
    msg = {"message_id": rng.randint(1, 2**31), "date": rng.choice((int(time.time()), 0, 2**31)),
           "chat": {"id": chat_id, "type": chat_type}, **fields}
    if rng.random() < 0.97:
        msg["from"] = _user(rng, abs(chat_id))
    if chat_type != "private":
        msg["chat"]["title"] = bad_text(rng)[:100] or "群"
    return msg


def _command(rng: random.Random, entries: List[str], intents: List[str]) -> str:
    cmd = rng.choice(("/start", "/help", "/reset", "/human", "/start@minzheng_test_bot", "/unknown", "/" + "a" * 40))
    if cmd.startswith("/start") and rng.random() < 0.8:
        arg = rng.choice((rng.choice(entries) if entries else "x", mutate(rng, rng.choice(entries or ["x"])),
                          bad_text(rng)[:64], payload(rng, intents)))
        return f"{cmd} {arg}"
    return cmd


def make_update(rng: random.Random, entries: List[str], intents: List[str], keys
                ) -> Tuple[Dict[str, Any], bool, int, bool]:
    """(update, expect_reply, chat_id, realistic). Chat ids are random, so rate limits per chat stay out of
    the way; an unrealistic update has a shape Telegram never sends."""
    chat_id = rng.randint(1, 2**40)
    if rng.random() < 0.85:
        update, expect, chat_id = _make_update(rng, chat_id, entries, intents, keys)
        realistic = True
    else:
        update, expect, realistic = _impossible_update(rng, chat_id), False, False
    update.setdefault("update_id", rng.randint(1, 2**31))
    return update, expect, chat_id, realistic


def _make_update(rng, chat_id, entries, intents, keys):
    r = rng.random() * 0.8
    if r < 0.25:
        text = rng.choice(CITIZEN_MESSAGES) if rng.random() < 0.6 else bad_text(rng)
        if rng.random() < 0.05:
            text = "中" * rng.choice((4096, 5000))
        return {"message": _message(rng, chat_id, "private", text=text)}, bool(text.strip()), chat_id
    if r < 0.4:
        text = _command(rng, entries, intents)
        cmd = text.split()[0]
        entities = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        if rng.random() < 0.05:  # entities that do not fit the text
            entities = [{"type": "bot_command", "offset": rng.randint(0, 50), "length": rng.randint(0, 100)}]
        return {"message": _message(rng, chat_id, "private", text=text, entities=entities)}, True, chat_id
    if r < 0.5:
        chat_type = rng.choice(("group", "supergroup"))
        text = rng.choice((rng.choice(CITIZEN_MESSAGES), _command(rng, entries, intents), bad_text(rng)))
        return {"message": _message(rng, -chat_id, chat_type, text=text or "你好")}, False, -chat_id
    if r < 0.58:
        button = payload(rng, intents).encode("utf-8", "replace").decode("utf-8")  # from Rasa: valid UTF-8
        data = rng.choice((keys.encode(button), keys.encode(rng.choice(CITIZEN_MESSAGES)), "retry",
                           "r1:assistance.dibao", "r0:" + bad_text(rng)[:40], "r:", "r9:x", bad_text(rng)[:64],
                           random_text(rng, 64), "k:" + random_text(rng, 10)))
        query: Dict[str, Any] = {"id": str(rng.randint(1, 2**62)), "from": _user(rng, chat_id),
                                 "chat_instance": "ci", "data": data}
        if rng.random() < 0.9:
            query["message"] = _message(rng, chat_id, rng.choice(("private", "private", "group")), text="…")
        return {"callback_query": query}, False, chat_id
    if r < 0.65:
        kind = rng.choice(("sticker", "photo", "voice", "location", "contact", "dice"))
        media = {
            "sticker": {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False},
            "photo": [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 90, "height": 90}],
            "voice": {"file_id": "AwAC", "file_unique_id": "AgAE", "duration": 3},
            "location": {"latitude": 30.25, "longitude": 120.16},
            "contact": {"phone_number": "+8613812345678", "first_name": "张"},
            "dice": {"emoji": "🎲", "value": 3},
        }[kind]
        return {"message": _message(rng, chat_id, "private", **{kind: media})}, True, chat_id
    if r < 0.7:
        msg = _message(rng, chat_id, "private", text=bad_text(rng) or "改了")
        msg["edit_date"] = int(time.time())
        return {"edited_message": msg}, True, chat_id
    if r < 0.75:
        msg = {"message_id": 1, "date": 0, "chat": {"id": -chat_id, "type": "channel", "title": "频道"},
               "text": bad_text(rng) or "公告"}
        return {"channel_post": msg}, False, -chat_id
    if r < 0.8:  # joins, leaves and other service messages
        msg = _message(rng, -chat_id, "group", new_chat_members=[_user(rng, 7)])
        return {"message": msg}, False, -chat_id
    return {"message": _message(rng, chat_id, "private", text="你好")}, True, chat_id


def _impossible_update(rng: random.Random, chat_id: int) -> Dict[str, Any]:
    """Shapes Telegram never sends: random JSON, a message without a chat, a chat of no known type."""
    if rng.random() < 0.5:
        update = random_json(rng)
        return update if isinstance(update, dict) else {"message": update}
    msg = _message(rng, chat_id, rng.choice(("private", "sender", random_text(rng, 8))), text=bad_text(rng) or "x")
    for key in rng.sample(["chat", "from", "date", "message_id"], rng.randint(0, 2)):
        msg[key] = random_json(rng)
    return {"message": msg}


async def fuzz_telegram(db_url: str, n: int, seed: int = 4, entries: Optional[List[str]] = None,
                        concurrency: int = 16) -> Tally:
    from telegram import Update

    from bot.catalog.queries import Catalog
    from bot.channel_input import known_intents
    from bot.config import Settings
    from bot.telegram.app import SECRET_HEADER, WEBHOOK_PATH, build_application, create_webhook_app

    rng = random.Random(seed)
    tally = Tally("Telegram updates")
    fake = await CountingTelegram().start()
    rasa = await FakeRasa().start()
    settings = Settings(db_url=db_url, rasa_url=rasa.url, web_host="127.0.0.1", web_port=0, hotline="12345",
                        telegram_token=TOKEN, telegram_rate_per_minute=20, client_secret="fuzz-client-secret")
    app = build_application(settings, rasa.url, base_url=fake.base_url, catalog=Catalog(db_url, "12345"))
    errors: Dict[int, BaseException] = {}

    async def count_error(update, context) -> None:
        errors[id(update)] = context.error

    app.add_error_handler(count_error)
    await app.initialize()
    hook = TestClient(TestServer(create_webhook_app(app, SECRET)))
    await hook.start_server()
    keys = app.bot_data["bridge"].keys
    intents = sorted(known_intents())
    entries = entries or []
    sem = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def one(data: Dict[str, Any], expect: bool, chat_id: int, realistic: bool) -> None:
        tally.inputs += 1
        tally.valid += expect
        if rng.random() < 0.1:
            await through_webhook(data)
        try:
            update = Update.de_json(json.loads(json.dumps(data)), app.bot)
        except Exception as exc:  # noqa: BLE001 - not an update Telegram would send
            update, refusal = None, exc
        else:
            refusal = None
        if update is None:
            tally.statuses["rejected"] += 1
            if expect:  # the battery built a real message wrongly
                tally.failure("lost", "battery: Update.de_json", data, repr(refusal))
            return
        try:
            async with sem:
                await app.process_update(update)
        except Exception as exc:  # noqa: BLE001
            tally.crash("process_update", data, exc)
            return
        exc = errors.pop(id(update), None)
        if exc is not None:
            if realistic:
                tally.crash("Telegram handler", data, exc)
            else:  # logged and apologised for by the error handler; Telegram never sends it
                tally.statuses["impossible update, error handler"] += 1
            return
        tally.statuses["processed"] += 1
        if expect:
            if fake.per_chat[chat_id]:
                tally.replied += 1
            else:
                tally.failure("lost", "Telegram private message", data, "no message sent to the chat")

    async def through_webhook(data: Dict[str, Any]) -> None:
        secret = rng.choice((SECRET, "", "wrong", "é" * 10, SECRET + "x", random_text(rng, 30)))
        body = json.dumps(data).encode() if rng.random() < 0.8 else rng.choice((b"", b"{", b"\xff", b"[]"))
        try:
            headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
            async with hook.post(WEBHOOK_PATH, data=body, headers=headers) as resp:
                status = resp.status
        except ValueError:  # the client library refuses to send that header
            tally.statuses["unsendable"] += 1
            return
        except Exception as exc:  # noqa: BLE001
            tally.crash("Telegram webhook", (secret, body[:200]), exc)
            return
        tally.statuses[f"webhook {status}"] += 1
        if status >= 500:
            tally.failure("server_error", "Telegram webhook", (secret, body[:200]), f"HTTP {status}")
        while not app.update_queue.empty():
            app.update_queue.get_nowait()

    try:
        batch = []
        for _ in range(n):
            batch.append(one(*make_update(rng, entries, intents, keys)))
            if len(batch) >= concurrency * 4:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    finally:
        tally.seconds = time.monotonic() - started
        await hook.close()
        await app.shutdown()
        await app.bot_data["bridge"].close()
        await rasa.stop()
        await fake.stop()
    return tally
