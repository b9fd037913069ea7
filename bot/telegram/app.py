"""The Telegram front end: a python-telegram-bot ``Application`` in front of Rasa.

Each citizen message goes to Rasa's REST channel (``bot.rasa_client``) with
sender ``tg-<chat id>`` and metadata (channel, entry point, language, and ``client``:
a keyed hash of the chat id for the actions' per-client attempt limits); the replies
come back as Telegram HTML with inline keyboards. One handler per concern:

    group -2  private chats only: in a group (where every member would share one
              conversation and see each other's answers) the bot says once that it
              serves private chats, and ignores the rest; button presses in a group
              get the same note as a toast
    group -1  rate limit per chat (floods stop here, Rasa never sees them)
    /start [payload]   welcome, or a QR deep link opening a service at an office
    /help /reset /human, other commands -> a short list of commands
    text               -> Rasa
    button press       -> Rasa (payload checked again), or "重试" after an outage
    photo, sticker...  -> "please type" (private chats only)
    edited message     -> "send it again"
    anything else (channel posts, joins...) is ignored

Rasa or the action server down: an apology with the hotline and a "重试" button that
resends the citizen's message, which is kept until it gets an answer. Polling by
default; ``--mode webhook`` runs an aiohttp server that checks Telegram's secret
token header. Logs never contain message text, names or phone numbers.
"""
from __future__ import annotations

import asyncio
import hmac
import html
import logging
import re
import secrets
import traceback
from collections import OrderedDict
from contextlib import asynccontextmanager, suppress
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import ClientSession, web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from .. import channels, entry
from ..assistant import Assistant, Button, Reply
from ..catalog.queries import Catalog
from ..channel_input import prepare_payload, prepare_text
from ..client import client_key
from ..config import Settings
from ..gateway import Gateway, Said
from . import format as tgformat
from .guards import RateLimiter, bridge_of, private_only, rate_guard
from .keys import RATE, RETRY, CallbackKeys

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COMMANDS = (
    ("start", "开始 / 业务菜单"),
    ("help", "我能办什么"),
    ("reset", "重新开始（清除本次对话）"),
    ("human", "转人工"),
)
_TAG = re.compile(r"<[^>]*>")


CHANNEL = channels.require("telegram")


def sender_id(chat_id: int) -> str:
    return CHANNEL.sender(chat_id)


class Bridge:
    """State shared by the handlers: the Rasa connection and small per-chat maps."""

    def __init__(self, settings: Settings, rasa_url: str, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        self.keys = CallbackKeys()
        self.limiter = RateLimiter(settings.telegram_rate_per_minute)
        # the last message of a chat that Rasa could not answer, resent by "重试"
        self.pending: OrderedDict[int, Tuple[str, Dict[str, Any]]] = OrderedDict()
        self._locks: Dict[int, asyncio.Lock] = {}
        self.gateway = Gateway(settings, rasa_url, catalog=catalog)
        self.desk = self.gateway.desk
        # the last question typed in each chat, sent with a 没帮助 rating for staff review
        self.last_question: OrderedDict[int, str] = OrderedDict()
        # groups already told that the assistant serves private chats only
        self.told_groups: OrderedDict[int, None] = OrderedDict()

    # -- plumbing ------------------------------------------------------------------
    @property
    def http(self) -> ClientSession:
        return self.gateway.http

    async def close(self) -> None:
        await self.gateway.close()

    def lock(self, chat_id: int) -> asyncio.Lock:
        """One update at a time per chat (updates of different chats run concurrently)."""
        if len(self._locks) > 10_000:
            for cid in [c for c, lk in self._locks.items() if not lk.locked()]:
                del self._locks[cid]
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def remember_pending(self, chat_id: int, message: str, metadata: Dict[str, Any]) -> None:
        self.pending[chat_id] = (message, metadata)
        self.pending.move_to_end(chat_id)
        while len(self.pending) > 10_000:
            self.pending.popitem(last=False)

    # -- output --------------------------------------------------------------------
    def keyboard(self, buttons: List[Dict[str, str]], rate_service: Optional[str] = None
                 ) -> Optional[InlineKeyboardMarkup]:
        """Buttons in rows; under a guide, a last row to rate it (有帮助 / 没帮助)."""
        titles = [b["title"][:40] or "…" for b in buttons]
        rows = [[InlineKeyboardButton(titles[i], callback_data=self._callback_data(buttons[i]["payload"]))
                 for i in row] for row in tgformat.keyboard_rows(titles)]
        if rate_service and len(f"{RATE}1:{rate_service}".encode()) <= 64:
            rows.append([InlineKeyboardButton("👍 有帮助", callback_data=f"{RATE}1:{rate_service}"),
                         InlineKeyboardButton("👎 没帮助", callback_data=f"{RATE}0:{rate_service}")])
        return InlineKeyboardMarkup(rows) if rows else None

    def _callback_data(self, payload: str) -> str:
        return RETRY if payload == RETRY else self.keys.encode(payload)

    async def send_messages(self, bot, chat_id: int, messages: List[Dict[str, Any]]) -> None:
        for chunk, last, m in tgformat.iter_chunks(messages):
            rate = m.get("service") if m.get("kind") == "guide" else None
            markup = self.keyboard(m.get("buttons") or [], rate) if last else None
            try:
                await bot.send_message(
                    chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except BadRequest as exc:
                if "parse" not in str(exc).lower() and "entit" not in str(exc).lower():
                    raise
                # Telegram could not parse our HTML: send the same words as plain text.
                logger.warning("Telegram rejected the HTML of a message; sent as plain text")
                await bot.send_message(chat_id, html.unescape(_TAG.sub("", chunk)), reply_markup=markup)

    async def send_reply(self, bot, chat_id: int, reply: Reply, extra: Tuple[Button, ...] = ()) -> None:
        buttons = [b.as_dict() for b in (*reply.buttons, *extra)]
        await self.send_messages(bot, chat_id, [{"text": reply.text, "html": reply.html, "buttons": buttons}])

    @asynccontextmanager
    async def typing(self, bot, chat_id: int):
        """Show "typing…" while we wait for Rasa (Telegram clears it after ~5 s).

        The loop is stopped with an event, not cancelled: cancelling a task inside an
        httpx request can leave PTB's connection pool waiting forever (anyio on 3.10).
        """
        stop = asyncio.Event()

        async def keep_typing() -> None:
            while not stop.is_set():
                with suppress(TelegramError):
                    await bot.send_chat_action(chat_id, ChatAction.TYPING)
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 4.5)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait({task}, timeout=5)

    # -- the conversation ----------------------------------------------------------
    def metadata(self, update: Update, entry_id: Optional[str] = None) -> Dict[str, Any]:
        user = update.effective_user
        chat = update.effective_chat
        return {
            "channel": CHANNEL.name,
            "entry": entry_id,
            "language": (user.language_code if user else None) or None,
            "client": client_key(str(chat.id if chat else "?"), self.settings.client_secret),
        }

    def first_time_in_group(self, chat_id: int) -> bool:
        if chat_id in self.told_groups:
            return False
        self.told_groups[chat_id] = None
        while len(self.told_groups) > 10_000:
            self.told_groups.popitem(last=False)
        return True

    async def converse(self, bot, chat_id: int, message: str, metadata: Dict[str, Any]) -> bool:
        """Send one message to Rasa and its replies to the chat. False when Rasa was down."""
        async with self.lock(chat_id):
            return await self._converse_locked(bot, chat_id, message, metadata)

    async def _converse_locked(self, bot, chat_id: int, message: str, metadata: Dict[str, Any]) -> bool:
        """The turn runs in the gateway (bot.gateway); here only its Telegram rendering.
        ``message`` was checked by the handler (or is a command's own message)."""
        turn = await self.gateway.converse(CHANNEL.name, sender_id(chat_id), Said.rasa(message), metadata,
                                           waiting=lambda: self.typing(bot, chat_id))
        if turn.status == "staff":
            await self.send_staff(bot, chat_id, turn.messages)
            return True
        if turn.status == "unavailable":
            self.remember_pending(chat_id, message, metadata)
            await self.send_reply(bot, chat_id, Assistant.unavailable(self.settings.hotline),
                                  extra=(Button("重试", RETRY),))
            return False
        self.pending.pop(chat_id, None)
        await self.send_messages(bot, chat_id, turn.messages)
        return True

    async def send_staff(self, bot, chat_id: int, messages: List[Dict[str, Any]]) -> None:
        for m in messages:
            prefix = "<b>人工客服：</b>\n" if m.get("kind") == "operator" else ""
            await self.send_messages(bot, chat_id, [{"text": m["text"], "html": prefix + html.escape(m["text"]),
                                                      "buttons": []}])

    async def push_staff_messages(self, bot, chat_id: int) -> None:
        await self.send_staff(bot, chat_id, await self.gateway.staff_messages(sender_id(chat_id)))

    async def push_loop(self, bot, every: float = 3.0) -> None:
        """Deliver operator and system messages of Telegram handoffs as they are written."""
        while True:
            try:
                for sender in await self.gateway.senders_with_news(CHANNEL.name):
                    local = CHANNEL.local_id(sender)
                    if local is not None and local.lstrip("-").isdigit():
                        chat_id = int(local)
                        async with self.lock(chat_id):
                            await self.push_staff_messages(bot, chat_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep pushing after a database or network hiccup
                logger.warning("handoff push failed")
            await asyncio.sleep(every)

    async def retry(self, bot, chat_id: int) -> None:
        async with self.lock(chat_id):
            pending = self.pending.get(chat_id)
            if pending is None:
                await self.send_reply(bot, chat_id, Assistant.channel_notice("button_expired"))
                return
            await self._converse_locked(bot, chat_id, *pending)

    async def reset(self, bot, chat_id: int) -> bool:
        async with self.lock(chat_id):
            self.pending.pop(chat_id, None)
            self.limiter.forget(chat_id)
            if not await self.gateway.restart(sender_id(chat_id)):
                await self.send_reply(bot, chat_id, Assistant.unavailable(self.settings.hotline))
                return False
            await self.send_reply(bot, chat_id, Assistant.channel_notice("conversation_reset"))
            return True


# -- handlers --------------------------------------------------------------------------


_bridge = bridge_of


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bridge = _bridge(context)
    raw = context.args[0] if context.args else None
    message, entry_id = None, None
    if raw is not None:
        try:
            message = await asyncio.to_thread(entry.rasa_message, bridge.catalog, raw)
        except Exception:  # noqa: BLE001 - catalogue down: greet (action_greet's basic welcome)
            logger.warning("entry point lookup failed")
        entry_id = raw if message else None
    await bridge.converse(context.bot, update.effective_chat.id, message or "/greet",
                          bridge.metadata(update, entry_id))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bridge = _bridge(context)
    await bridge.converse(context.bot, update.effective_chat.id, "/ask_capabilities", bridge.metadata(update))


async def human(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bridge = _bridge(context)
    await bridge.converse(context.bot, update.effective_chat.id, "/human_handoff", bridge.metadata(update))


async def reset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bridge = _bridge(context)
    chat_id = update.effective_chat.id
    if await bridge.reset(context.bot, chat_id):
        await bridge.converse(context.bot, chat_id, "/greet", bridge.metadata(update))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _bridge(context).send_reply(context.bot, update.effective_chat.id,
                                      Assistant.channel_notice("unknown_command"))


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bridge = _bridge(context)
    chat_id = update.effective_chat.id
    prepared = prepare_text(update.message.text)
    if prepared.message is None:
        await bridge.send_reply(context.bot, chat_id, Assistant.for_problem(prepared.problem))
        return
    bridge.last_question[chat_id] = prepared.message
    bridge.last_question.move_to_end(chat_id)
    while len(bridge.last_question) > 10_000:
        bridge.last_question.popitem(last=False)
    await bridge.converse(context.bot, chat_id, prepared.message, bridge.metadata(update))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bridge = _bridge(context)
    query = update.callback_query
    if (query.data or "").startswith(RATE):
        await rate(bridge, update)
        return
    with suppress(TelegramError):  # a query older than ~15 min can no longer be answered
        await query.answer()
    chat = update.effective_chat
    if chat is None:  # a button on an inline-mode message: no chat to answer in
        return
    if query.data == RETRY:
        await bridge.retry(context.bot, chat.id)
        return
    payload = bridge.keys.decode(query.data)
    if payload is None:
        await bridge.send_reply(context.bot, chat.id, Assistant.channel_notice("button_expired"))
        return
    prepared = prepare_payload(payload)
    if prepared.message is None:
        await bridge.send_reply(context.bot, chat.id, Assistant.for_problem(prepared.problem))
        return
    await bridge.converse(context.bot, chat.id, prepared.message, bridge.metadata(update))


async def rate(bridge: Bridge, update: Update) -> None:
    """有帮助 / 没帮助 under a guide: counted, and a 没帮助 goes to staff review with the question."""
    query = update.callback_query
    data = query.data or ""
    helpful, _, service = data[len(RATE):].partition(":")
    chat = update.effective_chat
    text = "感谢您的反馈！"
    if helpful in ("0", "1") and service and chat is not None:
        question = bridge.last_question.get(chat.id) if helpful == "0" else None

        try:
            if not await bridge.gateway.rate(CHANNEL.name, service, helpful == "1", question):
                text = "这个按钮已经失效。"
        except Exception:  # noqa: BLE001 - a lost rating is not worth an error message
            logger.warning("rating not recorded")
    with suppress(TelegramError):
        await query.answer(text)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _bridge(context).send_reply(context.bot, update.effective_chat.id, Assistant.channel_notice("non_text"))


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _bridge(context).send_reply(context.bot, update.effective_chat.id,
                                      Assistant.channel_notice("edited_message"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log where it failed, never what the citizen wrote; apologise if we can."""
    err = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    tb = "".join(traceback.format_tb(err.__traceback__)) if err is not None else ""
    logger.error("error handling update %s: %s\n%s", update_id, type(err).__name__, tb)
    if isinstance(update, Update) and update.effective_chat is not None:
        bridge = _bridge(context)
        with suppress(Exception):
            await bridge.send_reply(context.bot, update.effective_chat.id,
                                    Assistant.unavailable(bridge.settings.hotline))


def install_handlers(app: Application) -> None:
    app.add_handler(TypeHandler(Update, private_only), group=-2)
    app.add_handler(TypeHandler(Update, rate_guard), group=-1)
    app.add_handler(CommandHandler("start", start, filters=filters.UpdateType.MESSAGE))
    app.add_handler(CommandHandler("help", help_command, filters=filters.UpdateType.MESSAGE))
    app.add_handler(CommandHandler("reset", reset, filters=filters.UpdateType.MESSAGE))
    app.add_handler(CommandHandler("human", human, filters=filters.UpdateType.MESSAGE))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, text_message))
    app.add_handler(CallbackQueryHandler(button))
    media = (filters.PHOTO | filters.Sticker.ALL | filters.VOICE | filters.AUDIO | filters.VIDEO
             | filters.VIDEO_NOTE | filters.ANIMATION | filters.Document.ALL | filters.LOCATION
             | filters.CONTACT | filters.POLL | filters.Dice.ALL)
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & media, non_text))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, edited))
    app.add_error_handler(on_error)


# -- building and running ----------------------------------------------------------------


def build_application(settings: Settings, rasa_url: str, *, base_url: Optional[str] = None,
                      catalog: Optional[Catalog] = None) -> Application:
    """The PTB application. ``base_url`` points the Bot API elsewhere (tests: a fake server)."""
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_TOKEN is not set")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token in URLs
    builder = Application.builder().token(settings.telegram_token).concurrent_updates(True)
    if base_url:
        builder = builder.base_url(base_url.rstrip("/") + "/bot").base_file_url(base_url.rstrip("/") + "/file/bot")
    app = builder.build()
    app.bot_data["bridge"] = Bridge(settings, rasa_url, catalog or Catalog(settings.db_url, settings.hotline))
    install_handlers(app)
    return app


async def announce_commands(app: Application) -> None:
    with suppress(TelegramError):
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])


def start_push(app: Application) -> None:
    """Start delivering operator messages of live handoffs (see Bridge.push_loop)."""
    app.bot_data["push"] = asyncio.create_task(app.bot_data["bridge"].push_loop(app.bot))


async def stop_push(app: Application) -> None:
    task = app.bot_data.pop("push", None)
    if task is not None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def on_start(app: Application) -> None:
    await announce_commands(app)
    start_push(app)


async def close_bridge(app: Application) -> None:
    await stop_push(app)
    await app.bot_data["bridge"].close()


def create_webhook_app(app: Application, secret: str) -> web.Application:
    """aiohttp app receiving Telegram's POSTs; only requests with the secret header count."""

    async def receive(request: web.Request) -> web.Response:
        # as bytes: compare_digest refuses non-ASCII str, and a header may carry anything
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, secret.encode("utf-8")):
            return web.Response(status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, app.bot)
        except Exception:  # noqa: BLE001 - malformed body: Telegram never sends one
            return web.Response(status=400)
        if update is None:
            return web.Response(status=400)
        await app.update_queue.put(update)
        return web.Response(status=200)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(WEBHOOK_PATH, receive)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def run_webhook(app: Application, webhook_url: str, secret: str, listen: str, port: int) -> None:
    runner = web.AppRunner(create_webhook_app(app, secret))
    async with app:
        await app.start()
        await runner.setup()
        await web.TCPSite(runner, listen, port).start()
        await app.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        await on_start(app)
        print(f"Telegram webhook: {webhook_url} (listening on {listen}:{port})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            await app.stop()
            await close_bridge(app)


def main(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if not settings.telegram_token:
        print("error: set TELEGRAM_TOKEN (from @BotFather) to run the Telegram front end", flush=True)
        return 1
    app = build_application(settings, args.rasa_url)
    if args.mode == "polling":
        app.post_init = on_start
        app.post_shutdown = close_bridge
        print("Telegram bot running (polling). Press Ctrl-C to stop.", flush=True)
        app.run_polling(allowed_updates=Update.ALL_TYPES)
        return 0
    base = args.webhook_url or (f"{settings.public_url}{WEBHOOK_PATH}" if settings.public_url else None)
    if not base or not base.startswith("https://"):
        print("error: webhook mode needs a public HTTPS URL: --webhook-url or MINZHENG_PUBLIC_URL", flush=True)
        return 1
    secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
    try:
        asyncio.run(run_webhook(app, base, secret, args.listen, args.port))
    except KeyboardInterrupt:
        pass
    return 0
