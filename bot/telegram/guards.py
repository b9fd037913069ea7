"""Handlers that run before the others (PTB handler groups -2 and -1): private chats
only, and a rate limit per chat. See the docstring of bot.telegram.app."""
from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from contextlib import suppress
from typing import Deque, Tuple

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from ..assistant import Assistant

logger = logging.getLogger(__name__)

GROUP_NOTICE = "您好！为保护您的个人信息，民政助手只在私聊中提供服务，请{where}向我提问。"
GROUP_TOAST = "民政助手只在私聊中提供服务，请私聊我提问。"


def bridge_of(context: ContextTypes.DEFAULT_TYPE):
    """The application's bot.telegram.app.Bridge."""
    return context.application.bot_data["bridge"]


class RateLimiter:
    """At most ``per_minute`` updates per chat in any 60 seconds (sliding window).

    ``hit`` answers "ok", "warn" (the first refusal: tell the citizen) or "drop".
    """

    def __init__(self, per_minute: int, window: float = 60.0, max_chats: int = 50_000, clock=time.monotonic):
        self.per_minute = max(1, per_minute)
        self.window = window
        self.max_chats = max_chats
        self.clock = clock
        self._hits: OrderedDict[int, Tuple[Deque[float], bool]] = OrderedDict()

    def hit(self, chat_id: int) -> str:
        now = self.clock()
        hits, warned = self._hits.pop(chat_id, (deque(), False))
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if not hits:
            warned = False
        if len(hits) >= self.per_minute:
            verdict = "drop" if warned else "warn"
            self._hits[chat_id] = (hits, True)
        else:
            hits.append(now)
            verdict = "ok"
            self._hits[chat_id] = (hits, warned)
        while len(self._hits) > self.max_chats:
            self._hits.popitem(last=False)
        return verdict

    def forget(self, chat_id: int) -> None:
        self._hits.pop(chat_id, None)


async def private_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Serve private chats only; a group hears once why (see the module docstring)."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    bridge = bridge_of(context)
    if update.callback_query:
        with suppress(TelegramError):
            await update.callback_query.answer(GROUP_TOAST)
    elif update.message and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) \
            and bridge.first_time_in_group(chat.id):
        logger.info("message in a group chat: told once to use a private chat")
        name = bridge.settings.telegram_bot_username
        where = f"私聊 @{name} " if name else "点击我的头像，在私聊窗口中"
        with suppress(TelegramError):
            await context.bot.send_message(chat.id, GROUP_NOTICE.format(where=where))
    raise ApplicationHandlerStop


async def rate_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not (update.message or update.callback_query or update.edited_message):
        return
    verdict = bridge_of(context).limiter.hit(chat.id)
    if verdict == "ok":
        return
    if update.callback_query:
        with suppress(TelegramError):
            await update.callback_query.answer()
    if verdict == "warn":
        logger.info("rate limit reached for a chat")
        await bridge_of(context).send_reply(context.bot, chat.id, Assistant.channel_notice("rate_limited"))
    raise ApplicationHandlerStop
