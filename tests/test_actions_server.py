"""actions.server: the listen backlog and the idle timeout of a new connection are large
enough for Rasa's connection-per-call under many concurrent conversations (SANIC_BACKLOG or
--backlog, 1024 by default; Sanic's KEEP_ALIVE_TIMEOUT 60 s)."""
from __future__ import annotations

import pytest

from actions import server


class FakeApp:
    def __init__(self):
        self.run_args = None

    def run(self, *args, **kwargs):
        self.run_args = (args, kwargs)


@pytest.fixture()
def app(monkeypatch):
    fake = FakeApp()
    monkeypatch.setattr(server, "create_app", lambda secret="": fake)
    monkeypatch.delenv("SANIC_BACKLOG", raising=False)
    monkeypatch.delenv(server.SECRET_ENV, raising=False)
    return fake


def test_default_backlog_is_well_above_sanics_100(app):
    assert server.main(["--port", "5999"]) == 0
    args, kwargs = app.run_args
    assert args == ("127.0.0.1", 5999)
    assert kwargs["backlog"] == server.DEFAULT_BACKLOG == 1024


def test_backlog_from_the_environment_and_the_command_line(app, monkeypatch):
    monkeypatch.setenv("SANIC_BACKLOG", "2048")
    server.main(["--port", "5999"])
    assert app.run_args[1]["backlog"] == 2048
    server.main(["--port", "5999", "--backlog", "300"])
    assert app.run_args[1]["backlog"] == 300


def test_a_connection_rasa_opened_is_not_dropped_after_five_idle_seconds(monkeypatch):
    monkeypatch.delenv("SANIC_KEEP_ALIVE_TIMEOUT", raising=False)
    app = server.create_app(actions="actions.actions")
    assert app.config.KEEP_ALIVE_TIMEOUT == server.DEFAULT_KEEP_ALIVE_TIMEOUT >= 60
