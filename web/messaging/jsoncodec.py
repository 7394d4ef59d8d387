"""orjson on the hot JSON paths, with the standard library's semantics kept exactly.

orjson is 3-10x faster than ``json`` on job bodies and beacons, but it differs on inputs the
callers rely on, so each function takes orjson's answer only where it is provably the same
and lets ``json`` decide everything else (its result, its exception, its message):

- decoding: orjson refuses NaN/Infinity, ints beyond 64 bits of *text* it parses as floats
  (stdlib: exact ints), lone surrogates, BOMs, UTF-16/32 and numbers that overflow to inf;
  refusals fall back, and a run of 19+ digits (the only way to spell an int orjson turns
  into a float) goes to ``json`` before orjson sees it;
- encoding: orjson writes NaN/Infinity as null, serialises UUID, enum.Enum and
  orjson.Fragment, writes UTF-8 where ``json`` writes ``\\u00e9``, DEL raw and some floats
  shorter or longer (``1e-9`` for ``1e-09``, ``0.00001`` for ``1e-05``). See dumps_compact.

Measured numbers and the decision: docs/architecture/ingest.md, section "orjson".
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable
from typing import Any

import orjson

# A JSON int orjson parses as a float has at least 19 digits (-9223372036854775809).
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_LONG_RUN = b"0" * 19
_ASCII = bytes(range(128))


def loads(data: bytes | str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(data, parse_constant=parse_constant)``: the same value (types, key order,
    last duplicate key wins) or the same exception with the same message."""
    raw: bytes | None
    if isinstance(data, str):
        try:
            raw = data.encode()
        except UnicodeEncodeError:  # lone surrogates: only json takes them
            raw = None
    else:
        raw = data
    if raw is not None and _LONG_RUN not in raw.translate(_DIGITS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # json accepts what orjson refused, or raises its own error
    if parse_constant is None:
        return json.loads(data)
    return json.loads(data, parse_constant=parse_constant)


def dumps_compact(obj: Any, *, limit: int) -> bytes:
    """``json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()`` as far as a
    caller that refuses results over ``limit`` bytes can tell.

    Raises what json raises (TypeError/ValueError, same message). When json's text would be
    at most ``limit`` bytes, returns JSON of the same value, at most ``limit`` bytes, maybe
    orjson's bytes (UTF-8 rather than \\u escapes, other float spellings). Otherwise returns
    json's bytes, so ``len(result) > limit`` is exactly json's verdict, with json's length.
    """
    data = _orjson_if_same(obj, limit)
    if data is None:
        data = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    return data


def _orjson_if_same(obj: Any, limit: int) -> bytes | None:
    """orjson's encoding of obj if json would accept obj within ``limit`` bytes, else None."""
    try:
        # marshal takes exact built-in types only: no UUID, Enum, datetime, dataclass or
        # str/int/dict subclass, which orjson would serialise (or differently) where json
        # raises; the built-ins orjson cannot write (bytes, set, complex...) raise below.
        marshal.dumps(obj)
        data = orjson.dumps(obj)
    except Exception:  # non-str keys, ints over 64 bits, surrogates, cycles, bytes, sets...
        return None  # json raises or encodes it: either way json decides
    if b"null" in data:  # NaN/Infinity become null; a None or a "null" text lands here too
        return None
    if b"\x7f" in data:  # json escapes DEL as \u007f: 6 bytes for 1
        return None
    size = len(data)
    non_ascii = 0 if data.isascii() else len(data.translate(None, _ASCII))
    # json's text is at most 1.25x ours on ASCII (a float spelt 1e-09 for our 1e-9, which
    # is at least 5 bytes with its separator) and 3x on non-ASCII (\u00e9 for 2 bytes,
    # a surrogate pair of 12 for 4): under this bound both texts fit the limit. Ours can
    # be the longer one (0.00001 for 1e-05), which the bound also covers (5/4 > 1).
    if 5 * (size - non_ascii) + 12 * non_ascii > 4 * limit:
        return None
    return data
