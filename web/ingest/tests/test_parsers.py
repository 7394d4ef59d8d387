"""Table-driven tests of every wire format: good, malformed and wrong-typed input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from web.ingest import parsers
from web.ingest.errors import BadInput
from web.ingest.parsers import Incoming
from web.ingest.validate import Skip


def post(body: Any, **kw: Any) -> Incoming:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Incoming(method="POST", body=raw, **kw)


def get(query: str, **kw: Any) -> Incoming:
    return Incoming(method="GET", query=query, **kw)


PAGE = "https://127.0.0.1/blog/hello?x=1"
ERR = "error"

# (case id, parser, request, expected): expected is a list of dicts of Hit attributes, or
# (ERR, fragment of the message).
CASES: list[tuple[str, Any, Incoming, Any]] = [
    # -- native ------------------------------------------------------------------------------
    (
        "native pageview",
        parsers.parse_native,
        post(
            {
                "k": "hearthkey",
                "n": "pageview",
                "u": PAGE + "#top",
                "r": "https://a.example/",
                "w": 1280,
                "l": "en-GB",
                "t": "Hello",
            }
        ),
        [
            {
                "kind": "pageview",
                "name": "pageview",
                "url": PAGE,
                "ref": "https://a.example/",
                "screen": 1280,
                "lang": "en-GB",
                "title": "Hello",
                "site_by": ("key", "hearthkey"),
                "host": "127.0.0.1",
                "src": "hearth",
            }
        ],
    ),
    (
        "native hash mode keeps the fragment",
        parsers.parse_native,
        post({"k": "hearthkey", "n": "pageview", "u": PAGE + "#/app/x", "h": 1}),
        [{"url": PAGE + "#/app/x"}],
    ),
    (
        "native custom event with props",
        parsers.parse_native,
        post({"k": "k1", "n": "Signup", "u": PAGE, "p": {"plan": "pro", "seats": 3, "x": True}}),
        [{"kind": "custom", "name": "Signup", "props": {"plan": "pro", "seats": "3", "x": "true"}}],
    ),
    (
        "native engagement",
        parsers.parse_native,
        post({"k": "k1", "n": "engagement", "u": PAGE, "e": 5300, "s": 87}),
        [{"kind": "engagement", "engaged_ms": 5300, "scroll": 87}],
    ),
    (
        "native error",
        parsers.parse_native,
        post(
            {
                "k": "k1",
                "n": "error",
                "u": PAGE,
                "x": {
                    "message": "nope is not defined",
                    "type": "ReferenceError",
                    "stack": "at f (a.js:1:2)",
                    "line": 3,
                    "col": "",
                },
            }
        ),
        [
            {
                "kind": "error",
                "name": "ReferenceError",
                "error": {
                    "message": "nope is not defined",
                    "type": "ReferenceError",
                    "stack": "at f (a.js:1:2)",
                    "line": "3",
                },
            }
        ],
    ),
    (
        "native batch",
        parsers.parse_native,
        post([{"k": "k1", "n": "pageview", "u": PAGE}, {"k": "k1", "n": "A", "u": PAGE}]),
        [{"name": "pageview"}, {"name": "A"}],
    ),
    ("native malformed JSON", parsers.parse_native, post(b'{"k": '), (ERR, "malformed JSON")),
    ("native empty body", parsers.parse_native, post(b""), (ERR, "empty body")),
    ("native not UTF-8", parsers.parse_native, post(b'{"k":"\xff"}'), (ERR, "UTF-8")),
    (
        "native NaN",
        parsers.parse_native,
        post(b'{"k":"k","n":"pageview","u":"https://a/","w":NaN}'),
        (ERR, "finite"),
    ),
    (
        "native deep nesting",
        parsers.parse_native,
        post(b"[" * 5000 + b"]" * 5000),
        (ERR, "event must be a JSON object"),
    ),
    (
        "native no key",
        parsers.parse_native,
        post({"n": "pageview", "u": PAGE}),
        (ERR, "'k' "),  # "'k' is required", or with the drop-in tracker "'k' (...) or 'd'"
    ),
    (
        "native key wrong type",
        parsers.parse_native,
        post({"k": 5, "n": "pageview", "u": PAGE}),
        (ERR, "'k' must be a string"),
    ),
    (
        "native relative URL",
        parsers.parse_native,
        post({"k": "k", "n": "pageview", "u": "/x"}),
        (ERR, "absolute http(s) URL"),
    ),
    (
        "native javascript URL",
        parsers.parse_native,
        post({"k": "k", "n": "pageview", "u": "javascript:alert(1)"}),
        (ERR, "absolute http(s)"),
    ),
    (
        "native bad IPv6 URL",
        parsers.parse_native,
        post({"k": "k", "n": "pageview", "u": "http://[::1"}),
        (ERR, "not a valid URL"),
    ),
    (
        "native screen is a bool",
        parsers.parse_native,
        post({"k": "k", "n": "pageview", "u": PAGE, "w": True}),
        (ERR, "'w' must be a number"),
    ),
    (
        "native scroll out of range",
        parsers.parse_native,
        post({"k": "k", "n": "engagement", "u": PAGE, "s": 101}),
        (ERR, "between 0 and 100"),
    ),
    (
        "native props nested",
        parsers.parse_native,
        post({"k": "k", "n": "A", "u": PAGE, "p": {"a": {"b": 1}}}),
        (ERR, "'p.a' must be"),
    ),
    (
        "native props a list",
        parsers.parse_native,
        post({"k": "k", "n": "A", "u": PAGE, "p": [1]}),
        (ERR, "'p' must be a JSON object"),
    ),
    (
        "native too many props",
        parsers.parse_native,
        post({"k": "k", "n": "A", "u": PAGE, "p": {str(i): "v" for i in range(31)}}),
        (ERR, "more than 30"),
    ),
    (
        "native error without message",
        parsers.parse_native,
        post({"k": "k", "n": "error", "u": PAGE, "x": {"type": "E"}}),
        (ERR, "'x.message'"),
    ),
    (
        "native array of numbers",
        parsers.parse_native,
        post([1, 2]),
        (ERR, "event must be a JSON object"),
    ),
    ("native empty batch", parsers.parse_native, post([]), (ERR, "body is empty")),
    (
        "native batch too long",
        parsers.parse_native,
        post([{"k": "k", "n": "p", "u": PAGE}] * 51),
        (ERR, "more than 50"),
    ),
    (
        "native name too long",
        parsers.parse_native,
        post({"k": "k", "n": "x" * 121, "u": PAGE}),
        (ERR, "longer than 120"),
    ),
    (
        "native NUL in name",
        parsers.parse_native,
        post({"k": "k", "n": "a\x00b", "u": PAGE}),
        (ERR, "NUL"),
    ),
    # -- Plausible ---------------------------------------------------------------------------
    (
        "plausible short keys",
        parsers.parse_plausible,
        post({"n": "pageview", "u": PAGE, "d": "127.0.0.1", "r": "https://google.com/"}),
        [
            {
                "kind": "pageview",
                "site_by": ("host", "127.0.0.1"),
                "ref": "https://google.com/",
                "src": "plausible",
            }
        ],
    ),
    (
        "plausible long keys, props as a JSON string, hash mode",
        parsers.parse_plausible,
        post(
            {
                "name": "Buy",
                "url": PAGE + "#/c",
                "domain": "Shop.Example",
                "props": '{"amount": 9.5}',
                "hashMode": True,
            }
        ),
        [
            {
                "kind": "custom",
                "name": "Buy",
                "url": PAGE + "#/c",
                "props": {"amount": "9.5"},
                "site_by": ("host", "shop.example"),
            }
        ],
    ),
    (
        "plausible two domains",
        parsers.parse_plausible,
        post({"n": "pageview", "u": PAGE, "d": "a.example, b.example"}),
        [{"site_by": ("host", "a.example")}, {"site_by": ("host", "b.example")}],
    ),
    (
        "plausible no domain",
        parsers.parse_plausible,
        post({"n": "pageview", "u": PAGE}),
        (ERR, "'domain' is required"),
    ),
    (
        "plausible no name",
        parsers.parse_plausible,
        post({"u": PAGE, "d": "x"}),
        (ERR, "'name' (event name) is required"),
    ),
    (
        "plausible url wrong type",
        parsers.parse_plausible,
        post({"n": "pageview", "u": ["x"], "d": "x"}),
        (ERR, "'url' must be a string"),
    ),
    (
        "plausible body an array",
        parsers.parse_plausible,
        post([{"n": "x"}]),
        (ERR, "body must be a JSON object"),
    ),
    (
        "plausible props bad JSON string",
        parsers.parse_plausible,
        post({"n": "A", "u": PAGE, "d": "x", "p": "{oops"}),
        (ERR, "'props' must be a JSON"),
    ),
    # -- Umami -------------------------------------------------------------------------------
    (
        "umami pageview (full URL)",
        parsers.parse_umami_send,
        post(
            {
                "type": "event",
                "payload": {
                    "website": "hearthkey",
                    "hostname": "127.0.0.1",
                    "url": PAGE,
                    "referrer": "https://duck.example/",
                    "title": "T",
                    "screen": "1920x1080",
                    "language": "de",
                },
            }
        ),
        [
            {
                "kind": "pageview",
                "name": "pageview",
                "url": PAGE,
                "screen": 1920,
                "lang": "de",
                "title": "T",
                "site_by": ("alias", "hearthkey"),
                "src": "umami",
            }
        ],
    ),
    (
        "umami event (path URL, same-site referrer)",
        parsers.parse_umami_send,
        post(
            {
                "type": "event",
                "payload": {
                    "website": "1",
                    "hostname": "localhost",
                    "url": "/pricing",
                    "referrer": "/home",
                    "name": "Click",
                    "data": {"plan": "pro"},
                },
            }
        ),
        [
            {
                "kind": "custom",
                "name": "Click",
                "url": "https://localhost/pricing",
                "ref": "",
                "props": {"plan": "pro"},
                "site_by": ("alias", "1"),
            }
        ],
    ),
    (
        "umami identify is skipped under its own reason",
        parsers.parse_umami_send,
        post({"type": "identify", "payload": {"website": "1"}}),
        [Skip("identify")],
    ),
    (
        "umami bad type",
        parsers.parse_umami_send,
        post({"type": "x", "payload": {"website": "1"}}),
        (ERR, "'type' must be"),
    ),
    (
        "umami no payload",
        parsers.parse_umami_send,
        post({"type": "event"}),
        (ERR, "'payload' must be a JSON object"),
    ),
    (
        "umami path without hostname is completed by the pipeline",
        parsers.parse_umami_send,
        post({"type": "event", "payload": {"website": "1", "url": "/x"}}),
        [{"url": "/x"}],
    ),
    (
        "umami screen that is not WxH is no width (Umami accepts any short string)",
        parsers.parse_umami_send,
        post({"type": "event", "payload": {"website": "1", "url": PAGE, "screen": "axb"}}),
        [{"screen": None}],
    ),
    (
        "umami batch",
        parsers.parse_umami_batch,
        post(
            [
                {"type": "event", "payload": {"website": "1", "url": PAGE}},
                {"type": "event", "payload": {"website": "1", "url": PAGE, "name": "B"}},
            ]
        ),
        [{"name": "pageview"}, {"name": "B"}],
    ),
    (
        "umami batch not a list",
        parsers.parse_umami_batch,
        post({"type": "event"}),
        (ERR, "must be a JSON array"),
    ),
    # -- GoatCounter -------------------------------------------------------------------------
    (
        "goatcounter pageview from Origin",
        parsers.parse_goatcounter,
        get(
            "p=/blog/post&t=Post&r=https%3A%2F%2Fnews.example%2F&s=1440,900,2&q=utm_source=x",
            origin="https://127.0.0.1",
        ),
        [
            {
                "kind": "pageview",
                "url": "https://127.0.0.1/blog/post?utm_source=x",
                "ref": "https://news.example/",
                "title": "Post",
                "screen": 1440,
                "site_by": ("host", "127.0.0.1"),
                "src": "goatcounter",
            }
        ],
    ),
    (
        "goatcounter event from Referer",
        parsers.parse_goatcounter,
        get("p=signup-click&e=true", referer="http://localhost/pricing"),
        [{"kind": "custom", "name": "signup-click", "url": "http://localhost/pricing"}],
    ),
    (
        "goatcounter with a site key and no headers gets a path",
        parsers.parse_goatcounter,
        get("p=/x&k=hearthkey"),
        [{"url": "/x", "site_by": ("key", "hearthkey")}],
    ),
    (
        "goatcounter bot flag",
        parsers.parse_goatcounter,
        get("p=/x&b=150", origin="https://127.0.0.1"),
        [{"bot_hint": True}],
    ),
    (
        "goatcounter no path",
        parsers.parse_goatcounter,
        get("t=x", origin="https://a.example"),
        (ERR, "'p' is required"),
    ),
    ("goatcounter no site", parsers.parse_goatcounter, get("p=/x"), (ERR, "cannot tell the site")),
    (
        "goatcounter bad screen",
        parsers.parse_goatcounter,
        get("p=/x&s=wide", origin="https://a.example"),
        (ERR, "'s' must be a number"),
    ),
    # -- pixel -------------------------------------------------------------------------------
    (
        "pixel from Referer",
        parsers.parse_pixel,
        get("k=hearthkey", referer=PAGE),
        [{"kind": "pageview", "url": PAGE, "site_by": ("key", "hearthkey"), "src": "pixel"}],
    ),
    (
        "pixel with explicit url and event name",
        parsers.parse_pixel,
        get("k=k1&u=https%3A%2F%2Flocalhost%2Fa&n=Newsletter+open"),
        [{"kind": "custom", "name": "Newsletter open", "url": "https://localhost/a"}],
    ),
    ("pixel no key", parsers.parse_pixel, get("u=https://a/"), (ERR, "'k' is required")),
    ("pixel no url", parsers.parse_pixel, get("k=k1"), (ERR, "no page URL")),
    (
        "pixel too many params",
        parsers.parse_pixel,
        get("&".join(f"a{i}=1" for i in range(50))),
        (ERR, "too many query parameters"),
    ),
    # -- CSP and the Reporting API -----------------------------------------------------------
    (
        "csp level 2 report",
        parsers.parse_reports,
        post(
            {
                "csp-report": {
                    "document-uri": PAGE,
                    "referrer": "",
                    "violated-directive": "script-src-elem",
                    "effective-directive": "script-src-elem",
                    "original-policy": "script-src 'self'",
                    "blocked-uri": "https://evil.example/x.js",
                    "line-number": 12,
                    "source-file": PAGE,
                    "disposition": "enforce",
                }
            },
            content_type="application/csp-report",
        ),
        [
            {
                "kind": "csp",
                "name": "script-src-elem",
                "url": PAGE,
                "src": "csp",
                "site_by": ("host", "127.0.0.1"),
                "error": {
                    "message": "script-src-elem blocked https://evil.example/x.js",
                    "directive": "script-src-elem",
                    "blocked": "https://evil.example/x.js",
                    "source": PAGE,
                    "line": "12",
                    "disposition": "enforce",
                },
            }
        ],
    ),
    (
        "reporting API batch: csp-violation and deprecation",
        parsers.parse_reports,
        post(
            [
                {
                    "type": "csp-violation",
                    "age": 3,
                    "url": PAGE,
                    "user_agent": "x",
                    "body": {
                        "documentURL": PAGE,
                        "effectiveDirective": "img-src",
                        "blockedURL": "https://img.example/a.png",
                        "disposition": "report",
                    },
                },
                {
                    "type": "deprecation",
                    "url": PAGE,
                    "body": {"id": "X", "message": "X is deprecated", "lineNumber": 4},
                },
            ],
            content_type="application/reports+json",
        ),
        [
            {"kind": "csp", "name": "img-src", "src": "csp"},
            {
                "kind": "error",
                "name": "deprecation",
                "src": "reporting",
                "error": {"message": "X is deprecated", "line": "4", "id": "X"},
            },
        ],
    ),
    (
        "csp report with a site key",
        parsers.parse_reports,
        Incoming(
            method="POST",
            query="k=shopkey",
            body=json.dumps(
                {"csp-report": {"document-uri": PAGE, "violated-directive": "img-src"}}
            ).encode(),
        ),
        [{"site_by": ("key", "shopkey"), "name": "img-src"}],
    ),
    (
        "csp report not wrapped",
        parsers.parse_reports,
        post({"document-uri": PAGE}),
        (ERR, "expected {'csp-report'"),
    ),
    (
        "csp report without directive",
        parsers.parse_reports,
        post({"csp-report": {"document-uri": PAGE}}),
        (ERR, "'effective-directive' is required"),
    ),
    (
        "reporting API item not an object",
        parsers.parse_reports,
        post(["x"]),
        (ERR, "report must be a JSON object"),
    ),
    (
        "reporting API bad body",
        parsers.parse_reports,
        post([{"type": "deprecation", "url": PAGE, "body": [1]}]),
        (ERR, "'body' must be"),
    ),
]


@pytest.mark.parametrize(
    ("parser", "req", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_parser_table(parser: Any, req: Incoming, expected: Any) -> None:
    if isinstance(expected, tuple):
        with pytest.raises(BadInput) as info:
            parser(req)
        assert expected[1] in info.value.message
        assert info.value.status == 400
        return
    hits = parser(req)
    assert len(hits) == len(expected)
    for hit, want in zip(hits, expected, strict=True):
        if want is None or isinstance(want, Skip):
            assert hit == want
            continue
        for attr, value in want.items():
            assert getattr(hit, attr) == value, attr
