"""Who is on the other end of a request: the client address, and a hashed key for it.

Behind a reverse proxy every request comes from the proxy's address, so
``X-Forwarded-For`` is read, but only when the direct peer is one of the
configured proxies (``MINZHENG_TRUSTED_PROXIES``): anyone else could write
any address there. The right-most address not belonging to a trusted proxy
is the client.

Raw addresses are personal data: throttles, logs and Rasa metadata carry
``client_key(address)``, a keyed hash, instead.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Iterable, Mapping, Optional, Sequence, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def parse_networks(spec: str) -> tuple:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks; raises ValueError on a bad entry."""
    nets = []
    for part in (spec or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return tuple(nets)


def _ip(value: str) -> Optional[ipaddress._BaseAddress]:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(addr, proxies: Iterable[Network]) -> bool:
    return addr is not None and any(addr in net for net in proxies)


def client_address(peer: Optional[str], headers: Mapping[str, str], proxies: Sequence[Network]) -> str:
    """The client's address for a request whose direct peer is ``peer``."""
    peer = peer or "unknown"
    if not proxies or not _trusted(_ip(peer), proxies):
        return peer
    forwarded = ",".join(v for k, v in headers.items() if k.lower() == "x-forwarded-for")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _ip(hop)
        if addr is None:  # garbage in the header: stop at the last address we can vouch for
            return peer
        if not _trusted(addr, proxies):
            return str(addr)
        peer = str(addr)
    return peer


def client_key(address: str, secret: str) -> str:
    """A stable keyed hash of an address (or any client identifier), 24 hex characters."""
    return hmac.new(secret.encode(), (address or "unknown").encode("utf-8", "replace"),
                    hashlib.sha256).hexdigest()[:24]
