"""bot.client: the client address behind trusted proxies only, and its keyed hash."""
from __future__ import annotations

import pytest

from bot.client import client_address, client_key, parse_networks

PROXY = parse_networks("127.0.0.1, 10.0.0.0/8")


def test_no_trusted_proxy_ignores_the_header():
    assert client_address("203.0.113.9", {"X-Forwarded-For": "1.2.3.4"}, ()) == "203.0.113.9"


def test_untrusted_peer_cannot_forge_an_address():
    assert client_address("203.0.113.9", {"X-Forwarded-For": "1.2.3.4"}, PROXY) == "203.0.113.9"


def test_trusted_proxy_gives_the_rightmost_untrusted_hop():
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.1.2.3"}  # 6.6.6.6 was written by the client
    assert client_address("127.0.0.1", headers, PROXY) == "198.51.100.7"


def test_garbage_in_the_header_stops_at_the_proxy():
    assert client_address("127.0.0.1", {"X-Forwarded-For": "nonsense"}, PROXY) == "127.0.0.1"
    assert client_address("127.0.0.1", {}, PROXY) == "127.0.0.1"


def test_bad_network_spec_is_refused():
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/33")


def test_client_key_is_stable_keyed_and_not_the_address():
    a = client_key("198.51.100.7", "s1")
    assert a == client_key("198.51.100.7", "s1")
    assert a != client_key("198.51.100.7", "s2")
    assert "198" not in a and len(a) == 24
