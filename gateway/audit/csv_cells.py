"""Cells of the audit CSV export, made safe for spreadsheets and line-based tools.

Audit events carry untrusted text: an operation name comes straight from the URL of a
call (unknown names are audited too, even before the caller is identified) and
``on_behalf_of`` from a header. Every readable cell passes :func:`cell`, which does two
things, in this order:

1. **One event, one physical line.** Backslash, C0 and C1 controls, DEL, bidi and other
   format characters, line and paragraph separators are escaped visibly (``\\n``,
   ``\\x1b``, ``\\u202e``) by :func:`gateway.audit.render.safe`, the escaper the terminal
   output uses. Escaping first means a leading TAB or CR becomes the text ``\\t`` or
   ``\\r``, which no spreadsheet reads as the start of a formula.
2. **No formulas** (OWASP, "CSV Injection"): a cell whose first non-blank character is
   ``= + - @``, or one of their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20, which
   input methods and some spreadsheets fold to ASCII), gets a leading ``'``. A cell that
   is wholly a plain decimal number (``-5``, ``+1.5e3``) is left alone: no spreadsheet
   runs it as a formula, and it stays usable as a number.

The writer quotes every cell (``csv.QUOTE_ALL``), so no reader has to guess where a
cell ends and leading or trailing blanks survive.
"""

from __future__ import annotations

import re

from gateway.audit.render import safe

__all__ = ["FORMULA_PREFIXES", "cell"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""Characters that make a spreadsheet treat a cell as a formula (TAB and CR never reach
the check: they are escaped first)."""

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_PLAIN = re.compile(r"[ -\[\]-~]*")  # printable ASCII but backslash: nothing to escape


def cell(value: object) -> str:
    """``value`` as one printable line that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    if not _PLAIN.fullmatch(text):
        text = safe(text)
    if text.lstrip().startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
