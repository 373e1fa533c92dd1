"""HTTP digest authentication, server side (RFC 7616 with MD5 and ``qop=auth``).

Terminals authenticate the way their own web servers do: digest, MD5, ``qop=auth``. The
agent needs the server side when a terminal pushes its events to the agent's listener
with digest credentials configured, and the device simulators need it to behave like the
real devices towards our clients (which use ``httpx.DigestAuth``).

Nonces are random, expire after ``nonce_ttl_s`` (a request with an expired one gets a
fresh challenge marked ``stale=true``, as RFC 7616 says) and each nonce's count (``nc``)
must grow, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["DigestVerifier", "Verdict", "digest_response", "parse_digest_header"]

MAX_NONCES = 1024
"""Nonces remembered at once; the oldest are forgotten first (their clients re-challenge)."""

_PARAM = re.compile(r'\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_response(*, username: str, password: str, realm: str, method: str, uri: str,
                    nonce: str, nc: str, cnonce: str, qop: str = "auth") -> str:
    """The ``response`` value a client must send (RFC 7616 section 3.4.1, MD5)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def parse_digest_header(value: str) -> dict[str, str] | None:
    """The parameters of an ``Authorization: Digest ...`` value, or None if it is not one."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest" or len(rest) > 4096:
        return None
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = (quoted.replace('\\"', '"') if quoted is not None
                                          else bare or "")
    return params


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one request: the user, or why not (and whether only stale)."""

    user: str | None
    reason: str = ""
    stale: bool = False

    @property
    def ok(self) -> bool:
        """True when the request carried valid credentials."""
        return self.user is not None


class DigestVerifier:
    """Issues challenges and checks ``Authorization`` headers for one realm (thread-safe)."""

    def __init__(self, realm: str, users: Mapping[str, str], *, nonce_ttl_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.realm = realm
        self._users = dict(users)
        self._ttl = nonce_ttl_s
        self._clock = clock
        self._opaque = secrets.token_hex(16)
        self._nonces: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def challenge(self, *, stale: bool = False) -> str:
        """A fresh ``WWW-Authenticate`` header value."""
        nonce = secrets.token_hex(16)
        with self._lock:
            self._nonces[nonce] = (self._clock(), 0)
            while len(self._nonces) > MAX_NONCES:
                self._nonces.popitem(last=False)
        value = (f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
                 f'opaque="{self._opaque}", algorithm=MD5')
        return value + (", stale=true" if stale else "")

    def verify(self, method: str, uri: str, authorization: str | None) -> Verdict:
        """Check a request's ``Authorization`` header against ``method`` and ``uri``."""
        if not authorization:
            return Verdict(None, "no credentials")
        params = parse_digest_header(authorization)
        if params is None:
            return Verdict(None, "not digest credentials")
        problem = self._check_fields(params, uri)
        if problem:
            return Verdict(None, problem)
        username = params["username"]
        expected = digest_response(username=username, password=self._users[username],
                                   realm=self.realm, method=method, uri=uri,
                                   nonce=params["nonce"], nc=params["nc"],
                                   cnonce=params["cnonce"])
        if not hmac.compare_digest(expected, params["response"].lower()):
            return Verdict(None, f"wrong password for {username!r}")
        return self._use_nonce(params["nonce"], int(params["nc"], 16), username)

    def _check_fields(self, params: Mapping[str, str], uri: str) -> str:
        for name in ("username", "nonce", "uri", "response", "nc", "cnonce", "qop"):
            if not params.get(name):
                return f"digest credentials without {name}"
        if params["username"] not in self._users:
            return f"unknown user {params['username']!r}"
        if params.get("realm") != self.realm:
            return "digest credentials for another realm"
        if params["uri"] != uri:
            return "digest credentials for another URI"
        if params["qop"] != "auth":
            return f"unsupported qop {params['qop']!r}"
        if params.get("algorithm", "MD5").upper() != "MD5":
            return f"unsupported algorithm {params.get('algorithm')!r}"
        if not re.fullmatch(r"[0-9a-fA-F]{1,8}", params["nc"]):
            return "malformed nonce count"
        return ""

    def _use_nonce(self, nonce: str, count: int, username: str) -> Verdict:
        with self._lock:
            issued = self._nonces.get(nonce)
            if issued is None or self._clock() - issued[0] > self._ttl:
                self._nonces.pop(nonce, None)
                return Verdict(None, "stale nonce", stale=True)
            if count <= issued[1]:
                return Verdict(None, "nonce count did not grow (a replayed request?)")
            self._nonces[nonce] = (issued[0], count)
        return Verdict(username)
