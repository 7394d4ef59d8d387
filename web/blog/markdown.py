"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off), then nh3 as a backstop.

markdown-it already escapes raw HTML and refuses javascript:/vbscript:/data: links; nh3
(an allowlist sanitizer) removes anything that still slips through, so a parser bug alone
cannot produce script. Posts get the full CommonMark set; comments get "Markdown-lite":
inline emphasis, code, links, lists, quotes, no images or headings.

Fenced code blocks in posts with a language (```python) are highlighted on the server by
Pygments: spans with short class names (``<span class="k">``) styled by site.css, so there
is no front-end build and nothing runs in the reader's browser. Unknown languages stay plain.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

URL_SCHEMES = {"http", "https", "mailto"}
# Posts may embed uploaded images as ![alt](media:<id>); the page expands them to <picture>
# at request time (web.media.selectors.expand_media_images), only once they are processed.
POST_URL_SCHEMES = URL_SCHEMES | {"media"}

POST_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "strong", "ul", "h1", "del", "sup", "sub", "span",
}  # fmt: skip
POST_ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "span": {"class"},  # Pygments token classes (k, s, nf, ...)
}

COMMENT_TAGS = {"a", "blockquote", "br", "code", "em", "li", "ol", "p", "pre", "strong", "ul"}
COMMENT_ATTRS = {"a": {"href"}}


_FORMATTER = HtmlFormatter(nowrap=True)


def highlight_code(code: str, lang: str, attrs: str = "") -> str:
    """Pygments HTML (token spans, no wrapper) for a fenced block's body, or "" to let
    markdown-it escape it as plain text (no language, or one Pygments does not know)."""
    name = lang.strip().split(maxsplit=1)[0] if lang.strip() else ""
    if not name:
        return ""
    try:
        lexer = get_lexer_by_name(name)
    except ClassNotFound:
        return ""
    return highlight(code, lexer, _FORMATTER)


@cache
def _post_parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "highlight": highlight_code})


@cache
def _comment_parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).disable(
        ["image", "heading", "lheading", "hr", "html_block", "html_inline", "reference"]
    )


def render_post(text: str) -> str:
    """Full Markdown for staff-written posts; images load lazily."""
    html = _post_parser().render(text)
    return nh3.clean(
        html,
        tags=POST_TAGS,
        attributes=POST_ATTRS,
        url_schemes=POST_URL_SCHEMES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
    )


def render_comment(text: str) -> str:
    """Markdown-lite for readers' comments; links are marked nofollow/ugc."""
    html = _comment_parser().render(text)
    return nh3.clean(
        html,
        tags=COMMENT_TAGS,
        attributes=COMMENT_ATTRS,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener noreferrer",
    )
