"""Markdown for a streamed chat message: split into blocks, render each block for Qt rich text.

Pure Python (no Qt import), so it is testable on its own. A streamed reply is shown
block-incrementally: :class:`BlockSplitter` finds the blocks that can no longer change, each is
rendered once with :func:`render_block_html`, and only the open tail is re-rendered per update.
The HTML targets QTextDocument's subset of HTML4/CSS: boxes are one-cell tables because Qt ignores
most CSS on ``pre`` and ``div``, and every style is inline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import _TokenType
from pygments.util import ClassNotFound

__all__ = [
    "COPY_CODE_SCHEME",
    "MONO_FONT_FAMILIES",
    "BlockSplitter",
    "RenderedBlock",
    "Theme",
    "TokenStyle",
    "code_label",
    "fence_language",
    "highlight_line",
    "render_block_html",
    "theme",
]

COPY_CODE_SCHEME = "copy-code"
"""URL scheme of the "Copy" links: ``copy-code:N`` copies code block N of the message."""

# Fence openers per CommonMark: up to 3 spaces, then 3+ backticks (info without backticks) or
# 3+ tildes. Indentation is captured because only an unindented fence starts a top-level block.
_FENCE_OPEN = re.compile(r"^( *)(`{3,}(?=[^`]*$)|~{3,})")
# An ATX heading at column 0 always starts a new top-level block (it ends any list or quote).
_ATX_HEADING = re.compile(r"^#{1,6}(?:[ \t]|$)")
# A list item or indented code may continue after blank lines with indented text.
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")


class BlockSplitter:
    """Split streamed Markdown into top-level blocks that will not change any more.

    A block closes at a blank line outside a fenced code block, and a fenced code block that
    starts a block closes as soon as its closing fence line ends; an ATX heading line is a block
    of its own, and an unindented fence starts a new block. After a list item or indented code a
    blank line closes the block only once the next non-blank line turns out not to be indented,
    since indented text continues the item. Blank separator lines belong to no block, and a block
    has no trailing newline. Each :meth:`feed` costs O(len(text)) plus the size of the blocks it
    closes.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # complete lines of the open block, with their "\n"
        self._blanks: list[str] = []  # blank lines seen after it, not yet known to close it
        self._partial: list[str] = []  # pieces of the line still being received
        self._fence: tuple[str, int, int] | None = None  # (char, length, indent) inside a fence
        self._fence_opened_block = False
        self._fence_info = ""
        self._continuable = False  # the open block has a list item or indented code

    @property
    def open_fence_info(self) -> str | None:
        """The info string of the fenced code block the open block is, while it is open.

        None when the open block is not a fence whose first line has ended (fences nested in a
        list item do not count). The code so far is then ``tail`` after its first line.
        """
        if self._fence is not None and self._fence_opened_block:
            return self._fence_info
        return None

    @property
    def tail(self) -> str:
        """The open block: complete lines plus the partial line (blank separators included)."""
        return "".join(self._lines) + "".join(self._blanks) + "".join(self._partial)

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the blocks it closed, oldest first."""
        closed: list[str] = []
        start = 0
        while (end := text.find("\n", start)) != -1:
            piece = text[start : end + 1]
            if self._partial:
                self._partial.append(piece)
                line = "".join(self._partial)
                self._partial.clear()
            else:
                line = piece
            self._take_line(line, closed)
            start = end + 1
        if start < len(text):
            self._partial.append(text[start:])
        return closed

    def flush(self) -> list[str]:
        """End of the stream: close the open block (an unclosed fence included)."""
        closed: list[str] = []
        if self._partial:
            line = "".join(self._partial)
            self._partial.clear()
            self._take_line(line, closed)
        self._close(closed)
        return closed

    def _take_line(self, line: str, closed: list[str]) -> None:
        if self._fence is not None:
            self._lines.append(line)
            if _is_closing_fence(line, *self._fence):
                self._fence = None
                if self._fence_opened_block:
                    self._close(closed)
            return
        if not line.strip():
            if self._continuable:
                self._blanks.append(line)
            else:
                self._close(closed)
            return
        if self._blanks:
            if self._continuable and line[0] in " \t":
                self._lines.extend(self._blanks)
                self._blanks.clear()
            else:
                self._close(closed)
        fence = _FENCE_OPEN.match(line)
        if (fence or _ATX_HEADING.match(line)) and line[0] not in " \t":
            self._close(closed)
        indented_code = not self._lines and line.startswith(("    ", "\t"))
        if indented_code or _LIST_ITEM.match(line):
            self._continuable = True
        self._lines.append(line)
        if fence:
            marker = fence.group(2)
            self._fence = (marker[0], len(marker), len(fence.group(1)))
            self._fence_opened_block = len(self._lines) == 1
            self._fence_info = line[fence.end() :].strip()
        elif _ATX_HEADING.match(line):
            self._close(closed)

    def _close(self, closed: list[str]) -> None:
        if self._lines:
            closed.append("".join(self._lines).rstrip("\r\n"))
        self._lines.clear()
        self._blanks.clear()
        self._fence = None
        self._fence_opened_block = False
        self._fence_info = ""
        self._continuable = False


def _is_closing_fence(line: str, char: str, length: int, indent: int) -> bool:
    stripped = line.strip()
    if len(stripped) < length or stripped != char * len(stripped):
        return False
    # Deeper indentation makes it code inside the fence (CommonMark allows 3 spaces).
    return len(line) - len(line.lstrip(" ")) <= indent + 3


@dataclass(frozen=True, slots=True)
class RenderedBlock:
    """HTML of one or more Markdown blocks, and the text of the code blocks in it, in order."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Theme:
    """The colours of one light or dark rendering ("#rrggbb" or CSS rgba())."""

    pygments_style: str
    code_bg: str
    code_header_bg: str
    border: str
    muted: str
    inline_code_bg: str  # translucent: it sits on whatever the message bubble's colour is
    table_header_bg: str
    link: str


_LIGHT = Theme(
    pygments_style="default",
    code_bg="#f6f8fa",
    code_header_bg="#eaeef2",
    border="#d0d7de",
    muted="#57606a",
    inline_code_bg="rgba(175, 184, 193, 0.3)",
    table_header_bg="#f2f4f6",
    link="#0969da",
)
_DARK = Theme(
    pygments_style="github-dark",
    code_bg="#161b22",
    code_header_bg="#21262d",
    border="#3d444d",
    muted="#9198a1",
    inline_code_bg="rgba(110, 118, 129, 0.4)",
    table_header_bg="#1f242b",
    link="#58a6ff",
)

# Qt resolves the first installed family; the generic name is the last resort.
MONO_FONT_FAMILIES = (
    "Cascadia Mono",
    "Consolas",
    "JetBrains Mono",
    "DejaVu Sans Mono",
    "Liberation Mono",
    "Menlo",
    "monospace",
)
MONO_FONTS = ", ".join(f"'{f}'" if " " in f else f for f in MONO_FONT_FAMILIES)


def theme(*, dark: bool) -> Theme:
    """The colours used for light or dark rendering."""
    return _DARK if dark else _LIGHT


_PARAGRAPH_MARGIN = 6  # px above and below; Qt's default of 12 is too airy for chat
_MAX_LANGUAGE_LABEL = 30


def render_block_html(block: str, *, dark: bool, code_index_start: int = 0) -> RenderedBlock:
    """Render Markdown to HTML for QTextDocument.

    Raw HTML from the model is shown as text, never interpreted. Fenced and indented code is
    highlighted with inline Pygments styles inside a box whose header has the language and a
    ``copy-code:N`` link, N counting from ``code_index_start``.
    """
    env: dict[str, Any] = {
        "theme": theme(dark=dark),
        "code_blocks": [],
        "code_index_start": code_index_start,
        "list_depth": 0,
    }
    # Whitespace after the last tag would become a trailing space in the last paragraph.
    out = _markdown().render(block, env).strip()
    return RenderedBlock(html=out, code_blocks=env["code_blocks"])


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    default_validate = md.validateLink

    def validate_link(url: str) -> bool:
        # A model must not forge the view's own copy action.
        if url.strip().lower().startswith(COPY_CODE_SCHEME + ":"):
            return False
        return bool(default_validate(url))

    md.validateLink = validate_link  # type: ignore[method-assign]
    rules = {
        "fence": _render_fence,
        "code_block": _render_code_block,
        "code_inline": _render_code_inline,
        "link_open": _render_link_open,
        "image": _render_image,
        "paragraph_open": _render_paragraph_open,
        "heading_open": _render_heading_open,
        "bullet_list_open": _render_list_open,
        "ordered_list_open": _render_list_open,
        "list_item_open": _render_list_item_open,
        "list_item_close": _render_list_item_close,
        "table_open": _render_table_open,
        "th_open": _render_cell_open,
        "td_open": _render_cell_open,
        "blockquote_open": _render_blockquote_open,
        "blockquote_close": _render_blockquote_close,
        "hr": _render_hr,
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    return md


_Rule = Any  # markdown-it passes the renderer as self; the rules below take it as `_r`


def code_label(language: str) -> str:
    """The name shown in a code box's header."""
    return language[:_MAX_LANGUAGE_LABEL] if language else "code"


def fence_language(info: str) -> str:
    """The language named by a fence's info string (its first word), or ""."""
    words = info.split(maxsplit=1)
    return words[0] if words else ""


@dataclass(frozen=True, slots=True)
class TokenStyle:
    """How to draw one highlighted token: a "#rrggbb" colour or None for the default."""

    color: str | None = None
    bold: bool = False
    italic: bool = False


def highlight_line(line: str, language: str, *, dark: bool) -> list[tuple[str, TokenStyle]]:
    """Highlight one line of code on its own, for code that is still streaming in.

    Without the lines before it, a line inside a multi-line string or comment can get the
    wrong colours; the complete block is highlighted again as a whole.
    """
    style = theme(dark=dark).pygments_style
    return [
        (value, _token_style(style, token_type))
        for token_type, value in _lexer(language.lower()).get_tokens(line)
        if value
    ]


@cache
def _token_style(style: str, token_type: _TokenType) -> TokenStyle:
    spec = get_style_by_name(style).style_for_token(token_type)
    color = spec.get("color")
    return TokenStyle(
        color=f"#{color}" if color else None,
        bold=bool(spec.get("bold")),
        italic=bool(spec.get("italic")),
    )


def _render_fence(
    _r: _Rule, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    return _code_box(token.content, fence_language(token.info), env)


def _render_code_block(
    _r: _Rule, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    return _code_box(tokens[idx].content, "", env)


def _code_box(code: str, language: str, env: EnvType) -> str:
    colors: Theme = env["theme"]
    blocks: list[str] = env["code_blocks"]
    index = env["code_index_start"] + len(blocks)
    text = code.removesuffix("\n")
    blocks.append(text)
    body = highlight(
        text.expandtabs(4), _lexer(language.lower()), _formatter(colors.pygments_style)
    )
    label = html.escape(code_label(language))
    small = f"font-size:small; color:{colors.muted};"
    # The header is a borderless table of its own: cells of the bordered box would get a
    # separator line between the label and the link.
    header = (
        '<table width="100%" cellspacing="0" cellpadding="0" border="0"><tr>'
        f'<td><span style="{small}">{label}</span></td>'
        f'<td align="right"><a href="{COPY_CODE_SCHEME}:{index}" '
        f'style="{small} text-decoration:none;">Copy</a></td>'
        "</tr></table>"
    )
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" bgcolor="{colors.code_bg}" '
        f'style="border:1px solid {colors.border}; border-collapse:collapse; '
        f'margin-top:{_PARAGRAPH_MARGIN}px; margin-bottom:{_PARAGRAPH_MARGIN}px;">'
        f'<tr><td bgcolor="{colors.code_header_bg}" style="padding:3px 10px;">{header}</td></tr>'
        '<tr><td style="padding:8px 10px;">'
        f'<pre style="font-family:{MONO_FONTS}; margin-top:0; margin-bottom:0;">'
        f"{body.removesuffix(chr(10))}</pre>"
        "</td></tr></table>\n"
    )


@lru_cache(maxsize=64)  # the language names come from the model
def _lexer(language: str) -> Lexer:
    if language:
        try:
            return get_lexer_by_name(language, stripnl=False, ensurenl=False)
        except ClassNotFound:
            pass
    return TextLexer(stripnl=False, ensurenl=False)


@cache
def _formatter(style: str) -> HtmlFormatter[str]:
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


def _render_code_inline(
    _r: _Rule, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    colors: Theme = env["theme"]
    return (
        f'<code style="font-family:{MONO_FONTS}; background-color:{colors.inline_code_bg};">'
        f"{html.escape(tokens[idx].content)}</code>"
    )


def _render_link_open(
    r: _Rule, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    colors: Theme = env["theme"]
    tokens[idx].attrSet("style", f"color:{colors.link};")
    return str(r.renderToken(tokens, idx, options, env))


def _render_image(
    r: _Rule, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # A link instead of the image: QTextBrowser would read local files named by the model.
    token = tokens[idx]
    colors: Theme = env["theme"]
    alt = r.renderInlineAsText(token.children or [], options, env) or "image"
    src = html.escape(str(token.attrGet("src") or ""), quote=True)
    return f'<a href="{src}" style="color:{colors.link};">[{html.escape(alt)}]</a>'


def _render_paragraph_open(
    r: _Rule, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    if tokens[idx].hidden:
        return ""
    margin = 2 if env["list_depth"] else _PARAGRAPH_MARGIN
    return f'<p style="margin-top:{margin}px; margin-bottom:{margin}px;">'


# Qt's defaults (h1 twice the body size, 12-18 px margins) are made for documents, not chat.
_HEADING_STYLES = {
    "h1": "font-size:x-large; margin-top:14px; margin-bottom:6px;",
    "h2": "font-size:large; margin-top:12px; margin-bottom:6px;",
    "h3": "font-size:medium; margin-top:10px; margin-bottom:4px;",
}
_MINOR_HEADING_STYLE = "margin-top:8px; margin-bottom:4px;"


def _render_heading_open(
    _r: _Rule, tokens: Sequence[Token], idx: int, _options: OptionsDict, _env: EnvType
) -> str:
    tag = tokens[idx].tag
    return f'<{tag} style="{_HEADING_STYLES.get(tag, _MINOR_HEADING_STYLE)}">'


def _render_list_open(
    r: _Rule, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # No bottom margin: Qt puts it on the list's last item, which in a nested list is the item
    # above the sublist. Qt collapses adjacent margins, so the next block's top margin suffices.
    margin = 0 if env["list_depth"] else _PARAGRAPH_MARGIN
    tokens[idx].attrSet("style", f"margin-top:{margin}px; margin-bottom:0px;")
    return str(r.renderToken(tokens, idx, options, env))


def _render_list_item_open(
    r: _Rule, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    env["list_depth"] += 1
    return str(r.renderToken(tokens, idx, options, env))


def _render_list_item_close(
    r: _Rule, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    env["list_depth"] -= 1
    return str(r.renderToken(tokens, idx, options, env))


def _render_table_open(
    _r: _Rule, _tokens: Sequence[Token], _idx: int, _options: OptionsDict, env: EnvType
) -> str:
    colors: Theme = env["theme"]
    return (
        f'<table border="1" cellspacing="0" cellpadding="5" '
        f'style="border-color:{colors.border}; border-style:solid; border-collapse:collapse; '
        f'margin-top:{_PARAGRAPH_MARGIN}px; margin-bottom:{_PARAGRAPH_MARGIN}px;">\n'
    )


def _render_cell_open(
    _r: _Rule, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    colors: Theme = env["theme"]
    style = str(token.attrGet("style") or "")
    align = style.removeprefix("text-align:") if style.startswith("text-align:") else ""
    attrs = f' align="{align}"' if align in {"left", "center", "right"} else ""
    if token.tag == "th":
        attrs += f' bgcolor="{colors.table_header_bg}"'
    return f"<{token.tag}{attrs}>"


def _render_blockquote_open(
    _r: _Rule, _tokens: Sequence[Token], _idx: int, _options: OptionsDict, env: EnvType
) -> str:
    # Qt has no border-left on blocks: a table cell with only a left border draws the bar.
    colors: Theme = env["theme"]
    return (
        '<table cellspacing="0" cellpadding="0" '
        f'style="margin-top:{_PARAGRAPH_MARGIN}px; margin-bottom:{_PARAGRAPH_MARGIN}px;">'
        f'<tr><td style="border-left:3px solid {colors.border}; padding:2px 0px 2px 10px; '
        f'color:{colors.muted};">\n'
    )


def _render_blockquote_close(
    _r: _Rule, _tokens: Sequence[Token], _idx: int, _options: OptionsDict, _env: EnvType
) -> str:
    return "</td></tr></table>\n"


def _render_hr(
    _r: _Rule, _tokens: Sequence[Token], _idx: int, _options: OptionsDict, _env: EnvType
) -> str:
    return "<hr />\n"
