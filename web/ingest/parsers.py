"""The parsers of every wire format, under one name (they live in ``web.ingest.protocols``).

Kept so that ``from web.ingest.parsers import Incoming`` and ``parsers.parse_<format>``
keep working; new code may import the protocol modules directly.
"""

from __future__ import annotations

from collections.abc import Callable

from web.ingest.protocols.common import PAGEVIEW, Incoming
from web.ingest.protocols.ga4 import parse_ga4_collect, parse_ga4_mp
from web.ingest.protocols.goatcounter import parse_goatcounter
from web.ingest.protocols.matomo import parse_matomo
from web.ingest.protocols.native import parse_native, parse_pixel, parse_reports
from web.ingest.protocols.plausible import parse_plausible
from web.ingest.protocols.umami import parse_umami_batch, parse_umami_send
from web.ingest.validate import Hit, Skip

__all__ = [
    "PAGEVIEW",
    "Incoming",
    "Parser",
    "parse_ga4_collect",
    "parse_ga4_mp",
    "parse_goatcounter",
    "parse_matomo",
    "parse_native",
    "parse_pixel",
    "parse_plausible",
    "parse_reports",
    "parse_umami_batch",
    "parse_umami_send",
]

Parser = Callable[[Incoming], list[Hit] | list[Hit | Skip | None]]
