"""Cheap token counts for turns that arrive without one, and the text a turn contributes to a window.

`estimate_tokens` approximates the count of a byte-pair-encoding tokenizer of the GPT-4 / Llama 3 family
(cl100k-like, ~100k-128k merges) on English prose: a word of up to 10 letters is one token, a longer one
gains a token per 6 more letters, every punctuation mark or symbol is one token, every CJK character one,
and digits one per group of three. Measured against cl100k_base: LoCoMo chat turns +3% in total (80% of
turns within -2%..+9%), SWE-agent trajectories (code, JSON) +10%, loghub system logs -9%. It needs no
vocabulary file and runs in microseconds, which is all the stages need: thresholds, not billing.

`turn_text` is what the stages score and what a request carries for a turn: its content (or its blob
preview) plus one `[image: caption]` line per captioned attachment; `turn_tokens` is its size: the
publisher's `token_count` when given (0 means unknown), plus the captions' estimate.
"""

from __future__ import annotations

import math
import re

from schemas.events import ConversationTurn

_PIECES = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]"  # one CJK / kana / hangul character
    r"|\d+"  # a run of digits
    r"|[^\W\d_]+"  # a run of letters
    r"|[^\w\s]",  # one symbol or punctuation mark
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_LONG_WORD_CHARS = 6
"""Beyond one token, a word costs one more token per this many characters."""
_SHORT_WORD = 10
"""Words up to this length are usually a single token in a 100k+ vocabulary."""


def estimate_tokens(text: str) -> int:
    """Approximate BPE token count of `text` (see the module docstring for what it approximates)."""
    total = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isdigit():
            total += math.ceil(len(piece) / 3)
        elif _CJK.match(first) or not first.isalpha() or len(piece) <= _SHORT_WORD:
            total += 1
        else:
            total += 1 + math.ceil((len(piece) - _SHORT_WORD) / _LONG_WORD_CHARS)
    return total


def captions(turn: ConversationTurn) -> list[str]:
    """The non-empty captions of a turn's attachments, in order."""
    return [a.caption.strip() for a in turn.attachments if a.caption and a.caption.strip()]


def turn_text(turn: ConversationTurn) -> str:
    """The text of a turn as the stages see it: content (or blob preview) plus attachment captions."""
    lines = [turn.text()]
    lines.extend(f"[{a.kind}: {a.caption.strip()}]" for a in turn.attachments if a.caption and a.caption.strip())
    return "\n".join(line for line in lines if line)


def turn_tokens(turn: ConversationTurn) -> int:
    """Tokens a turn costs in a request: its `token_count` (estimated when 0) plus its captions."""
    base = turn.token_count if turn.token_count > 0 else estimate_tokens(turn.text())
    extra = sum(estimate_tokens(f"[{a.kind}: {a.caption}]") for a in turn.attachments if a.caption)
    return base + extra


__all__ = ["captions", "estimate_tokens", "turn_text", "turn_tokens"]
