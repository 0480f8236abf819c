"""Text preparation for full-text search in English, Japanese and other languages.

SQLite's FTS5 tokenizers cannot split Japanese or Chinese: `unicode61` keeps a whole run of kanji
and kana as one token, and `trigram` cannot find 2-character words such as 東京 or 設定 (measured,
see the documents notes). So text is prepared in Python:

- NFKC-normalised (full-width ASCII and half-width katakana become their usual forms) and
  lower-cased;
- runs of CJK characters (Han, hiragana, katakana) become overlapping character bigrams in a
  separate column (`cjk`), each run also ending with its last character alone, so that a query for
  one character can match any position as a prefix (`X*` finds the bigrams starting with X and the
  final unigram);
- everything else stays in the `body` column for `unicode61` (words, diacritics removed).

Queries go through the same steps: CJK runs become a phrase of bigrams, other words prefix terms,
all joined with AND. Snippets are cut in Python from the stored message, since FTS5's snippet()
would show the bigram column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Han (with extensions and compatibility ideographs), the iteration marks 々〆〇, hiragana,
# katakana (with the prolonged sound mark and small phonetic extensions) and half-width katakana
# (NFKC folds them, but text that skipped normalisation should split the same way).
_CJK = (
    "\u3005-\u3007"
    "\u3040-\u309f"
    "\u30a0-\u30ff"
    "\u31f0-\u31ff"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uf900-\ufaff"
    "\uff66-\uff9f"
    "\U00020000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(rf"[^\W{_CJK}]+")


def normalize(text: str) -> str:
    """NFKC and lower case, keeping the length so that offsets map back to the NFKC text."""
    text = unicodedata.normalize("NFKC", text)
    # str.lower() can lengthen a few characters (İ -> i̇); snippets need offsets that line up.
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


def index_columns(text: str) -> tuple[str, str]:
    """The `body` and `cjk` column values that index `text`."""
    norm = normalize(text)
    body = _CJK_RUN.sub(" ", norm)
    cjk = " ".join(tok for run in _CJK_RUN.findall(norm) for tok in _cjk_tokens(run))
    return body, cjk


@dataclass(frozen=True)
class Query:
    """A user's search text prepared for FTS5 and for highlighting."""

    match: str
    """The FTS5 MATCH expression (empty when the text has nothing searchable)."""
    terms: tuple[str, ...]
    """Normalised words and CJK runs, longest first, for finding them in snippets."""


def parse_query(text: str) -> Query:
    """Turn what the user typed into an FTS5 expression; never raises on odd input."""
    norm = normalize(text)
    parts: list[str] = []
    terms: list[str] = []
    pos = 0
    for m in [*_CJK_RUN.finditer(norm), None]:
        # Words before this CJK run (or, for the final None, after the last one).
        for word in _WORD.findall(norm[pos:m.start() if m else len(norm)]):
            # Words hold no quotes (\w only), so quoting them is safe; the column's tokenizer
            # splits them further if it must. A prefix finds "setting" from "sett" as one types.
            parts.append(f'body : "{word}"*')
            terms.append(word)
        if m is None:
            break
        pos = m.end()
        run = m.group()
        if len(run) == 1:
            parts.append(f'cjk : "{run}"*')
        else:
            bigrams = " ".join(run[i:i + 2] for i in range(len(run) - 1))
            parts.append(f'cjk : "{bigrams}"')
        terms.append(run)
    return Query(" AND ".join(parts), tuple(sorted(set(terms), key=len, reverse=True)))


def snippet(text: str, terms: tuple[str, ...],
            width: int = 120) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of `text` around the first term found, and the (start, end) spans of terms in it.

    The snippet is NFKC text with whitespace collapsed; it starts with "…" when cut.
    """
    shown = " ".join(unicodedata.normalize("NFKC", text).split())
    low = normalize(shown)
    first = min((i for t in terms if (i := low.find(t)) >= 0), default=0)
    start = max(0, first - width // 3)
    if start > 0:
        # Start at a word boundary when one is near, so the snippet does not open mid-word.
        space = shown.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    end = min(len(shown), start + width)
    if end < len(shown):
        space = shown.rfind(" ", max(first + 1, end - 20), end)
        end = space if space > 0 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(shown) else ""
    spans: list[tuple[int, int]] = []
    window = low[start:end]
    for term in terms:
        i = window.find(term)
        while i >= 0:
            a, b = i + len(prefix), i + len(prefix) + len(term)
            if not any(a < e and s < b for s, e in spans):
                spans.append((a, b))
            i = window.find(term, i + len(term))
    return prefix + shown[start:end] + suffix, tuple(sorted(spans))
