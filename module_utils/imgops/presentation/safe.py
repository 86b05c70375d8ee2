"""Text from files, rows and paths made safe for a terminal: nothing in a value can forge output.

A report description, a file name or a path may hold an ESC sequence (recolouring, moving the cursor,
clearing the screen), a carriage return or a newline (a forged table row or status line), or a
bidirectional override (text shown in another order than it is). Every value a text view prints goes
through ``printable``; JSON output is left as it is (its encoder escapes control characters itself).
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL, C1 controls, and the Unicode bidirectional embeddings, overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` (any value, as ``str``) with every control character written as a visible escape."""
    return _UNPRINTABLE.sub(_escape, str(text))
