from __future__ import annotations

import pytest

from tools.whatsapp.pairing import qr_svg

QR = "2@4rC1xQ0yZb+k9eW8pFq0GsdKm2vA==,u7wPz4Jt0Q7mZ5b6nYcR2Q==,Xy8qLr1Vt0bN3m=,AbCdEfGh="


def test_the_pairing_string_becomes_an_inline_svg() -> None:
    svg = qr_svg(QR)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and QR not in svg
    assert qr_svg(QR) == svg and qr_svg(QR + "x") != svg


@pytest.mark.parametrize("bad", ["", "x" * 2000])
def test_nothing_else_is_drawn(bad: str) -> None:
    with pytest.raises(ValueError):
        qr_svg(bad)
