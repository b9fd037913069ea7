"""The WeChat Official Account endpoint: WeChat's XML to and from the gateway.

    GET  /wechat   server verification: signature checked, echostr echoed
    POST /wechat   a message or event, plaintext or safe mode (AES, ``encrypt_type=aes``)

The signature is always checked (403 otherwise); a reply to an encrypted request is
encrypted. A message is taken once (``MsgId``, events ``FromUserName``+``CreateTime``,
in the database): WeChat's retries get ``success``. The reply is passive when the turn
ends within ``wechat_reply_seconds`` (WeChat waits 5 s); otherwise the answer is
``success`` and the reply goes out as customer-service messages (``bot.wechat.api``),
as do the rest of a reply longer than one message and the operator's messages during
a live handoff (``push_loop``). Bad XML, unknown types and media get a polite answer.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Dict, List, Optional

from aiohttp import web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from .. import channels
from ..assistant import Assistant
from ..client import client_key
from ..config import Settings
from ..gateway import Gateway, Said, Turn
from . import format as wxformat
from .api import WechatAPI
from .menu import menu_text, said_for_click
from .store import WechatStore

logger = logging.getLogger(__name__)

PATH = "/wechat"
CHANNEL = channels.require("wechat")
PUSH_RETRY_SECONDS = 60.0  # after a failed push (window closed), wait before trying that follower again
MAX_XML = 64 * 1024
SUCCESS = "success"
VOICE_UNRECOGNISED = "抱歉，我没能听清这条语音。请用文字描述您的问题，例如“高龄津贴怎么申请”。"
MEDIA = ("抱歉，我目前只能看懂文字消息，暂时无法识别图片、视频、位置或链接。"
         "请用文字描述您的问题，例如“高龄津贴怎么申请”。")
WELCOME = "欢迎关注民政助手！"  # then the menu line and the welcome with its options (action_greet)
RATED = "感谢您的反馈！"
MEDIA_TYPES = ("image", "video", "shortvideo", "location", "link", "file")


class WechatChannel:
    def __init__(self, settings: Settings, gateway: Gateway, api: Optional[WechatAPI] = None,
                 store: Optional[WechatStore] = None):
        self.settings = settings
        self.gateway = gateway
        self.store = store or (api.store if api is not None else WechatStore(settings.db_url))
        self.api = api or WechatAPI(settings, self.store)
        self.crypto = (WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
                       if settings.wechat_aes_key else None)
        self.options = wxformat.options_store(settings)  # shared in Redis in production mode
        self._push_after: Dict[str, float] = {}  # sender -> monotonic time of the next push try
        self._locks: Dict[str, asyncio.Lock] = {}
        self.tasks: set = set()

    def lock(self, sender: str) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            for k in [k for k, lk in self._locks.items() if not lk.locked()]:
                del self._locks[k]
        return self._locks.setdefault(sender, asyncio.Lock())

    # -- HTTP ----------------------------------------------------------------------------------
    def signed(self, request: web.Request) -> bool:
        q = request.query
        try:
            check_signature(self.settings.wechat_token, q.get("signature", ""), q.get("timestamp", ""),
                            q.get("nonce", ""))
        except InvalidSignatureException:
            return False
        return True

    async def verify(self, request: web.Request) -> web.Response:
        if not self.signed(request):
            return web.Response(status=403, text="invalid signature")
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        if not self.signed(request):
            logger.warning("WeChat POST with a bad signature")
            return web.Response(status=403, text="invalid signature")
        body = await request.content.read(MAX_XML + 1)
        if len(body) > MAX_XML:
            return web.Response(status=413, text=SUCCESS)
        q = request.query
        encrypted = q.get("encrypt_type") == "aes"
        try:
            xml = body.decode("utf-8")
            if encrypted:
                if self.crypto is None:
                    return web.Response(status=400, text=SUCCESS)
                xml = self.crypto.decrypt_message(xml, q.get("msg_signature", ""), q.get("timestamp", ""),
                                                  q.get("nonce", ""))
            message = parse_message(xml)
            if message is None or not getattr(message, "source", None):
                raise ValueError("not a WeChat message")
        except (InvalidSignatureException, InvalidAppIdException):
            logger.warning("WeChat message with a bad msg_signature or app id")
            return web.Response(status=403, text="invalid signature")
        except Exception:  # noqa: BLE001 - malformed XML or ciphertext: never a traceback
            logger.warning("malformed WeChat message")
            return web.Response(status=400, text=SUCCESS)
        texts = await self.handle(message)
        if not texts:
            return web.Response(text=SUCCESS)
        reply = create_reply(texts[0], message).render()
        if encrypted:
            reply = self.crypto.encrypt_message(reply, q.get("nonce", ""), q.get("timestamp") or None)
        return web.Response(text=reply, content_type="application/xml", charset="utf-8")

    # -- one message -------------------------------------------------------------------------------
    def dedup_key(self, message) -> str:
        if getattr(message, "id", None):
            return f"msg:{message.id}"
        return f"ev:{message.source}:{message.create_time.timestamp() if message.create_time else ''}"

    async def handle(self, message) -> List[str]:
        """The passive reply's text (one chunk) or [] for ``success``; the rest goes out later."""
        openid = str(message.source or "")
        if not openid:
            return []
        try:
            first = await asyncio.to_thread(self.store.first_time, self.dedup_key(message))
        except Exception:  # noqa: BLE001 - database down: answer (a retry may be answered twice)
            first = True
        if not first:
            return []
        kind = "message" if message.type != "event" else "event"
        try:
            await asyncio.to_thread(self.store.open_window, openid, kind)
        except Exception:  # noqa: BLE001 - customer-service messages may be refused later
            logger.warning("customer-service window not recorded")
        work = asyncio.create_task(self.turn(openid, message))
        self.tasks.add(work)
        work.add_done_callback(self.tasks.discard)
        try:
            texts = await asyncio.wait_for(asyncio.shield(work), timeout=self.settings.wechat_reply_seconds)
        except asyncio.TimeoutError:  # too slow for a passive reply: deliver it when it is ready
            work.add_done_callback(lambda t: self._later(openid, t))
            return []
        if len(texts) > 1:
            self._spawn(self.api.send_texts(openid, texts[1:]))
        return texts[:1]

    def _later(self, openid: str, task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        if task.result():
            self._spawn(self.api.send_texts(openid, task.result()))

    def _spawn(self, coro) -> None:
        t = asyncio.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def turn(self, openid: str, message) -> List[str]:
        sender = CHANNEL.sender(openid)
        async with self.lock(sender):
            try:
                return await self._turn(sender, openid, message)
            except Exception:  # noqa: BLE001 - a polite apology, never a silent failure
                logger.exception("WeChat turn failed")
                return [Assistant.unavailable(self.settings.hotline).text]

    async def _turn(self, sender: str, openid: str, message) -> List[str]:
        t = message.type
        prefix: List[str] = []
        if t == "text":
            said = self._chosen(sender, message.content or "")
            if isinstance(said, str):
                return [said]
        elif t == "voice":
            recognition = (getattr(message, "recognition", None) or "").strip()
            if not recognition:
                return [VOICE_UNRECOGNISED]
            said = Said.text(recognition)
        elif t in MEDIA_TYPES:
            return [MEDIA]
        elif t == "event":
            event = (message.event or "").lower()
            scene = getattr(message, "scene_id", None)
            if event in ("subscribe", "subscribe_scan", "scan"):
                if event != "scan":
                    prefix = [WELCOME, menu_text()]
                said = Said.entry(str(scene)) if scene else Said.rasa("/greet")
            elif event == "click":
                say = said_for_click(getattr(message, "key", ""))
                if say is None:
                    return []
                said = Said.payload(say) if say.startswith("/") else Said.text(say)
            else:  # unsubscribe, view, location reports, template results...: nothing to say
                return []
        else:
            return [MEDIA]
        turn = await self.gateway.converse(CHANNEL.name, sender, said, self.metadata(openid, said),
                                           limit=lambda: self._limit(openid))
        return self.render(sender, turn, prefix)

    def _chosen(self, sender: str, content: str):
        """A numbered option (``Said``), a rating's thanks (str), or the typed text."""
        payload = self.options.choose(sender, content)
        if payload is None:
            return Said.text(content)
        if payload.startswith(wxformat.RATE):
            helpful, _, service = payload[len(wxformat.RATE):].partition(":")
            self._spawn(self._rate(sender, service, helpful == "1"))
            self.options.offer(sender, [])
            return RATED
        return Said.payload(payload)

    async def _rate(self, sender: str, service: str, helpful: bool) -> None:
        try:
            await self.gateway.rate_sent(CHANNEL.name, sender, service, helpful)
        except Exception:  # noqa: BLE001 - a lost rating is not worth an error message
            logger.warning("rating not recorded")

    def metadata(self, openid: str, said: Said) -> Dict[str, Any]:
        return {"entry": said.value if said.kind == "entry" else None,
                "client": client_key(openid, self.settings.client_secret)}

    async def _limit(self, openid: str) -> Optional[str]:
        key = f"wechat:s:{client_key(openid, self.settings.client_secret)}"
        if await self.gateway.throttled(key, self.settings.wechat_rate_per_minute):
            return Assistant.channel_notice("rate_limited").text
        return None

    def render(self, sender: str, turn: Turn, prefix: List[str] = ()) -> List[str]:
        messages = turn.messages
        if turn.status == "staff":
            messages = [dict(m, text=("人工客服：" if m.get("kind") == "operator" else "") + m["text"])
                        for m in messages]
        text, options = wxformat.render(messages)
        if turn.status == "bot":
            self.options.offer(sender, options)
        whole = "\n\n".join([*prefix, text]) if text else "\n\n".join(prefix)
        return wxformat.split(whole, CHANNEL) if whole else []

    # -- live handoff: operator messages pushed as customer-service messages --------------------------
    async def push_loop(self, every: float = 3.0) -> None:
        while True:
            try:
                for sender in await self.gateway.senders_with_news(CHANNEL.name):
                    openid = CHANNEL.local_id(sender)
                    if openid is None:
                        continue
                    if self._push_after.get(sender, 0.0) > time.monotonic():
                        continue
                    async with self.lock(sender):
                        staff = await self.gateway.staff_messages(sender, mark=False)
                        texts = self.render(sender, Turn("staff", staff, handoff=True))
                        if await self.api.send_texts(openid, texts) == len(texts):
                            await self.gateway.staff_delivered(staff)
                            self._push_after.pop(sender, None)
                        else:
                            # window closed or WeChat refused: the messages stay undelivered; they go
                            # out with the citizen's next reply, or on a later try
                            self._push_after[sender] = time.monotonic() + PUSH_RETRY_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep pushing after a database or network hiccup
                logger.warning("WeChat handoff push failed")
            await asyncio.sleep(every)


def setup(app: web.Application, settings: Settings, gateway: Gateway, push_every: float = 3.0,
          api: Optional[WechatAPI] = None) -> WechatChannel:
    """Mount the endpoint on the web chat's app (only the web port is public)."""
    channel = WechatChannel(settings, gateway, api=api)
    app["wechat"] = channel
    app.router.add_get(PATH, channel.verify)
    app.router.add_post(PATH, channel.receive)

    async def start(app: web.Application) -> None:
        app["wechat_push"] = asyncio.create_task(channel.push_loop(push_every))

    async def stop(app: web.Application) -> None:
        app["wechat_push"].cancel()
        for t in list(channel.tasks):
            t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app["wechat_push"]

    app.on_startup.append(start)
    app.on_cleanup.insert(0, stop)
    return channel
