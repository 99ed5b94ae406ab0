"""The one token estimator: conservative (it over-counts), so a prompt that fits here fits the model."""

from __future__ import annotations

MESSAGE_OVERHEAD = 6  # role markers and separators a chat template adds per message


def estimate_tokens(text: str) -> int:
    """An upper-bound estimate of `text`'s token count (about 3 bytes per token, never fewer than words)."""
    if not text:
        return 0
    by_bytes = -(-len(text.encode("utf-8")) // 3)
    by_words = len(text.split()) * 2
    return max(by_bytes, by_words)


def message_tokens(content: str) -> int:
    """Tokens one chat message costs, overhead included."""
    return estimate_tokens(content) + MESSAGE_OVERHEAD


def truncate_to(text: str, tokens: int) -> str:
    """The longest prefix of `text` (cut at a word) whose estimate is at most `tokens`."""
    if estimate_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if estimate_tokens(text[:mid] + "…") <= tokens:
            low = mid
        else:
            high = mid - 1
    cut = text[:low]
    space = cut.rfind(" ")
    return (cut[:space] if space > len(cut) // 2 else cut).rstrip() + "…" if low else ""
