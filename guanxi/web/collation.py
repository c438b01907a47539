"""Sorting names the way the reader's language does: in Chinese by pinyin (as phone contact lists and dictionaries
order 王芳, 李娜, 张伟 → 李娜, 王芳, 张伟), otherwise alphabetically without regard to case or accents.

Why pypinyin and not ICU or the database: PyICU needs the ICU C library and a compiler, PostgreSQL's ICU
collations do not exist in SQLite, and the lists sorted here (segments, stores, members, tags) are short enough to
sort in Python. In Chinese, Latin names sort among the pinyin ones by their letters (Amy next to 安), since
that is how a pinyin-reading user looks for them. Long, paginated lists are ordered by the database instead.
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Iterable, TypeVar

from django.utils.translation import get_language
from pypinyin import Style, lazy_pinyin

T = TypeVar("T")


def _latin(text: str) -> str:
    # "Émile" sorts with "Emile": drop combining marks, then fold case.
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def collation_key(text: str, language: str | None = None) -> tuple:
    """A sort key for `text` in `language` (default: the active one)."""
    text = (text or "").strip()
    language = language or get_language() or "en"
    if language.startswith("zh"):
        # TONE3 spells the tone as a digit after the syllable: equal letters then sort by tone (mā < má).
        syllables = lazy_pinyin(text, style=Style.TONE3, errors="default")
        return (_latin(" ".join(syllables)), text)
    return (_latin(text), text)


def sorted_by_name(items: Iterable[T], name: Callable[[T], str] = str, language: str | None = None) -> list[T]:
    """`items` in the language's order of `name(item)`."""
    language = language or get_language() or "en"
    return sorted(items, key=lambda item: collation_key(name(item), language))
