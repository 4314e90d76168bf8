"""Fold free text for tolerant comparison: Rakuten's messages and transporter names vary in
case, accents, apostrophes and punctuation between releases and between sellers' inputs.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "squash"]

_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Return ``text`` in NFKC, case-folded, without accents, punctuation as single spaces.

    ``"Article 12 : a déjà été expédié"`` becomes ``"article 12 a deja ete expedie"``.
    """
    normal = unicodedata.normalize("NFKC", text).casefold()
    bare = "".join(c for c in unicodedata.normalize("NFKD", normal) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", bare).strip()


def squash(text: str) -> str:
    """Return the folded text with no separators at all (``"Mondial-Relay"`` -> ``"mondialrelay"``)."""
    return fold(text).replace(" ", "")
