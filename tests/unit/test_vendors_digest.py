"""Digest authentication, server side: the RFCs' own examples, and httpx's real client
(through its in-process transport) against our verifier."""

from __future__ import annotations

import httpx

from edge.vendors.digest import DigestVerifier, digest_response, parse_digest_header


def test_the_rfc_examples() -> None:
    # RFC 7616 section 3.9.1 (MD5) and RFC 2617 section 3.5
    assert digest_response(
        username="Mufasa", password="Circle of Life", realm="http-auth@example.org",
        method="GET", uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc="00000001", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    ) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response(
        username="Mufasa", password="Circle Of Life", realm="testrealm@host.com",
        method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        nc="00000001", cnonce="0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def guarded(verifier: DigestVerifier, seen: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        verdict = verifier.verify(request.method, target, request.headers.get("authorization"))
        seen.append(verdict.reason if not verdict.ok else f"ok:{verdict.user}")
        if not verdict.ok:
            return httpx.Response(401, headers={
                "WWW-Authenticate": verifier.challenge(stale=verdict.stale)})
        return httpx.Response(200, text="welcome")
    return httpx.MockTransport(handle)


def test_httpx_digest_clients_get_in_and_wrong_passwords_do_not() -> None:
    seen: list[str] = []
    verifier = DigestVerifier("DS-TEST", {"admin": "s3cret"})
    good = httpx.Client(transport=guarded(verifier, seen), auth=httpx.DigestAuth("admin", "s3cret"))
    assert good.get("http://device/ISAPI/System/deviceInfo?x=[1,2]").status_code == 200
    assert good.post("http://device/ISAPI/AccessControl/AcsEvent?format=json",
                     json={"a": 1}).status_code == 200
    assert seen[0] == "no credentials" and seen[1:] == ["ok:admin"] * (len(seen) - 1)
    bad = httpx.Client(transport=guarded(verifier, seen), auth=httpx.DigestAuth("admin", "nope"))
    assert bad.get("http://device/x").status_code == 401
    assert seen[-1] == "wrong password for 'admin'"
    stranger = httpx.Client(transport=guarded(verifier, seen),
                            auth=httpx.DigestAuth("root", "s3cret"))
    assert stranger.get("http://device/x").status_code == 401
    assert seen[-1] == "unknown user 'root'"


def test_a_replayed_or_moved_request_is_refused_and_old_nonces_go_stale() -> None:
    clock = Clock()
    verifier = DigestVerifier("DS-TEST", {"admin": "s3cret"}, nonce_ttl_s=60, clock=clock)
    seen: list[str] = []
    captured: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization")
        if header:
            captured.append(header)
        return guarded(verifier, seen).handle_request(request)

    client = httpx.Client(transport=httpx.MockTransport(handle),
                          auth=httpx.DigestAuth("admin", "s3cret"))
    assert client.get("http://device/a").status_code == 200
    replay = verifier.verify("GET", "/a", captured[-1])
    assert not replay.ok and "did not grow" in replay.reason
    moved = verifier.verify("GET", "/b", captured[-1])
    assert not moved.ok and moved.reason == "digest credentials for another URI"
    clock.now = 120  # the nonce is two minutes old: a right answer to it is only stale
    params = parse_digest_header(captured[-1]) or {}
    answer = digest_response(username="admin", password="s3cret", realm="DS-TEST",
                             method="GET", uri="/a", nonce=params["nonce"], nc="00000002",
                             cnonce=params["cnonce"])
    header = (f'Digest username="admin", realm="DS-TEST", nonce="{params["nonce"]}", '
              f'uri="/a", response="{answer}", qop=auth, nc=00000002, '
              f'cnonce="{params["cnonce"]}"')
    stale = verifier.verify("GET", "/a", header)
    assert stale.stale and not stale.ok
    assert client.get("http://device/a").status_code == 200  # a fresh challenge, a fresh nonce


def test_authorization_headers_are_parsed_carefully() -> None:
    params = parse_digest_header('Digest username="ad\\"min", realm="r", nc=00000001, '
                                 'qop=auth, uri="/x?a=1,2"')
    assert params == {"username": 'ad"min', "realm": "r", "nc": "00000001", "qop": "auth",
                      "uri": "/x?a=1,2"}
    assert parse_digest_header("Basic YWRtaW46YWRtaW4=") is None
    verifier = DigestVerifier("r", {"admin": "x"})
    for header in (None, "", "Digest", "Digest garbage", 'Digest username="admin"',
                   "Digest " + "a=b," * 2000):
        assert not verifier.verify("GET", "/", header).ok
