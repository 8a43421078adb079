"""Text normalisation shared by ingest and the commune registry: NFC, spacing, folding.

Vietnamese text reaches the project in several Unicode forms (NFC from most software, NFD
or old-style tone placement from some, Windows-1258 from old Excel versions).  Everything
that compares names or labels goes through these few functions, so that ``hlstudy.ingest``
and ``hlstudy.communes`` agree (and neither imports the other for it).

>>> fold("  Xã  Hữu Lũng ")
'xa huu lung'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

#: Any dash (hyphen, en/em dash, minus-like marks) with the spaces around it.
DASHES = re.compile(r"\s*[-‐‑‒–—―]\s*")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def nfc(text: str) -> str:
    """Unicode NFC form of ``text`` (composed letters, as Vietnamese is normally stored)."""
    return unicodedata.normalize("NFC", text)


def clean_text(value: Any) -> str:
    """NFC, non-breaking spaces to spaces, runs of white space collapsed, ends stripped."""
    if type(value) is str:
        return _clean_str(value)
    return _clean_str(str(value))


@lru_cache(maxsize=1 << 16)
def _clean_str(text: str) -> str:
    text = nfc(text).replace("\u00a0", " ").replace("\ufeff", "")
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lower-case ``text`` without diacritics (``"Hữu Lũng"`` → ``"huu lung"``)."""
    return _fold_str(clean_text(text))


@lru_cache(maxsize=1 << 16)
def _fold_str(text: str) -> str:
    """:func:`fold` of a cleaned text, kept per text (ingest folds every answer it reads
    to compare it with labels and "don't know" phrases; answers repeat)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


def sort_key(text: Any) -> tuple[str, str]:
    """Vietnamese-friendly sort key: letters without diacritics first (``Đồng Tân`` near ``Đông``)."""
    return fold(str(text)), clean_text(text)



def encode_cp1258(text: str) -> bytes:
    """Encode ``text`` in Windows-1258 the way Vietnamese Windows software does.

    Code page 1258 has the base letters (``ơ``, ``ư``, ``â``, ``đ``…) but not the toned
    ones, which it writes as a base letter followed by a combining tone mark.  Useful to
    build test files; :func:`read_csv_rows` reads such files back to NFC.
    """
    return "".join(_cp1258_char(ch) for ch in nfc(text)).encode("cp1258")


@lru_cache(maxsize=4096)
def _cp1258_char(ch: str) -> str:
    """One character as :func:`encode_cp1258` writes it (itself, or base letter + tone marks):
    a pure function of the character, worked out once."""
    try:
        ch.encode("cp1258")
        return ch
    except UnicodeEncodeError:
        pass
    parts = unicodedata.normalize("NFD", ch)
    tones = "".join(c for c in parts if c in _TONES)
    base = nfc("".join(c for c in parts if c not in _TONES))
    return base + tones

