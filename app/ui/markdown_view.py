"""A chat message's Markdown, rendered while it streams in, at a flat cost per update."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from app.ui.markdown_render import (
    COPY_CODE_SCHEME,
    MONO_FONT_FAMILIES,
    BlockSplitter,
    TokenStyle,
    code_label,
    fence_language,
    highlight_line,
    render_block_html,
    theme,
)

__all__ = ["StreamingMarkdownView"]

_DOCUMENT_MARGIN = 2.0  # px; the message bubble provides the padding
_WIDTH_HINT = 480
_INDENT_WIDTH = 22  # px per list level; Qt's 40 pushes nested lists far right
# A space before each line pads the streaming code box: Qt paints a block's background from
# where its text starts, so a margin or an indent would move the background along.
_CODE_PADDING = " "
_CODE_MARGIN = 6.0
_SAME_WIDTH_PX = 4
_RULER = QTextFormat.Property.BlockTrailingHorizontalRulerWidth  # an <hr> is an empty paragraph


class _AutoHeightBrowser(QTextBrowser):
    """A read-only QTextBrowser without scroll bars that is exactly as tall as its document."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.document().setUndoRedoEnabled(False)
        self.document().setDocumentMargin(_DOCUMENT_MARGIN)
        self.document().setIndentWidth(_INDENT_WIDTH)
        # Transparent, so the message bubble behind shows through.
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._last_height = -1
        self._probed_heights: dict[int, int] = {}  # text width -> height, for this content
        # Owned by the widget, so a pending restore dies with it.
        self._restore_timer = QTimer(self)
        self._restore_timer.setSingleShot(True)
        self._restore_timer.setInterval(0)
        self._restore_timer.timeout.connect(self._restore_text_width)
        self.document().documentLayout().documentSizeChanged.connect(self._on_size_changed)
        self.document().contentsChanged.connect(self._probed_heights.clear)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        doc = self.document()
        margins = self.contentsMargins()
        text_width = max(1, width - margins.left() - margins.right())
        extra = margins.top() + margins.bottom()
        shown = self.viewport().width()
        if not self.isVisible() or abs(text_width - shown) <= _SAME_WIDTH_PX:
            # Frames and scroll-bar probes ask for a pixel or two more or less than the width
            # shown; re-laying the document out for those costs O(document) per update, and the
            # answer differs by at most a wrapped word that the next real resize corrects.
            text_width = shown if self.isVisible() else text_width
            # Laying out for the width shown is never wasted: QTextEdit sets it on resize.
            if doc.textWidth() != text_width:
                doc.setTextWidth(text_width)
            return math.ceil(doc.size().height()) + extra
        # Layouts also probe other widths (sizeHint, minimum sizes). A relayout is O(document),
        # so answer each width once per content change, and put the shown width back later.
        if (cached := self._probed_heights.get(text_width)) is None:
            doc.setTextWidth(text_width)
            cached = math.ceil(doc.size().height())
            self._probed_heights[text_width] = cached
            self._restore_timer.start()
        return cached + extra

    def sizeHint(self) -> QSize:
        # The width shown, once there is one: QLayout asks for heightForWidth(sizeHint width).
        width = self.width() if self.isVisible() else _WIDTH_HINT
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(50, 0)

    def wheelEvent(self, event: QWheelEvent) -> None:
        # Nothing to scroll in here: let the conversation's scroll area have the wheel.
        event.ignore()

    def _restore_text_width(self) -> None:
        width = self.viewport().width()
        if self.isVisible() and self.document().textWidth() != width:
            self.document().setTextWidth(width)

    def _on_size_changed(self) -> None:
        height = math.ceil(self.document().size().height())
        if height != self._last_height:
            self._last_height = height
            self.updateGeometry()
        # Content above the viewport can be left scrolled off while the widget catches up.
        self.verticalScrollBar().setValue(0)


class StreamingMarkdownView(QWidget):
    """One message's Markdown, shown while it streams in.

    Closed blocks (see :class:`BlockSplitter`) are rendered once and appended to one read-only
    document; the open tail is re-rendered per update in a small second browser under it, so an
    update costs the same at the end of a long reply as at the start. The widget is as tall as
    its content for the width it gets (height-for-width), for stacking in a scrolled QVBoxLayout.

    Signals:
        link_activated(str): the user clicked an ordinary link (not yet opened).
        code_copied(int): a "Copy" link put that code block's text on the clipboard.
    """

    link_activated = Signal(str)
    code_copied = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, dark: bool = False) -> None:
        super().__init__(parent)
        self._dark = dark
        self._source: list[str] = []
        self._splitter = BlockSplitter()
        self._closed_blocks: list[str] = []
        self._closed_code: list[str] = []
        self._tail_code: list[str] = []
        self._streaming_code: _StreamingCode | None = None
        self._tail_shown = ""  # the tail text last rendered
        self._closed = _AutoHeightBrowser(self)
        self._tail = _AutoHeightBrowser(self)
        self._closed.setObjectName("closedBlocks")
        self._tail.setObjectName("openTail")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._closed)
        layout.addWidget(self._tail)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        for browser in (self._closed, self._tail):
            browser.anchorClicked.connect(self._on_browser_anchor_clicked)
            browser.hide()

    def append(self, text: str) -> None:
        """Add a streamed delta of the message's Markdown."""
        if not text:
            return
        self._source.append(text)
        closed = self._splitter.feed(text)
        if closed:
            self._streaming_code = None  # the open block is a new one
        self._add_closed(closed)
        self._render_tail()

    def finish(self) -> None:
        """The stream ended: the open tail joins the closed document."""
        self._streaming_code = None
        self._add_closed(self._splitter.flush())
        self._render_tail()

    def set_markdown(self, text: str) -> None:
        """Show a complete message (from history), replacing everything."""
        self._source = [text] if text else []
        self._splitter = BlockSplitter()
        self._rerender([*self._splitter.feed(text), *self._splitter.flush()])

    def markdown(self) -> str:
        """The message's Markdown source exactly as received so far."""
        if len(self._source) > 1:
            self._source = ["".join(self._source)]
        return self._source[0] if self._source else ""

    def code_blocks(self) -> list[str]:
        """The text of each code block so far, in order (the index of the ``Copy`` links)."""
        if self._streaming_code is not None:
            return [*self._closed_code, self._streaming_code.code()]
        return [*self._closed_code, *self._tail_code]

    def is_dark(self) -> bool:
        return self._dark

    def set_dark(self, dark: bool) -> None:
        """Switch the code and table colours; re-renders the message once."""
        if dark == self._dark:
            return
        self._dark = dark
        self._rerender(self._closed_blocks)

    def _rerender(self, blocks: list[str]) -> None:
        """Render `blocks` afresh as the closed part, then the tail."""
        self._streaming_code = None
        self._tail_shown = ""
        self._closed_blocks = []
        self._closed_code = []
        self._closed.document().clear()
        self._closed.hide()
        self._add_closed(blocks)
        self._render_tail()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        # An empty browser is hidden (a layout skips it), and an empty document is a line tall.
        return sum(
            browser.heightForWidth(width)
            for browser in (self._closed, self._tail)
            if not browser.isHidden()
        )

    def sizeHint(self) -> QSize:
        width = self.width() if self.isVisible() else _WIDTH_HINT
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(50, 0)

    def _add_closed(self, blocks: list[str]) -> None:
        if not blocks:
            return
        doc = self._closed.document()
        if doc.isEmpty() and len(blocks) > 1:
            # A whole message (history, theme switch): one parse is about twice as fast.
            _set_html(doc, "".join(self._render_closed(block) for block in blocks))
        else:
            for block in blocks:
                _append_html(doc, self._render_closed(block))
        self._closed.show()

    def _render_closed(self, block: str) -> str:
        rendered = render_block_html(
            block, dark=self._dark, code_index_start=len(self._closed_code)
        )
        self._closed_blocks.append(block)
        self._closed_code.extend(rendered.code_blocks)
        return rendered.html

    def _render_tail(self) -> None:
        tail = self._splitter.tail
        doc = self._tail.document()
        info = self._splitter.open_fence_info
        if info is not None:
            # A long code block would cost O(block) per update to re-render: append lines.
            if self._streaming_code is None:
                self._tail_code = []
                self._streaming_code = _StreamingCode(doc, fence_language(info), dark=self._dark)
                self._tail.show()
            self._streaming_code.update(tail)
            self._tail_shown = ""
            return
        self._streaming_code = None
        if not tail.strip():
            self._tail_code = []
            self._tail_shown = ""
            if not self._tail.isHidden():
                self._tail.hide()
                doc.clear()
            return
        if tail.lstrip(" ").startswith("|") and (end := tail.rfind("\n")) != -1:
            # A table is re-rendered whole: per update that would grow with the table, so its
            # rows appear as they complete.
            tail = tail[: end + 1]
            if tail == self._tail_shown:
                return
        self._tail_shown = tail
        rendered = render_block_html(tail, dark=self._dark, code_index_start=len(self._closed_code))
        self._tail_code = rendered.code_blocks
        doc.setHtml(rendered.html)
        if self._tail.isHidden():
            self._tail.show()

    def _on_browser_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == COPY_CODE_SCHEME:
            try:
                index = int(url.path())
            except ValueError:
                return
            code = self.code_blocks()
            if 0 <= index < len(code):
                QGuiApplication.clipboard().setText(code[index])
                self.code_copied.emit(index)
            return
        self.link_activated.emit(url.toString())


class _StreamingCode:
    """The open tail while it is a fenced code block: new lines are appended, not re-rendered.

    Each line is highlighted on its own when it ends; the line still arriving is plain. A
    partial line of only fence characters is held back, as it may be the closing fence. When
    the block closes it is rendered as a whole (box, Copy link, highlighting with context) into
    the closed document.
    """

    def __init__(self, doc: QTextDocument, language: str, *, dark: bool) -> None:
        self._language = language
        self._dark = dark
        colors = theme(dark=dark)
        # Paragraphs with a background, not the closed box's table: Qt lays a table cell out
        # again as a whole on every change, which would make each update O(block) again.
        doc.clear()
        cursor = QTextCursor(doc)
        header = QTextBlockFormat()
        header.setBackground(QColor(colors.code_header_bg))
        header.setTopMargin(_CODE_MARGIN)
        label = QTextCharFormat()
        label.setForeground(QColor(colors.muted))
        label.setFontPointSize(max(1.0, doc.defaultFont().pointSizeF() * 0.85))
        cursor.setBlockFormat(header)
        cursor.insertText(2 * _CODE_PADDING + code_label(language), label)
        code = QTextBlockFormat()
        code.setBackground(QColor(colors.code_bg))
        code.setNonBreakableLines(True)
        self._plain = QTextCharFormat()
        self._plain.setFontFamilies(list(MONO_FONT_FAMILIES))
        self._plain.setFontFixedPitch(True)
        cursor.insertBlock(code, self._plain)
        cursor.insertText(_CODE_PADDING, self._plain)
        self._cursor = cursor
        self._formats: dict[TokenStyle, QTextCharFormat] = {}
        self._source = ""
        self._code_start = -1  # index in the source after the fence line
        self._done = 0  # source index up to which whole lines are shown
        self._line_start = cursor.position()
        self._partial = ""  # the shown part of the line still arriving

    def code(self) -> str:
        """The code received so far."""
        if self._code_start < 0:
            return ""
        return self._source[self._code_start :].removesuffix("\n")

    def update(self, source: str) -> None:
        """Show ``source``, the open block so far (it only ever grows)."""
        self._source = source
        if self._code_start < 0:
            self._code_start = self._done = source.index("\n") + 1
        pending = source[self._done :]
        *lines, partial = pending.split("\n")
        cursor = self._cursor
        if lines:
            self._drop_partial()
            for line in lines:
                self._insert_line(line.removesuffix("\r"))
                cursor.insertBlock()
                cursor.insertText(_CODE_PADDING, self._plain)
            self._done += sum(len(line) + 1 for line in lines)
            self._line_start = cursor.position()
        partial = partial.removesuffix("\r")
        shown = "" if _may_be_fence(partial) else partial.replace("\t", "    ")
        if shown.startswith(self._partial):
            cursor.insertText(shown[len(self._partial) :], self._plain)
        else:
            self._drop_partial()
            cursor.insertText(shown, self._plain)
        self._partial = shown

    def _drop_partial(self) -> None:
        if self._partial:
            self._cursor.setPosition(self._line_start, QTextCursor.MoveMode.KeepAnchor)
            self._cursor.removeSelectedText()
            self._partial = ""

    def _insert_line(self, line: str) -> None:
        for text, style in highlight_line(line.expandtabs(4), self._language, dark=self._dark):
            self._cursor.insertText(text, self._format(style))

    def _format(self, style: TokenStyle) -> QTextCharFormat:
        if (fmt := self._formats.get(style)) is None:
            fmt = QTextCharFormat(self._plain)
            if style.color:
                fmt.setForeground(QColor(style.color))
            if style.bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            if style.italic:
                fmt.setFontItalic(True)
            self._formats[style] = fmt
        return fmt


def _may_be_fence(partial_line: str) -> bool:
    stripped = partial_line.strip()
    return bool(stripped) and not stripped.strip("`~")


def _append_html(doc: QTextDocument, html: str) -> None:
    """Append rendered blocks as new paragraphs at the end of ``doc``, keeping their formats.

    ``insertFragment`` merges the fragment's first block into the block at the cursor and drops
    its block format (a heading loses its level, a paragraph its margins), and a fragment that
    starts with a list or table can leave an empty paragraph before it. Both are repaired here.
    """
    fragment_doc = QTextDocument()
    fragment_doc.setUndoRedoEnabled(False)
    fragment_doc.setHtml(html)
    first = fragment_doc.firstBlock()
    # A document that starts with a table starts with an empty paragraph before it.
    starts_with_table = _in_table(first) or (first.length() == 1 and _in_table(first.next()))
    first_is_plain = first.textList() is None and not starts_with_table

    cursor = QTextCursor(doc)
    cursor.movePosition(QTextCursor.MoveOperation.End)
    last = cursor.block()
    # Write into the empty paragraph of an empty document, or the one Qt always keeps after a
    # table, rather than leave a blank line (a horizontal rule is an empty paragraph too).
    reuse = (
        last.length() == 1
        and last.textList() is None
        and not last.blockFormat().hasProperty(_RULER)
        and (not last.previous().isValid() or _in_table(last.previous()))
    )
    last_format = last.blockFormat()
    last_char_format = last.charFormat()
    if not reuse:
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    start = cursor.position()
    cursor.insertFragment(QTextDocumentFragment(fragment_doc))

    block = doc.findBlock(start)
    fix = QTextCursor(doc)
    fix.setPosition(start)
    if first_is_plain:
        fix.setBlockFormat(first.blockFormat())
        fix.setBlockCharFormat(first.charFormat())
    elif (
        not reuse
        and block.length() == 1
        and block.textList() is None
        and not _in_table(block)
        and block.next().isValid()
    ):
        # The list or table went after our fresh paragraph: drop it again. Joining it to the
        # previous block can leave that block with the fresh one's format (a rule disappears).
        fix.deletePreviousChar()
        fix.setBlockFormat(last_format)
        fix.setBlockCharFormat(last_char_format)
        # Qt leaves the joined paragraph before a table un-laid-out (zero height: the text
        # vanished on screen); mark it dirty so the layout runs for it again.
        joined = fix.block()
        doc.markContentsDirty(joined.position(), joined.length())


def _set_html(doc: QTextDocument, html: str) -> None:
    """Replace the content of ``doc`` with ``html``, laid out as :func:`_append_html` would.

    Qt's HTML import adds an empty paragraph after a table that is followed by anything but a
    list or a table; appending writes into that paragraph instead, so drop it here.
    """
    doc.setHtml(html)
    blanks = []
    block = doc.begin()
    while block.isValid():
        after = block.next()
        if (
            block.length() == 1
            and block.textList() is None
            and not block.blockFormat().hasProperty(_RULER)
            and not _in_table(block)
            and _in_table(block.previous())
            and after.isValid()
            and after.textList() is None
            and not _in_table(after)
        ):
            blanks.append(block.position())
        block = after
    cursor = QTextCursor(doc)
    for position in reversed(blanks):
        after = doc.findBlock(position).next()
        block_format, char_format = after.blockFormat(), after.charFormat()
        cursor.setPosition(position)
        cursor.deleteChar()  # joins the next block into the blank one, which keeps its format
        cursor.setBlockFormat(block_format)
        cursor.setBlockCharFormat(char_format)


def _in_table(block: QTextBlock) -> bool:
    return block.isValid() and QTextCursor(block).currentTable() is not None
