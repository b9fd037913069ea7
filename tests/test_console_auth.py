"""Staff accounts and sign-in for the hotline console: hashing, sessions that expire,
throttled sign-in, and every console route closed to anyone not signed in."""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from yarl import URL

from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.migrate import upgrade
from bot.config import PROJECT_ROOT, Settings
from bot.console import auth as auth_mod
from bot.console.auth import AccountError, StaffAuth
from bot.console.web import AUTH_KEY, COOKIE
from bot.web.server import create_app

PASSWORD = "correct horse 7"


class Clock:
    def __init__(self):
        self.t = datetime(2026, 11, 25, 8, 0)

    def __call__(self):
        return self.t


@pytest.fixture
def db_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    upgrade(url)
    return url


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def auth(db_url, clock):
    a = StaffAuth(db_url, now=clock)
    a.add_account("wang.li", PASSWORD, "王丽")
    return a


# -- accounts and sessions ------------------------------------------------------------------


def test_password_is_stored_as_an_argon2id_hash(auth, db_url):
    with session_scope(db_url) as s:
        stored = s.execute(select(models.StaffAccount.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("name,password,message", [
    ("wang.li", "another pass 9", "exists already"),
    ("x", "long enough 123", "2-32 characters"),
    ("王丽", "long enough 123", "2-32 characters"),
    ("zhang", "short", "10-256"),
    ("zhang", "zhang12345678", "must not contain the account name"),
    ("zhang", "aaaaaaaaaaaa", "too repetitive"),
])
def test_bad_accounts_are_refused(auth, name, password, message):
    with pytest.raises(AccountError, match=message):
        auth.add_account(name, password)


def test_sign_in_and_session(auth):
    res = auth.login("wang.li", PASSWORD, "10.0.0.1")
    assert res.ok and res.staff.display_name == "王丽" and len(res.token) >= 40
    assert auth.session(res.token).name == "wang.li"
    assert auth.session(res.token + "x") is None
    auth.logout(res.token)
    assert auth.session(res.token) is None


@pytest.mark.parametrize("name,password", [("wang.li", "wrong password 1"), ("nobody", PASSWORD), ("", "")])
def test_failures_look_the_same(auth, name, password):
    assert auth.login(name, password, "10.0.0.1") == auth_mod.LoginResult(False)


def test_idle_and_absolute_expiry(auth, clock):
    token = auth.login("wang.li", PASSWORD, "10.0.0.1").token
    clock.t += timedelta(minutes=29)
    assert auth.session(token) is not None  # used: the idle timer restarts
    clock.t += timedelta(minutes=29)
    assert auth.session(token) is not None
    clock.t += timedelta(minutes=31)
    assert auth.session(token) is None  # idle too long
    token = auth.login("wang.li", PASSWORD, "10.0.0.1").token
    for _ in range(25):  # kept busy, but the working day is over after 10 hours
        clock.t += timedelta(minutes=25)
        auth.session(token)
    assert auth.session(token) is None


def test_disabling_an_account_ends_its_sessions(auth):
    token = auth.login("wang.li", PASSWORD, "10.0.0.1").token
    assert auth.set_active("wang.li", False)
    assert auth.session(token) is None
    assert not auth.login("wang.li", PASSWORD, "10.0.0.1").ok


def test_login_flood_per_account(auth, clock):
    for _ in range(auth_mod.FAILURES_PER_NAME):
        assert not auth.login("wang.li", "guess guess 1", "10.0.0.9").ok
    res = auth.login("wang.li", PASSWORD, "10.0.0.1")  # even the right password, from anywhere
    assert res.throttled and not res.ok and 1 <= res.retry_after_minutes <= 15
    clock.t += auth_mod.THROTTLE_WINDOW + timedelta(seconds=1)
    assert auth.login("wang.li", PASSWORD, "10.0.0.1").ok


def test_login_flood_per_address(auth, clock):
    auth.add_account("li.ming", PASSWORD + "x", "李明")
    for i in range(auth_mod.FAILURES_PER_CLIENT):
        auth.login(f"user{i}", "guess guess 1", "203.0.113.5")
    assert auth.login("li.ming", PASSWORD + "x", "203.0.113.5").throttled
    assert auth.login("li.ming", PASSWORD + "x", "10.0.0.1").ok


def _burst(auth, names, clients, workers):
    """Concurrent wrong sign-ins; a SQLite 'database is locked' (2 s busy timeout) counts
    as refused, which is what the console turns it into (503)."""
    def attempt(i):
        try:
            return auth.login(names[i], f"guess guess {i}", clients[i])
        except OperationalError:
            return None

    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(attempt, range(len(names))))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_burst_of_concurrent_guesses_gets_no_more_than_the_limit(request, backend, clock):
    """Counted atomically before the password is checked: no check-then-insert race."""
    url = request.getfixturevalue("db_url" if backend == "sqlite" else "pg_url")
    auth = StaffAuth(url, now=clock)
    auth.add_account("wang.li", PASSWORD, "王丽")
    workers = 8 if backend == "sqlite" else 20
    per_name = _burst(auth, ["wang.li"] * 40, [f"client-{i}" for i in range(40)], workers)
    assert sum(1 for r in per_name if r is not None and not r.throttled) <= auth_mod.FAILURES_PER_NAME
    n = 2 * auth_mod.FAILURES_PER_CLIENT
    per_client = _burst(auth, [f"user{i}" for i in range(n)], ["one-client"] * n, workers)
    assert sum(1 for r in per_client if r is not None and not r.throttled) <= auth_mod.FAILURES_PER_CLIENT
    if backend == "postgresql":  # no lock timeouts there: exactly the limit is checked
        assert sum(1 for r in per_name if not r.throttled) == auth_mod.FAILURES_PER_NAME
        assert sum(1 for r in per_client if not r.throttled) == auth_mod.FAILURES_PER_CLIENT


def test_successful_sign_ins_do_not_use_up_the_allowance(auth):
    for _ in range(auth_mod.FAILURES_PER_NAME * 2):
        assert auth.login("wang.li", PASSWORD, "office").ok


def test_supervisor_role(auth):
    assert auth.login("wang.li", PASSWORD, "x").staff.role == "operator"
    boss = auth.add_account("zhou.min", PASSWORD + "y", "周敏", role="supervisor")
    assert boss.supervisor
    token = auth.login("zhou.min", PASSWORD + "y", "x").token
    assert auth.session(token).supervisor
    assert auth.set_role("wang.li", "supervisor") and auth.login("wang.li", PASSWORD, "x").staff.supervisor
    assert not auth.set_role("nobody", "supervisor")
    with pytest.raises(AccountError, match="role"):
        auth.set_role("wang.li", "admin")


# -- the web routes -------------------------------------------------------------------------------


async def _client(db_url, clock, **settings_kw):
    settings = Settings(db_url=db_url, rasa_url="http://127.0.0.1:9", web_host="127.0.0.1", web_port=0,
                        hotline="12345", **settings_kw)
    # no background purge: it runs on the real clock and would delete this fake clock's counters
    # half-way through a test (a flood test then saw its failures forgotten)
    app = create_app(settings.rasa_url, settings, purge_every=None)
    app[AUTH_KEY] = StaffAuth(db_url, now=clock)
    with contextlib.suppress(AccountError):  # two clients of one database
        app[AUTH_KEY].add_account("wang.li", PASSWORD, "王丽")
    c = TestClient(TestServer(app))
    await c.start_server()
    return c


@pytest.fixture
async def client(db_url, clock):
    c = await _client(db_url, clock)
    yield c
    await c.close()


@pytest.fixture
async def proxied(db_url, clock):
    """The console behind a TLS-terminating reverse proxy on loopback (the recommended setup)."""
    c = await _client(db_url, clock, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
                      secure_cookies=True)
    yield c
    await c.close()


def _origin(client) -> dict:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def _sign_in(client, password=PASSWORD, name="wang.li", forwarded_for=None):
    headers = _origin(client)
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return await client.post("/console/login", data={"name": name, "password": password},
                             headers=headers, allow_redirects=False)


PROTECTED = [("GET", "/console/"), ("GET", "/api/console/me"), ("POST", "/console/logout"),
             ("GET", "/console/queue"), ("GET", "/api/console/anything"), ("POST", "/api/console/me")]


def _all_console_routes():
    """Every route the app registers under /console and /api/console, except the public ones."""
    settings = Settings(db_url="sqlite://", rasa_url="http://127.0.0.1:9", web_host="127.0.0.1", web_port=0,
                        hotline="12345")
    app = create_app(settings.rasa_url, settings)
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or (info.get("formatter") or "").replace("{hid}", "1").replace("{rid}", "1")
        if not path and info.get("prefix"):
            continue  # static files
        if (path.startswith("/console") or path.startswith("/api/console")) and path not in (
                "/console/login", "/console"):
            out.add((route.method, path))
    return sorted(m for m in out if m[0] != "HEAD")


ALL_ROUTES = _all_console_routes()


def test_the_route_list_is_complete():
    assert len(ALL_ROUTES) >= 15
    assert ("GET", "/console/overview") in ALL_ROUTES and ("POST", "/api/console/handoffs/1/take") in ALL_ROUTES


@pytest.mark.parametrize("method,path", sorted(set(PROTECTED) | set(ALL_ROUTES)))
async def test_every_console_route_needs_a_session(client, method, path):
    resp = await client.request(method, path, headers=_origin(client), allow_redirects=False)
    assert resp.status == 401
    body = await resp.text()
    assert "王丽" not in body and "wang.li" not in body


async def test_sign_in_sets_a_strict_http_only_cookie_and_opens_the_console(client):
    resp = await _sign_in(client)
    assert resp.status == 303 and resp.headers["Location"] == "/console/"
    cookie = resp.headers["Set-Cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    home = await client.get("/console/")
    assert home.status == 200 and "王丽" in await home.text()
    me = await client.get("/api/console/me")
    assert (await me.json()) == {"name": "wang.li", "display_name": "王丽"}
    out = await client.post("/console/logout", headers=_origin(client), allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/api/console/me")).status == 401


async def test_wrong_password_and_flood(client):
    for _ in range(auth_mod.FAILURES_PER_NAME):
        resp = await _sign_in(client, "wrong password 1")
        assert resp.status == 401 and "账号或密码不正确" in await resp.text()
    resp = await _sign_in(client)
    assert resp.status == 429 and "分钟后再试" in await resp.text()


async def test_behind_the_proxy_one_client_cannot_lock_out_the_others(proxied):
    for i in range(auth_mod.FAILURES_PER_CLIENT):
        resp = await _sign_in(proxied, "wrong password 1", name=f"user{i}", forwarded_for="203.0.113.5")
        assert resp.status == 401
    assert (await _sign_in(proxied, name="nobody", forwarded_for="203.0.113.5")).status == 429
    # every operator is behind the same proxy address, but their own client address counts
    resp = await _sign_in(proxied, forwarded_for="198.51.100.7, 127.0.0.1")
    assert resp.status == 303


async def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(client):
    """No proxy configured: the header could say anything, so the peer address counts."""
    for i in range(auth_mod.FAILURES_PER_CLIENT):
        await _sign_in(client, "wrong password 1", name=f"user{i}", forwarded_for=f"198.51.100.{i}")
    resp = await _sign_in(client, forwarded_for="192.0.2.200")
    assert resp.status == 429


async def test_a_burst_of_web_sign_ins_gets_no_more_than_the_limit(client):
    statuses = await asyncio.gather(*(_sign_in(client, f"guess guess {i}") for i in range(40)))
    codes = [r.status for r in statuses]
    assert codes.count(401) <= auth_mod.FAILURES_PER_NAME and set(codes) <= {401, 429}


async def test_the_cookie_is_secure_when_configured(proxied, client):
    resp = await _sign_in(proxied, forwarded_for="198.51.100.7")
    assert resp.status == 303 and "Secure" in resp.headers["Set-Cookie"]
    resp = await _sign_in(client)  # a local run over plain HTTP: a Secure cookie would never come back
    assert resp.status == 303 and "Secure" not in resp.headers["Set-Cookie"]


@pytest.mark.parametrize("path", ["/console/login", "/console/", "/api/console/me", "/console/nowhere"])
async def test_console_responses_may_not_be_framed(client, path):
    await _sign_in(client)
    resp = await client.get(path, allow_redirects=False)
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("body,ctype", [
    (b"\xff\xfe" * 50, "application/x-www-form-urlencoded"),
    (b"name=\xff&password=\xfe", "application/x-www-form-urlencoded"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
])
async def test_a_garbled_login_form_is_a_400(client, body, ctype):
    resp = await client.post("/console/login", data=body, headers={**_origin(client), "Content-Type": ctype},
                             allow_redirects=False)
    assert resp.status in (400, 401) and "Traceback" not in await resp.text()


async def test_expired_session_is_refused(client, clock):
    await _sign_in(client)
    assert (await client.get("/api/console/me")).status == 200
    clock.t += timedelta(hours=1)
    assert (await client.get("/api/console/me")).status == 401


async def test_a_forged_cookie_is_refused(client):
    client.session.cookie_jar.update_cookies({COOKIE: "forged-token-value"})
    assert (await client.get("/api/console/me")).status == 401


async def test_cross_origin_posts_are_refused(client):
    resp = await client.post("/console/login", data={"name": "wang.li", "password": PASSWORD},
                             headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert resp.status == 403
    await _sign_in(client)
    resp = await client.post("/console/logout", headers={"Origin": "https://evil.example"},
                             allow_redirects=False)
    assert resp.status == 403


async def test_fetch_metadata_decides_when_present(client):
    cross = {"Sec-Fetch-Site": "cross-site", "Origin": str(client.make_url("")).rstrip("/")}
    resp = await client.post("/console/login", data={"name": "wang.li", "password": PASSWORD},
                             headers=cross, allow_redirects=False)
    assert resp.status == 403  # a matching Origin does not override the browser's own verdict
    resp = await client.post("/console/login", data={"name": "wang.li", "password": PASSWORD},
                             headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert resp.status == 303


async def test_citizen_pages_never_show_console_data(client):
    await _sign_in(client)
    for path in ("/", "/healthz", "/static/chat.js"):
        body = await (await client.get(path)).text()
        assert "王丽" not in body and "wang.li" not in body
    # the console's templates are not reachable through the public static route
    traversal = URL("/static/%2e%2e/%2e%2e/templates/console_home.html.j2", encoded=True)
    assert (await client.get(traversal)).status in (403, 404)


def _staff_cli(db_url, *args, stdin=""):
    return subprocess.run([sys.executable, "-m", "bot", "--db-url", db_url, "staff", *args],
                          input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)


def test_staff_add_command(db_url):
    def run(*args, stdin):
        return _staff_cli(db_url, "add", *args, "--password-stdin", stdin=stdin)

    ok = run("zhao.qiang", "--display-name", "赵强", stdin="a long pass phrase\n")
    assert ok.returncode == 0 and "zhao.qiang" in ok.stdout
    again = run("zhao.qiang", stdin="a long pass phrase\n")
    assert again.returncode == 1 and again.stderr.startswith("error: ") and "exists" in again.stderr
    weak = run("sun.yu", stdin="short\n")
    assert weak.returncode == 1 and "Traceback" not in weak.stderr
    assert StaffAuth(db_url).login("zhao.qiang", "a long pass phrase", "127.0.0.1").ok


def test_staff_supervisor_and_role_commands(db_url):
    made = _staff_cli(db_url, "add", "zhou.min", "--supervisor", "--password-stdin", stdin="a long pass phrase\n")
    assert made.returncode == 0 and "supervisor" in made.stdout
    assert StaffAuth(db_url).login("zhou.min", "a long pass phrase", "x").staff.supervisor
    _staff_cli(db_url, "add", "qian.li", "--password-stdin", stdin="a long pass phrase\n")
    assert _staff_cli(db_url, "role", "qian.li", "supervisor").returncode == 0
    assert StaffAuth(db_url).login("qian.li", "a long pass phrase", "x").staff.supervisor
    assert _staff_cli(db_url, "role", "qian.li", "operator").returncode == 0
    assert not StaffAuth(db_url).login("qian.li", "a long pass phrase", "x").staff.supervisor
    missing = _staff_cli(db_url, "role", "nobody", "supervisor")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    bad = _staff_cli(db_url, "role", "qian.li", "admin")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
