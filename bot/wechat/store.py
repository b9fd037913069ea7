"""What the WeChat channel keeps in the database, shared by every process (migration 0012):

- ``wechat_seen``: messages already taken (``MsgId``, or ``FromUserName``+``CreateTime`` for
  events), so WeChat's retries are answered once, whichever process they reach;
- ``wechat_tokens``: the API access token and when it expires (one token per account);
- ``wechat_windows``: each follower's customer-service window (客服消息): opened by their
  last message, with how many messages we sent in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, delete, select, update
from sqlalchemy.exc import IntegrityError

from ..catalog import models
from ..catalog.db import session_scope

SEEN_KEEP = timedelta(hours=1)  # WeChat retries within ~15 s
# after a user message: 5 messages within 48 hours; after a click, follow or scan: 3 within a minute
WINDOWS = {"message": (timedelta(hours=48), 5), "event": (timedelta(minutes=1), 3)}


class WechatSeen(models.Base):
    __tablename__ = "wechat_seen"

    key = Column(String(160), primary_key=True)
    at = Column(DateTime, nullable=False, index=True)


class WechatToken(models.Base):
    __tablename__ = "wechat_tokens"

    app_id = Column(String(64), primary_key=True)
    token = Column(String(1024), nullable=False)
    expires_at = Column(DateTime, nullable=False)


class WechatWindow(models.Base):
    __tablename__ = "wechat_windows"

    openid = Column(String(128), primary_key=True)
    kind = Column(String(16), nullable=False)  # "message" | "event": what opened it
    opened_at = Column(DateTime, nullable=False)
    sent = Column(Integer, nullable=False, default=0)


@dataclass(frozen=True)
class Token:
    token: str
    expires_at: datetime


class WechatStore:
    def __init__(self, db_url: str, now=datetime.utcnow):
        self.db_url = db_url
        self.now = now

    # -- de-duplication ------------------------------------------------------------------------
    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen (atomic: the primary key decides between processes)."""
        now = self.now()
        try:
            with session_scope(self.db_url) as s:
                s.execute(delete(WechatSeen).where(WechatSeen.at < now - SEEN_KEEP))
                s.add(WechatSeen(key=key[:160], at=now))
        except IntegrityError:
            return False
        return True

    # -- access token ------------------------------------------------------------------------------
    def token(self, app_id: str) -> Optional[Token]:
        with session_scope(self.db_url) as s:
            row = s.get(WechatToken, app_id)
            return Token(row.token, row.expires_at) if row else None

    def save_token(self, app_id: str, token: str, expires_in: int) -> Token:
        expires_at = self.now() + timedelta(seconds=max(0, int(expires_in)))
        with session_scope(self.db_url) as s:
            row = s.get(WechatToken, app_id)
            if row is None:
                s.add(WechatToken(app_id=app_id, token=token, expires_at=expires_at))
            else:
                row.token, row.expires_at = token, expires_at
        return Token(token, expires_at)

    def forget_token(self, app_id: str, token: str) -> None:
        with session_scope(self.db_url) as s:
            s.execute(delete(WechatToken).where(WechatToken.app_id == app_id, WechatToken.token == token))

    # -- customer-service window -----------------------------------------------------------------
    def open_window(self, openid: str, kind: str) -> None:
        """The follower wrote (``message``) or clicked, followed, scanned (``event``)."""
        now = self.now()
        with session_scope(self.db_url) as s:
            row = s.get(WechatWindow, openid)
            if row is None:
                s.add(WechatWindow(openid=openid, kind=kind, opened_at=now, sent=0))
            elif kind == "message" or row.kind == "event" or self._closed(row, now):
                row.kind, row.opened_at, row.sent = kind, now, 0

    def _closed(self, row: WechatWindow, now: datetime) -> bool:
        span, most = WINDOWS.get(row.kind, WINDOWS["event"])
        return now - row.opened_at > span or row.sent >= most

    def take_slot(self, openid: str) -> bool:
        """One customer-service message may go to ``openid`` now (counted); False: the window is closed."""
        now = self.now()
        with session_scope(self.db_url) as s:
            row = s.execute(select(WechatWindow).where(WechatWindow.openid == openid)).scalar_one_or_none()
            if row is None or self._closed(row, now):
                return False
            res = s.execute(update(WechatWindow).where(WechatWindow.openid == openid,
                                                       WechatWindow.sent == row.sent)
                            .values(sent=row.sent + 1).execution_options(synchronize_session=False))
            return res.rowcount == 1

    def slots_left(self, openid: str) -> int:
        now = self.now()
        with session_scope(self.db_url) as s:
            row = s.get(WechatWindow, openid)
            if row is None or now - row.opened_at > WINDOWS.get(row.kind, WINDOWS["event"])[0]:
                return 0
            return max(0, WINDOWS.get(row.kind, WINDOWS["event"])[1] - row.sent)
