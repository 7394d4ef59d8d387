"""jsoncodec against the standard library: same values, same errors, same size verdicts.

Every case names an input class where orjson alone answers differently from ``json``
(NaN, big ints, surrogates, duplicate keys, BOMs, UUID/Enum, \\u escapes); each would fail
if the fallback to ``json`` for that class were missing or wrong.
"""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web.ingest.errors import BadInput
from web.ingest.validate import load_json, props
from web.messaging.envelope import MAX_BODY_BYTES, InvalidJob, encode
from web.messaging.jsoncodec import dumps_compact, loads


def canon(v: Any) -> Any:
    """A value with its exact types: 1 != 1.0 != True, -0.0 != 0.0, nan == nan, key order."""
    if isinstance(v, dict):
        return ("dict", [(canon(k), canon(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("list", [canon(x) for x in v])
    return (type(v).__name__, repr(v))


def outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return ("ok", canon(fn(*args, **kw)))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


class Const(Exception):
    pass


def _reject(name: str) -> Any:
    raise Const(name)


DECODE_CASES = [
    b'{"a":1,"b":2,"a":3}',  # duplicate keys: last value, first position
    b'{"a":{"x":1},"a":[2]}',
    b"18446744073709551616",  # > 64 bits: orjson alone gives a float
    b"-9223372036854775809",
    b'{"n":123456789012345678901234567890}',
    b"18446744073709551615",
    b"1e400",  # inf in json, an error in orjson
    b"-0",
    b"-0.0",
    b"NaN",
    b"[Infinity,-Infinity]",
    b'"\\ud800"',  # escaped lone surrogate
    b'"\\ude00\\ud83d"',
    b'"\xed\xa0\x80"',  # a surrogate as UTF-8 bytes: json decodes with surrogatepass
    b'"\\ud83d\\ude00"',
    b"\xef\xbb\xbf{}",  # UTF-8 BOM: json bytes input skips it
    '{"a":1}'.encode("utf-16"),  # json detects UTF-16/32
    '{"a":1}'.encode("utf-32-le"),
    b'{"k":"\xff"}',  # invalid UTF-8
    b'"\xc0\x80"',
    b'"\x01"',
    b'"\x7f\xef\xbf\xbe"',
    b"[" * 1025 + b"]" * 1025,  # deeper than orjson allows
    b"[1,]",
    b"01",
    b"1" * 5000,  # json's int digit limit
    b"",
    b" \t\n\r[]\r\n",
    b"\x0c{}",
    b"1.7976931348623159e308",
    b"2.4703282292062328e-324",
    b"0.30000000000000004",
]


@pytest.mark.parametrize("data", DECODE_CASES, ids=lambda d: repr(d[:24]))
def test_loads_matches_json_for_every_input_class(data: bytes) -> None:
    assert outcome(loads, data) == outcome(json.loads, data)
    kw = {"parse_constant": _reject}
    assert outcome(loads, data, **kw) == outcome(json.loads, data, **kw)
    try:
        text = data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return
    assert outcome(loads, text, **kw) == outcome(json.loads, text, **kw)


def test_loads_keeps_the_cases_orjson_alone_gets_wrong() -> None:
    assert loads(b"18446744073709551616") == 2**64 and type(loads(b"2" * 30)) is int
    assert list(loads(b'{"a":1,"b":2,"a":3}').items()) == [("a", 3), ("b", 2)]
    assert loads(b'"\\ud800"') == "\ud800" and loads('["\ud800"]') == ["\ud800"]
    with pytest.raises(Const, match="NaN"):
        loads(b'{"w":NaN}', parse_constant=_reject)
    with pytest.raises(json.JSONDecodeError, match="Unexpected UTF-8 BOM"):
        loads("\ufeff{}")


FRAGMENTS = st.sampled_from(
    ['{', '}', '[', ']', ',', ':', '"', '"a"', '"\\ud800"', '"\\udc00"', '\\u0041', '\\',
     '1', '-', '0', '.5', 'e', 'E+', '9' * 19, '9' * 21, 'NaN', 'Infinity', '-Infinity',
     'true', 'null', ' ', '\t', '\n', '\x00', '\x7f', '\ufeff', 'é', '\ud800', '😀']
)  # fmt: skip
NUMBER = st.from_regex(
    r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
        st.sampled_from([2**64, -(2**63) - 1, 10**30, 1e-7, -0.0, "\ud800", "\x7f"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(
    data=st.one_of(
        st.lists(FRAGMENTS, max_size=12).map("".join),
        NUMBER,
        JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
        JSON_VALUES.map(json.dumps),
    ),
    as_bytes=st.booleans(),
)
def test_loads_matches_json_on_generated_text(data: str, as_bytes: bool) -> None:
    doc: bytes | str = data.encode("utf-8", "surrogatepass") if as_bytes else data
    assert outcome(loads, doc) == outcome(json.loads, doc)
    kw = {"parse_constant": _reject}
    assert outcome(loads, doc, **kw) == outcome(json.loads, doc, **kw)


def stdlib_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def assert_same_verdict(obj: Any, limit: int) -> bytes | None:
    """dumps_compact(obj) vs json: same error, or the same over/under-limit verdict and,
    under it, the same value (over it, json's very bytes). Returns our bytes."""
    try:
        ref = stdlib_dumps(obj)
    except Exception as exc:
        with pytest.raises(type(exc)) as got:
            dumps_compact(obj, limit=limit)
        assert str(got.value) == str(exc)
        return None
    ours = dumps_compact(obj, limit=limit)
    assert (len(ours) > limit) == (len(ref) > limit)
    if len(ref) > limit:
        assert ours == ref
    else:
        assert canon(json.loads(ours)) == canon(json.loads(ref))
    return ours


class Colour(enum.Enum):
    RED = 1


class Size(enum.IntEnum):
    BIG = 2


class Tag(str):
    pass


loop: list[Any] = []
loop.append(loop)

ENCODE_CASES = [
    {"nan": float("nan")},  # orjson alone writes null
    {"deep": [{"x": float("inf")}]},
    {"n": -float("inf"), "s": "null"},
    {"big": 2**64, "neg": -(2**63) - 1, "huge": 10**40},  # orjson alone raises
    {10: "a", 2.5: "b", False: "c", None: "d"},  # json turns these keys into strings
    {(1, 2): "tuple key"},
    {"id": uuid.UUID(int=7)},  # orjson alone serialises UUID and Enum
    {"c": Colour.RED},
    {"s": Size.BIG, "t": Tag("x")},
    {"at": datetime(2026, 1, 1, tzinfo=UTC)},
    {"d": Decimal("1.5")},
    {"set": {1}},
    {"b": b"x"},
    {"o": object()},
    {"loop": loop},
    {"sur": "\ud800", "pair": "\ud83d\ude00"},
    {"del": "\x7f", "ctl": '\x01\n\t"\\/'},
    {"é": "é" * 10, "tiny": 1e-7, "small": 1e-5, "big": 1e16},
    {"v": 1, "events": [{"url": f"https://x/{i}", "ts": 1.5e9 + i} for i in range(50)]},
]


@pytest.mark.parametrize("obj", ENCODE_CASES, ids=lambda o: repr(o)[:30])
def test_dumps_compact_gives_json_s_errors_and_values(obj: Any) -> None:
    assert_same_verdict(obj, MAX_BODY_BYTES)


@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize(
    "obj",
    [
        {"t": "é" * 3000},  # 6,000 bytes for json, 3,000 of UTF-8 for orjson
        {"t": "😀" * 600, "a": "x" * 100},  # a surrogate pair (12 bytes) for 4
        {"f": [1e-7] * 900},  # 1e-07 in json, 1e-7 in orjson
        {"f": [1e-5] * 900},  # 1e-05 in json, 0.00001 in orjson: ours is longer
        {"t": "\x7f" * 900},
        {"t": "x" * 5000},
    ],
    ids=["latin", "astral", "exp-short", "exp-long", "del", "ascii"],
)
def test_dumps_compact_size_verdict_is_json_s_at_the_limit(obj: Any, delta: int) -> None:
    limit = len(stdlib_dumps(obj)) + delta
    assert_same_verdict(obj, limit)


@settings(max_examples=300, deadline=None)
@given(obj=st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=6), slack=st.integers(-8, 8))
def test_dumps_compact_matches_json_on_generated_payloads(obj: dict, slack: int) -> None:
    try:
        size = len(stdlib_dumps(obj))
    except ValueError:
        size = 100
    assert_same_verdict(obj, max(1, size + slack))
    assert_same_verdict(obj, MAX_BODY_BYTES)


def test_envelope_rejects_nan_and_unknown_types_as_before_and_keeps_big_ints() -> None:
    with pytest.raises(InvalidJob) as exc:
        encode("images.process", {"w": float("nan")})
    assert str(exc.value) == (
        "job payload of images.process is not plain JSON: "
        "Out of range float values are not JSON compliant: nan"
    )
    with pytest.raises(InvalidJob, match="Object of type UUID is not JSON serializable"):
        encode("images.process", {"id": uuid.UUID(int=1)})
    with pytest.raises(InvalidJob, match="keys must be str, int, float, bool or None"):
        encode("images.process", {(1,): 1})
    env = encode("images.process", {"n": 2**70, 3: "k", "s": "\ud800"})
    assert json.loads(env.data) == {"n": 2**70, "3": "k", "s": "\ud800"}


def test_envelope_limit_counts_json_s_escaped_bytes() -> None:
    """An event of 2,000 'é' is 4 KB of UTF-8 but 12 KB as json writes it; the publisher
    splits packs by json's measure (web/ingest/tests/test_jobs.py relies on it)."""
    payload = {"events": [{"title": "é" * 2000}] * 6}
    json_size = len(stdlib_dumps(payload))
    assert json_size > MAX_BODY_BYTES > len(json.dumps(payload, ensure_ascii=False).encode())
    with pytest.raises(InvalidJob, match=f"is {json_size} bytes"):
        encode("images.process", payload)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"w":NaN}', "NaN is not valid JSON here: send finite numbers only"),
        (b'{"w":-Infinity}', "-Infinity is not valid JSON here: send finite numbers only"),
        (b'{"k":"\xff"}', "body is not UTF-8"),
        (b'{"k": ', "malformed JSON: Expecting value: line 1 column 7 (char 6)"),
        (b"[" * 30000 + b"]" * 30000, "JSON nested too deeply"),
    ],
)
def test_load_json_keeps_every_4xx_message(body: bytes, expected: str) -> None:
    with pytest.raises(BadInput) as exc:
        load_json(body)
    assert exc.value.message == expected


def test_load_json_and_props_keep_json_s_values() -> None:
    assert load_json(b'{"w":123456789012345678901,"k":"a","k":"b"}') == {
        "w": 123456789012345678901,
        "k": "b",
    }
    assert load_json(b'["\xed\xa0\x80", "\\ud800"]') == ["\ud800", "\ud800"]
    assert props('{"a":1,"a":99999999999999999999}', "p") == {"a": "99999999999999999999"}
    with pytest.raises(BadInput, match="NaN is not valid JSON here"):
        props('{"a":NaN}', "p")
    with pytest.raises(BadInput, match="'p' must be a JSON object"):
        props('{"a":1,}', "p")
