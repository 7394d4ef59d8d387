"""Table-driven tests of the pure enrichment steps: paths, referrers, campaigns, UA, country."""

from __future__ import annotations

import pytest

from web.analytics import steps
from web.core.testing.events import UA_FIREFOX, UA_IPHONE

PATHS = [
    ("https://hearth.test/", "/"),
    ("https://hearth.test", "/"),
    ("https://hearth.test/blog/", "/blog"),
    ("https://hearth.test//blog//post/", "/blog/post"),
    ("https://hearth.test/blog/index.html", "/blog"),
    ("https://hearth.test/a?utm_source=x&b=1", "/a"),
    ("https://hearth.test/a#section-2", "/a"),
    ("https://hearth.test/app/#/settings", "/app#/settings"),
    ("https://hearth.test/app#!/inbox", "/app#!/inbox"),
    ("https://hearth.test/a;jsessionid=123", "/a"),
    ("https://hearth.test/Caps/Stay", "/Caps/Stay"),
    ("not a url", "/not a url"),
    ("http://[::1", "/"),
]


@pytest.mark.parametrize(("url", "path"), PATHS)
def test_path_normalisation(url, path):
    assert steps.parse_url(url).path == path


SOURCES = [
    # (page url, referrer, expected (source, medium, referrer host))
    ("https://h.test/", "", ("Direct", "(none)", "")),
    ("https://h.test/", "https://h.test/other", ("Direct", "(none)", "")),
    ("https://www.h.test/", "https://h.test/x", ("Direct", "(none)", "")),
    ("https://h.test/", "https://www.google.de/search?q=x", ("Google", "search", "google.de")),
    ("https://h.test/", "https://duckduckgo.com/", ("DuckDuckGo", "search", "duckduckgo.com")),
    ("https://h.test/", "https://t.co/abc", ("Twitter", "social", "t.co")),
    ("https://h.test/", "https://news.ycombinator.com/item?id=1",
     ("Hacker News", "social", "news.ycombinator.com")),
    ("https://h.test/", "https://mail.google.com/mail/u/0", ("Gmail", "email", "mail.google.com")),
    ("https://h.test/", "https://chatgpt.com/", ("ChatGPT", "ai", "chatgpt.com")),
    ("https://h.test/", "https://www.perplexity.ai/search", ("Perplexity", "ai", "perplexity.ai")),
    ("https://h.test/", "https://claude.ai/chat/1", ("Claude", "ai", "claude.ai")),
    ("https://h.test/", "https://blog.example.org/p", ("blog.example.org", "referral",
                                                      "blog.example.org")),
    ("https://h.test/?utm_source=newsletter&utm_medium=email", "",
     ("newsletter", "email", "")),
    ("https://h.test/?utm_source=news&utm_medium=Newsletter", "", ("news", "email", "")),
    ("https://h.test/?utm_source=reddit.com", "", ("Reddit", "social", "")),
    # a campaign name alone does not say where the visitor came from: the referrer does
    ("https://h.test/?utm_campaign=spring", "https://www.bing.com/", ("Bing", "search",
                                                                     "bing.com")),
    ("https://h.test/?gclid=abc", "https://www.google.com/", ("Google", "cpc", "google.com")),
    ("https://h.test/?fbclid=abc", "", ("Facebook", "social", "")),
    ("https://h.test/?msclkid=abc", "", ("Bing", "cpc", "")),
    ("https://h.test/?ref=producthunt", "", ("producthunt", "referral", "")),
    ("https://h.test/?ref=news.ycombinator.com", "", ("Hacker News", "social", "")),
]  # fmt: skip


@pytest.mark.parametrize(("url", "ref", "expected"), SOURCES)
def test_source_and_medium(url, ref, expected):
    assert steps.classify(steps.parse_url(url), steps.referrer_host(ref)) == expected


def test_campaign_parts_and_click_id_kind_only():
    u = steps.parse_url(
        "https://h.test/?UTM_SOURCE=a&utm_medium=b&utm_campaign=c&utm_term=d&utm_content=e"
        "&gclid=SECRET"
    )
    assert u.utm == ("a", "b", "c", "d", "e")
    assert u.click_id == "gclid"  # the value (a per-click identifier) is never kept
    assert steps.parse_url("https://h.test/").utm is steps.NO_UTM


UAS = [
    (UA_FIREFOX, ("Firefox", "Linux", "desktop", False)),
    (UA_IPHONE, ("Mobile Safari", "iOS", "mobile", False)),
    ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.0 Mobile/15E148 Safari/604.1", ("Mobile Safari", "iOS", "tablet", False)),
    ("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 Safari/537.36", ("Chrome", "Android", "tablet", False)),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
     ("bingbot", "", "desktop", True)),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/130.0.0.0 Safari/537.36", ("HeadlessChrome", "Linux", "desktop", True)),
    ("", ("", "", "", False)),
]  # fmt: skip


@pytest.mark.parametrize(("ua", "expected"), UAS)
def test_user_agent(ua, expected):
    assert steps.user_agent(ua) == expected


def test_bot_is_dropped_by_the_ua_step():
    with pytest.raises(steps.Drop) as exc:
        steps.ua_step(UAS[4][0])
    assert (exc.value.step, exc.value.reason) == ("ua", "bot")


@pytest.mark.parametrize(
    ("device", "screen", "expected"),
    [("desktop", 390, "mobile"), ("desktop", 900, "tablet"), ("mobile", 1920, "desktop"),
     ("mobile", None, "mobile"), ("tablet", 0, "tablet")],
)  # fmt: skip
def test_viewport_width_decides_the_device(device, screen, expected):
    assert steps.device_for(device, screen) == expected


@pytest.mark.parametrize(
    ("ip", "cc"),
    [("81.2.69.142", "GB"), ("8.8.8.8", "US"), ("2a00:1450:4001::1", "IE"),
     ("127.0.0.1", ""), ("10.0.0.1", ""), ("garbage", ""), ("", "")],
)  # fmt: skip
def test_country(ip, cc):
    assert steps.country(ip) == cc


def test_visitor_id_depends_on_salt_site_ip_and_ua():
    a = steps.visitor_id(b"s" * 32, 1, "1.2.3.4", "ua")
    assert a == steps.visitor_id(b"s" * 32, 1, "1.2.3.4", "ua")
    others = {
        steps.visitor_id(b"t" * 32, 1, "1.2.3.4", "ua"),
        steps.visitor_id(b"s" * 32, 2, "1.2.3.4", "ua"),
        steps.visitor_id(b"s" * 32, 1, "1.2.3.5", "ua"),
        steps.visitor_id(b"s" * 32, 1, "1.2.3.4", "ua2"),
    }
    assert a not in others and len(others) == 4
    assert 0 < a < 2**63


@pytest.mark.parametrize(
    "payload",
    [None, [], {"site": 1}, {"site": "1", "kind": "pageview", "ts": 1.0},
     {"site": 1, "kind": "visit", "ts": 1.0}, {"site": 1, "kind": "pageview", "ts": "now"},
     {"site": 1, "kind": "pageview", "ts": 1.0, "url": 5},
     {"site": True, "kind": "pageview", "ts": 1.0}],
)  # fmt: skip
def test_validate_rejects_malformed_payloads(payload):
    with pytest.raises(steps.Drop):
        steps.validate(payload)


def test_session_ids_are_time_ordered_and_spread_over_32_bits() -> None:
    from web.analytics.steps import session_id_for

    t = 1_795_300_000.25
    same_second = [session_id_for(vid, t) for vid in range(1, 5001)]
    assert len(set(same_second)) == 5000  # 5,000 sessions starting in one second
    assert max(same_second) - min(same_second) >= 2**31  # the low 32 bits are well mixed
    assert session_id_for(7, t) != session_id_for(7, t + 0.001)  # a split in the same second
    assert session_id_for(7, t) == session_id_for(7, t)  # a redelivery recreates the id
    assert min(session_id_for(v, t + 1) for v in range(1, 100)) > max(same_second)
    assert session_id_for(2**62, 3_600_000_000) < 2**63  # year 2084 still fits in a BIGINT
