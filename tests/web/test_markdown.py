"""The model's Markdown in the chat: formatted, but never markup, images or live links of its own."""

from __future__ import annotations

from web.markdown import ChatMarkdown

HOSTILE = """# Plan

Here is **bold**, *italic*, `code` and ~~old~~.

- one
- two

[your statement](https://evil.example/x?data=balance) and https://plain.example/y.

![pixel](https://tracker.example/p.png)

<script>alert(1)</script><img src=x onerror=alert(2)><a href="https://evil.example">raw</a>

| a | b |
|---|---|
| 1 | 2 |

pay\u200bpal
"""


def test_formatting_survives_and_nothing_active_does() -> None:
    out = str(ChatMarkdown().render(HOSTILE))
    for tag in ("<h3>Plan</h3>", "<strong>bold</strong>", "<em>italic</em>", "<code>code</code>", "<s>old</s>"):
        assert tag in out
    assert "<li>one</li>" in out and "<table>" in out and "<td>1</td>" in out
    # No markup from the model: no script, no image, no anchor at all (links are inert text + host).
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    assert '<span class="inert-link" title="https://evil.example/x?data=balance">your statement</span>' in out
    assert '<span class="link-host">[link to evil.example]</span>' in out
    assert '<span class="link-host">[link to tracker.example]</span>' in out  # the image became an inert link
    assert ">https://plain.example/y</span>" in out
    assert "pay⟨U+200B⟩pal" in out
