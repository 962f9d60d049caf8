"""X's weighted length: 280, a URL counts 23, CJK and emoji count 2; over-long text is refused."""

from __future__ import annotations

import pytest

from tools.twitter.length import MAX_WEIGHTED, PostTooLong, check_post, weighted_length


def test_latin_text_counts_one_per_character_up_to_280() -> None:
    assert weighted_length("a" * 280).weighted == 280 and check_post("a" * 280).ok
    with pytest.raises(PostTooLong, match="281 of X's 280"):
        check_post("a" * 281)


def test_cjk_counts_two_so_140_fit_and_141_do_not() -> None:
    assert weighted_length("漢" * 140).weighted == MAX_WEIGHTED
    with pytest.raises(PostTooLong, match="2 too many"):
        check_post("漢" * 141)
    assert weighted_length("日本語 ok").weighted == 3 * 2 + 3


def test_a_url_counts_23_whatever_its_length() -> None:
    long_url = "https://example.com/" + "p" * 200
    assert weighted_length(f"read {long_url}").weighted == 5 + 23
    assert weighted_length("see www.example.org/x now").weighted == 4 + 23 + 4
    assert check_post("a" * 256 + " " + long_url).weighted == 280  # 477 by characters


def test_emoji_and_typographic_punctuation() -> None:
    assert weighted_length("🙂").weighted == 2
    assert weighted_length("a\u2014b\u2019").weighted == 4  # em dash and quote are in the light ranges


def test_an_empty_post_is_refused() -> None:
    with pytest.raises(PostTooLong, match="empty"):
        check_post("   ")
