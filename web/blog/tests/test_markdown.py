"""A Markdown XSS corpus is neutralised, for posts and for comments."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from web.blog.markdown import render_comment, render_post

CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x" onerror="alert(1)](https://example.com/a.png)',
    '[x](https://example.com/" onmouseover="alert(1))',
    "[x]: javascript:alert(1)\n\n[x]",
    "<details open ontoggle=alert(1)>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<object data=javascript:alert(1)>",
    "<a href='&#x6A;avascript:alert(1)'>x</a>",
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<input autofocus onfocus=alert(1)>",
]

ALLOWED_SCHEMES = {"http", "https", "mailto", ""}
FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "svg", "math", "style", "form", "input", "base",
    "meta", "details", "link", "button", "textarea", "frame", "frameset",
}  # fmt: skip


class _Elements(HTMLParser):
    """Collects the real elements and attributes a browser would build (not escaped text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _scheme(url: str) -> str:
    cleaned = "".join(ch for ch in url if ch > " ").lower()
    head = cleaned.split("/", 1)[0]
    return head.split(":", 1)[0] if ":" in head else ""


def assert_safe(html: str) -> None:
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in FORBIDDEN_TAGS, f"<{tag}> in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"{name}= in {html!r}"
            assert name != "style", f"style= in {html!r}"
            if name in {"href", "src", "action", "formaction", "data", "xlink:href"}:
                assert _scheme(value or "") in ALLOWED_SCHEMES, f"{name}={value!r}"


@pytest.mark.parametrize("render", [render_post, render_comment], ids=["post", "comment"])
@pytest.mark.parametrize("payload", CORPUS)
def test_xss_corpus_is_neutralised(render, payload: str) -> None:  # type: ignore[no-untyped-def]
    assert_safe(render(payload))


def test_checker_catches_live_script() -> None:
    """The checker itself must fail on real script, or the corpus test proves nothing."""
    for bad in ['<img src=x onerror="alert(1)">', '<a href="javascript:alert(1)">x</a>',
                "<script>alert(1)</script>", '<p style="x">y</p>']:  # fmt: skip
        with pytest.raises(AssertionError):
            assert_safe(bad)


def test_safe_markdown_still_renders() -> None:
    html = render_post("# Title\n\nSome *em* and [a link](https://example.com).\n\n![cat](/c.png)")
    assert "<h1>Title</h1>" in html
    assert "<em>em</em>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer"' in html
    assert '<img src="/c.png" alt="cat"' in html and 'loading="lazy"' in html


def test_comment_is_markdown_lite() -> None:
    html = render_comment(
        "# not a heading\n\n![img](https://example.com/a.png) **bold** [l](https://x.example)"
    )
    assert "<h1>" not in html and "<img" not in html
    assert "<strong>bold</strong>" in html
    assert 'rel="nofollow ugc noopener noreferrer"' in html


PY_BLOCK = '```python\ndef greet(name):\n    return "<b>" + name  # hi\n```\n'


def test_fenced_python_is_highlighted_on_the_server() -> None:
    from web.blog.markdown import _post_parser

    html = render_post(PY_BLOCK)
    assert '<pre><code class="language-python">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">greet</span>' in html
    assert '<span class="c1"># hi</span>' in html
    assert "&lt;b&gt;" in html and "<b>" not in html  # code text stays escaped
    # The sanitiser lets the highlighted markup through untouched: nothing stripped.
    assert html == _post_parser().render(PY_BLOCK)
    assert_safe(html)


@pytest.mark.parametrize(
    "block",
    [
        "```python\n</code></pre><script>alert(1)</script>\n```",
        '```html\n<img src=x onerror="alert(1)">\n```',
        '```js" onclick="alert(1)\nx\n```',
        "```nosuchlanguage\n<script>alert(1)</script>\n```",
    ],
)
def test_highlighted_blocks_stay_safe(block: str) -> None:
    assert_safe(render_post(block))


def test_unknown_language_and_comments_stay_plain() -> None:
    assert "<span" not in render_post("```nosuchlanguage\nx = 1\n```")
    assert "<span" not in render_comment("```python\nx = 1\n```")
