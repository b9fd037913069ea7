"""Settings read from environment variables, with defaults for a local run."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = Path(__file__).resolve().parent / "content"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
VAR_DIR = PROJECT_ROOT / "var"


def default_db_url() -> str:
    return f"sqlite:///{VAR_DIR / 'catalog.db'}"


def secret_file(name: str, var_dir: Path | None = None) -> str:
    """A random secret kept in ``var/<name>`` (created on first use, mode 0600)."""
    path = (var_dir or VAR_DIR) / name
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return value


# The token the README of earlier versions published; refused beyond loopback (bot.stack).
PUBLISHED_RASA_TOKEN = "minzheng-local-token"
MIN_TOKEN_LENGTH = 16


def rasa_token(var_dir: Path | None = None) -> str:
    """Token of Rasa's HTTP API: ``RASA_TOKEN``, otherwise a random one kept in
    ``var/rasa-token`` (0600). Every process of a deployment reads it here, so the
    Rasa server, the web chat, the console and ``python -m bot ask`` agree."""
    return os.environ.get("RASA_TOKEN", "").strip() or secret_file("rasa-token", var_dir)


def weak_rasa_token(token: str) -> bool:
    """The published default or too short to resist guessing."""
    return token == PUBLISHED_RASA_TOKEN or len(token) < MIN_TOKEN_LENGTH


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    db_url: str
    rasa_url: str
    web_host: str
    web_port: int
    hotline: str
    # Telegram front end (bot.telegram); empty token = not started by `make run`
    telegram_token: str = ""
    telegram_bot_username: str = ""
    telegram_webhook_secret: str = ""
    telegram_rate_per_minute: int = 20
    # WeChat Official Account (bot.wechat): served at /wechat on the web chat when token, app id
    # and secret are set; the AES key (EncodingAESKey) for safe mode (安全模式)
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    wechat_rate_per_minute: int = 20
    wechat_reply_seconds: float = 4.0  # WeChat waits 5 s for a passive reply
    # minutes a handed-off conversation waits for an operator before the citizen gets the hotline
    handoff_wait_minutes: int = 5
    # token of Rasa's HTTP API (tracker reads, /model/parse for the staff console); see rasa_token()
    rasa_token: str = ""
    # public address of the web chat (QR codes with --target web, Telegram webhook base)
    public_url: str = ""
    # reverse proxies whose X-Forwarded-For is believed (bot.client); empty = none
    trusted_proxies: tuple = field(default_factory=tuple)
    # staff cookie with the Secure flag (on by default when the public address is https)
    secure_cookies: bool = False
    # key of the hash that turns client addresses into throttle keys (bot.client.client_key)
    client_secret: str = "minzheng-test-client-secret"
    # production mode (bot.production): Rasa runs as replicas behind nginx, turns carry an id
    # so the gateway can tell whether a turn that hit a dying replica was processed
    replicated: bool = False
    # Redis for state shared by the front-end processes (bot.web.held); empty = in process memory
    redis_url: str = ""
    redis_prefix: str = "minzheng"

    @classmethod
    def from_env(cls) -> Settings:
        from .client import parse_networks

        public_url = os.environ.get("MINZHENG_PUBLIC_URL", "").strip().rstrip("/")
        return cls(
            db_url=os.environ.get("MINZHENG_DB_URL") or default_db_url(),
            rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            web_host=os.environ.get("WEB_HOST", "127.0.0.1"),
            web_port=int(os.environ.get("WEB_PORT", "8080")),
            # The national government service hotline; regions may set their own.
            hotline=os.environ.get("MINZHENG_HOTLINE", "12345"),
            telegram_token=os.environ.get("TELEGRAM_TOKEN", "").strip(),
            telegram_bot_username=os.environ.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@"),
            telegram_webhook_secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            telegram_rate_per_minute=int(os.environ.get("TELEGRAM_RATE_PER_MINUTE", "20")),
            public_url=public_url,
            trusted_proxies=parse_networks(os.environ.get("MINZHENG_TRUSTED_PROXIES", "")),
            secure_cookies=_flag("MINZHENG_SECURE_COOKIES", public_url.startswith("https://")),
            client_secret=os.environ.get("MINZHENG_CLIENT_SECRET") or secret_file("client-secret"),
            rasa_token=rasa_token(),
            handoff_wait_minutes=int(os.environ.get("MINZHENG_HANDOFF_WAIT_MINUTES", "5")),
            wechat_token=os.environ.get("WECHAT_TOKEN", "").strip(),
            wechat_app_id=os.environ.get("WECHAT_APP_ID", "").strip(),
            wechat_app_secret=os.environ.get("WECHAT_APP_SECRET", "").strip(),
            wechat_aes_key=os.environ.get("WECHAT_AES_KEY", "").strip(),
            wechat_api_base=os.environ.get("WECHAT_API_BASE", "").strip() or "https://api.weixin.qq.com/cgi-bin/",
            wechat_rate_per_minute=int(os.environ.get("WECHAT_RATE_PER_MINUTE", "20")),
            replicated=_flag("MINZHENG_PRODUCTION", False),
            redis_url=os.environ.get("MINZHENG_REDIS_URL", "").strip(),
            redis_prefix=os.environ.get("MINZHENG_REDIS_PREFIX", "").strip() or "minzheng",
        )

    @property
    def wechat_enabled(self) -> bool:
        """The Official Account endpoint is served (token, app id and secret set)."""
        return bool(self.wechat_token and self.wechat_app_id and self.wechat_app_secret)
