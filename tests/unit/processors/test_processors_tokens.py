"""Token estimates and the text a turn contributes to a window."""

from __future__ import annotations

from conftest import TurnFactory

from processors.tokens import captions, estimate_tokens, turn_text, turn_tokens
from schemas.events import Attachment


def test_estimate_is_close_to_a_bpe_count_on_prose() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("Hello, world!") == 4  # Hello , world !
    prose = "I went to a LGBTQ support group yesterday and it was so powerful."
    assert estimate_tokens(prose) == 14  # one per word, one for the full stop
    assert estimate_tokens("nation") == 1
    assert estimate_tokens("internationalization") == 3  # a long word costs more than one token
    assert estimate_tokens("2023") == 2  # digits in groups of three
    assert estimate_tokens("日本語") == 3


def test_estimate_grows_with_text() -> None:
    sentence = "The quick brown fox jumps over the lazy dog. "
    assert estimate_tokens(sentence * 10) == 10 * estimate_tokens(sentence)


def test_turn_tokens_prefers_the_publishers_count(make_turn: TurnFactory) -> None:
    assert turn_tokens(make_turn("a b c d", token_count=40)) == 40
    assert turn_tokens(make_turn("a b c d", token_count=0)) == 4


def test_captions_join_the_text_and_the_token_count(make_turn: TurnFactory) -> None:
    image = Attachment(kind="image", url="https://example.org/x.jpg", caption="a photo of a red bicycle")
    turn = make_turn("Look what I got!", attachments=(image, Attachment(kind="file")))
    assert captions(turn) == ["a photo of a red bicycle"]
    assert turn_text(turn) == "Look what I got!\n[image: a photo of a red bicycle]"
    assert turn_tokens(turn) == estimate_tokens("Look what I got!") + estimate_tokens(
        "[image: a photo of a red bicycle]"
    )
