"""Reading numbers people type: only what int() can read counts as one."""

from __future__ import annotations


def plain_digits(text: str) -> bool:
    """Whether `text` is one or more ASCII digits. str.isdigit() alone also
    takes "²", "①" and other scripts' digits, which int() refuses."""
    return text.isascii() and text.isdigit()
