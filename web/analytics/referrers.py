"""Referrer and campaign classification tables (source, medium), kept apart from the steps.

Medium values: search, social, email, ai, referral, cpc (click ids), (none) for direct, or
whatever utm_medium says. Hosts match on the registered part (``www.`` and ``m.`` stripped,
then the longest suffix in the table wins).
"""

from __future__ import annotations

# host suffix -> (source name, medium)
KNOWN: dict[str, tuple[str, str]] = {}


def _add(medium: str, table: dict[str, tuple[str, ...]]) -> None:
    for name, hosts in table.items():
        for host in hosts:
            KNOWN[host] = (name, medium)


_add(
    "search",
    {
        "Google": (
            "google.com",
            "google.co.uk",
            "google.de",
            "google.fr",
            "google.es",
            "google.it",
            "google.nl",
            "google.ca",
            "google.com.au",
            "google.co.in",
            "google.com.br",
            "google.co.jp",
            "google.pl",
            "google.ch",
            "google.at",
            "google.be",
            "google.se",
            "google.dk",
            "google.no",
            "google.fi",
        ),
        "Bing": ("bing.com",),
        "DuckDuckGo": ("duckduckgo.com",),
        "Yahoo": ("search.yahoo.com", "yahoo.com"),
        "Yandex": ("yandex.ru", "yandex.com"),
        "Baidu": ("baidu.com",),
        "Ecosia": ("ecosia.org",),
        "Brave Search": ("search.brave.com",),
        "Startpage": ("startpage.com",),
        "Kagi": ("kagi.com",),
        "Qwant": ("qwant.com",),
        "Naver": ("naver.com",),
        "Seznam": ("seznam.cz",),
    },
)
_add(
    "social",
    {
        "Facebook": ("facebook.com", "l.facebook.com", "lm.facebook.com", "fb.com"),
        "Twitter": ("twitter.com", "t.co", "x.com"),
        "LinkedIn": ("linkedin.com", "lnkd.in"),
        "Reddit": ("reddit.com", "old.reddit.com", "out.reddit.com"),
        "Hacker News": ("news.ycombinator.com",),
        "Instagram": ("instagram.com", "l.instagram.com"),
        "YouTube": ("youtube.com", "youtu.be"),
        "Pinterest": ("pinterest.com",),
        "TikTok": ("tiktok.com",),
        "Mastodon": ("mastodon.social", "mastodon.online", "fosstodon.org", "hachyderm.io"),
        "Bluesky": ("bsky.app",),
        "Threads": ("threads.net",),
        "Lobsters": ("lobste.rs",),
        "Telegram": ("t.me", "web.telegram.org"),
        "WhatsApp": ("web.whatsapp.com", "wa.me"),
        "Discord": ("discord.com",),
    },
)
_add(
    "email",
    {
        "Gmail": ("mail.google.com",),
        "Outlook": ("outlook.live.com", "outlook.office.com", "outlook.office365.com"),
        "Yahoo Mail": ("mail.yahoo.com",),
        "Proton Mail": ("mail.proton.me",),
        "Fastmail": ("app.fastmail.com",),
    },
)
_add(
    "ai",
    {
        "ChatGPT": ("chatgpt.com", "chat.openai.com"),
        "Perplexity": ("perplexity.ai",),
        "Claude": ("claude.ai",),
        "Gemini": ("gemini.google.com", "bard.google.com"),
        "Copilot": ("copilot.microsoft.com",),
        "DeepSeek": ("chat.deepseek.com", "deepseek.com"),
        "Mistral": ("chat.mistral.ai",),
        "Phind": ("phind.com",),
        "You.com": ("you.com",),
        "Poe": ("poe.com",),
    },
)

# click id query parameter -> (source, medium). Only the kind is kept, never the value.
CLICK_IDS: dict[str, tuple[str, str]] = {
    "gclid": ("Google", "cpc"),
    "gbraid": ("Google", "cpc"),
    "wbraid": ("Google", "cpc"),
    "dclid": ("Google", "display"),
    "msclkid": ("Bing", "cpc"),
    "fbclid": ("Facebook", "social"),
    "ttclid": ("TikTok", "cpc"),
    "twclid": ("Twitter", "cpc"),
    "li_fat_id": ("LinkedIn", "cpc"),
    "yclid": ("Yandex", "cpc"),
}

# utm_source values that name a known source in another spelling.
EMAIL_MEDIUMS = frozenset({"email", "e-mail", "newsletter", "mail"})


def lookup(host: str) -> tuple[str, str] | None:
    """(source, medium) for a referring host, or None when it is not in the tables."""
    host = host.lower()
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
            break
    while host:
        hit = KNOWN.get(host)
        if hit is not None:
            return hit
        dot = host.find(".")
        if dot < 0:
            return None
        host = host[dot + 1 :]
    return None
