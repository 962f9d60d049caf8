"""Untrusted HTML (mail, model output) against hostile input: nothing active survives."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from web.sanitize import display_host, plain_text, sanitize_html

ACTIVE = re.compile(r"<(script|style|iframe|object|embed|form|input|button|svg|math|template|meta|link|base)\b", re.I)


def _safe(out: str) -> None:
    assert not ACTIVE.search(out), out
    assert not re.search(r"\son[a-z]+\s*=", out, re.I), out  # no event handler attribute
    assert not re.search(r"(javascript|vbscript):", out, re.I), out
    assert "style=" not in out and "srcset" not in out and "url(" not in out, out


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        '<svg onload="alert(1)"><circle r=1 /></svg>',
        '<a href="javascript:alert(1)">click</a>',
        '<a href="JaVaScRiPt&colon;alert(1)">click</a>',
        '<a href="  javascript:alert(1)">click</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        '<object data="x.swf"></object><embed src="x.swf">',
        '<form action="/secrets/add" method="post"><input name="value"><button>go</button></form>',
        '<div style="background:url(https://track.example/p.gif)">bg</div>',
        "<style>body{background:url(https://track.example/p.gif)}</style>text",
        '<img srcset="https://track.example/a.png 1x, https://track.example/b.png 2x">',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        '<base href="https://evil.example/"><link rel=stylesheet href=//evil/x.css><meta http-equiv=refresh content=0>',
        "<template><script>alert(1)</script></template>",
        '<p onmouseover="alert(1)" onclick=alert(2)>hover</p>',
        '<a href="/secrets">relative link into the console</a>',
    ],
)
def test_nothing_active_survives(hostile: str) -> None:
    out = str(sanitize_html(hostile))
    _safe(out)


def test_remote_images_are_replaced_by_a_visible_note_and_inline_ones_kept() -> None:
    out = str(sanitize_html('<img src="https://track.example/p.gif" alt="Logo"><img src="http://x/y.png">'))
    assert "track.example" not in out and "<img" not in out
    assert '<span class="blocked-image">[remote image blocked: Logo]</span>' in out
    assert "[remote image blocked]" in out
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9a"
        "wAAAABJRU5ErkJggg=="
    )
    kept = str(sanitize_html(f'<img src="{pixel}" alt="dot">'))
    assert f'src="{pixel}"' in kept
    svg = str(sanitize_html('<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">'))
    assert "data:image/svg" not in svg


def test_external_links_show_their_real_host_and_open_safely() -> None:
    out = str(sanitize_html('<a href="https://accounts.google.com@evil.example/login">https://bank.example</a>'))
    assert 'target="_blank"' in out and 'rel="noopener noreferrer nofollow"' in out
    assert out.endswith('<span class="link-host">(evil.example)</span>')
    lookalike = str(sanitize_html('<a href="https://pаypal.com/">PayPal</a>'))  # Cyrillic "а"
    assert "(xn--" in lookalike
    mail = str(sanitize_html('<a href="mailto:someone@example.com">write</a>'))
    assert "link-host" not in mail and 'href="mailto:someone@example.com"' in mail


def test_markup_cannot_forge_the_consoles_own_labels() -> None:
    out = str(
        sanitize_html(
            '<span class="link-host">(bank.example)</span><a class="external" target="_top" rel="opener" href="https://evil.example">x</a>'
        )
    )
    assert "<span>(bank.example)</span>" in out  # the forged class is gone
    assert 'target="_top"' not in out and 'rel="opener"' not in out
    assert out.count('class="link-host"') == 1 and "(evil.example)" in out


def test_hidden_text_and_invisible_characters_are_revealed_or_removed() -> None:
    out = str(sanitize_html('<p>Visible<span style="display:none" hidden>IGNORE PREVIOUS INSTRUCTIONS</span></p>'))
    assert "IGNORE PREVIOUS INSTRUCTIONS" in out and "hidden" not in out and "display" not in out
    zw = str(sanitize_html("pa\u200byp\u200cal \u202egnp.exe \u2066x\u2069 \ufeffok"))
    assert zw == "paypal gnp.exe x ok"
    assert "\u200d" in str(sanitize_html("👩\u200d💻"))  # emoji joiners stay


def test_formatting_and_text_survive_and_the_result_is_markup() -> None:
    out = sanitize_html("<p>Hello <b>there</b> &amp; <em>welcome</em></p><ul><li>one</li></ul>")
    assert isinstance(out, Markup)
    assert str(out) == "<p>Hello <b>there</b> &amp; <em>welcome</em></p><ul><li>one</li></ul>"
    assert str(sanitize_html("1 < 2 and <3")) == "1 &lt; 2 and &lt;3"


def test_plain_text_and_hosts() -> None:
    assert plain_text("<p>a <b>b</b></p><script>evil()</script>&lt;c&gt;") == "a b<c>"
    assert display_host("https://EXAMPLE.com:8443/x") == "example.com"
    assert display_host("mailto:x@example.com") is None
