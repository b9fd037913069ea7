"""WeChat's HTTP API (customer-service messages, menu, QR codes) through wechatpy, off the
event loop (wechatpy is synchronous), with the access token shared by every process.

The token lives in the database (``bot.wechat.store``) and is fetched again
``REFRESH_BEFORE`` seconds before it expires, or at once when WeChat says it is invalid
or expired (40001, 40014, 42001). A customer-service message only goes out while the
follower's window is open (5 messages within 48 hours after their message, 3 within a
minute after a click, follow or scan): ``send_text`` returns False otherwise.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from ..config import Settings
from .store import WechatStore

logger = logging.getLogger(__name__)

REFRESH_BEFORE = timedelta(minutes=5)
TOKEN_ERRORS = (40001, 40014, 42001)
TIMEOUT = 10


class WechatAPIError(RuntimeError):
    pass


class WechatAPI:
    def __init__(self, settings: Settings, store: Optional[WechatStore] = None):
        self.settings = settings
        self.base = settings.wechat_api_base.rstrip("/") + "/"
        self.store = store or WechatStore(settings.db_url)
        self._lock = asyncio.Lock()

    # -- access token ----------------------------------------------------------------------------
    def _fetch_token(self) -> str:
        r = requests.get(f"{self.base}token", params={"grant_type": "client_credential",
                                                      "appid": self.settings.wechat_app_id,
                                                      "secret": self.settings.wechat_app_secret}, timeout=TIMEOUT)
        r.raise_for_status()
        data = r.json()
        if not isinstance(data, dict) or not data.get("access_token"):
            raise WechatAPIError(f"no access token (errcode {data.get('errcode') if isinstance(data, dict) else '?'})")
        return self.store.save_token(self.settings.wechat_app_id, data["access_token"],
                                     int(data.get("expires_in") or 7200)).token

    def token_sync(self) -> str:
        cached = self.store.token(self.settings.wechat_app_id)
        if cached is not None and cached.expires_at - self.store.now() > REFRESH_BEFORE:
            return cached.token
        return self._fetch_token()

    def client(self, token: str) -> WeChatClient:
        client = WeChatClient(self.settings.wechat_app_id, self.settings.wechat_app_secret, access_token=token,
                              timeout=TIMEOUT, auto_retry=False)
        client.API_BASE_URL = self.base  # tests: a fake WeChat on loopback
        return client

    def call_sync(self, fn: Callable[[WeChatClient], Any]) -> Any:
        """``fn(client)``, once more with a fresh token when WeChat refuses the cached one."""
        token = self.token_sync()
        try:
            return fn(self.client(token))
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            logger.info("WeChat access token refused (%s): fetching a new one", exc.errcode)
            self.store.forget_token(self.settings.wechat_app_id, token)
            return fn(self.client(self._fetch_token()))

    async def call(self, fn: Callable[[WeChatClient], Any]) -> Any:
        async with self._lock:  # one token refresh at a time in this process
            return await asyncio.to_thread(self.call_sync, fn)

    # -- what the channel uses -------------------------------------------------------------------
    async def send_text(self, openid: str, text: str) -> bool:
        """A customer-service text message (客服消息); False when the window is closed or WeChat refused."""
        try:
            if not await asyncio.to_thread(self.store.take_slot, openid):
                logger.info("customer-service window closed: message not sent")
                return False
            await self.call(lambda c: c.message.send_text(openid, text))
            return True
        except (WeChatClientException, WechatAPIError, requests.RequestException) as exc:
            logger.warning("customer-service message not sent: %s %s", type(exc).__name__,
                           getattr(exc, "errcode", ""))
        except Exception:  # noqa: BLE001 - the database: the message is lost, the service goes on
            logger.warning("customer-service message not sent (database)")
        return False

    async def send_texts(self, openid: str, texts: List[str]) -> int:
        sent = 0
        for text in texts:
            if not await self.send_text(openid, text):
                break
            sent += 1
        return sent

    async def create_menu(self, menu: Dict[str, Any]) -> Dict[str, Any]:
        return await self.call(lambda c: c.menu.create(menu))

    async def qr_link(self, scene: str) -> str:
        """The content of a permanent parametric QR code for ``scene`` (an entry point id)."""
        data = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        result = await self.call(lambda c: c.qrcode.create(data))
        if not isinstance(result, dict) or not result.get("url"):
            raise WechatAPIError("WeChat returned no QR code address")
        return str(result["url"])
