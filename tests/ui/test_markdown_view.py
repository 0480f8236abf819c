"""Tests for StreamingMarkdownView: streaming, headings, copy links, sizing."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import random

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QTextBlock, QTextCursor, QTextDocument, QTextFormat
from PySide6.QtWidgets import QScrollArea, QTextBrowser, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.ui.markdown_render import BlockSplitter, render_block_html
from app.ui.markdown_view import StreamingMarkdownView

SOURCE = """\
# Release notes

Intro paragraph with **bold**, `inline_code` and a [link](https://example.com/docs).

## Installation steps

1. Download the installer
2. Run it:
   - choose a folder
   - wait

| Option | Default |
|--------|--------:|
| threads | 4 |
| memory | 2048 |

```python
def main() -> None:

    print("hello")
```

~~~
plain tilde fence

with a blank line
~~~

> A quoted remark.

Raw <script>alert(1)</script> stays text. 日本語のテキスト。
"""

WORDS = [
    "Release",
    "Intro",
    "bold",
    "inline_code",
    "link",
    "Installation",
    "Download",
    "folder",
    "threads",
    "2048",
    "main",
    'print("hello")',
    "tilde",
    "quoted",
    "<script>alert(1)</script>",
    "日本語のテキスト",
]


@pytest.fixture
def view(qtbot: QtBot) -> StreamingMarkdownView:
    widget = StreamingMarkdownView()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def browsers(view: StreamingMarkdownView) -> tuple[QTextBrowser, QTextBrowser]:
    closed = view.findChild(QTextBrowser, "closedBlocks")
    tail = view.findChild(QTextBrowser, "openTail")
    assert closed is not None
    assert tail is not None
    return closed, tail


def shown_text(view: StreamingMarkdownView) -> str:
    return "\n".join(b.toPlainText() for b in browsers(view) if not b.isHidden())


def stream(view: StreamingMarkdownView, text: str, seed: int, max_chunk: int = 12) -> None:
    rng = random.Random(seed)
    pos = 0
    while pos < len(text):
        size = rng.randint(1, max_chunk)
        view.append(text[pos : pos + size])
        pos += size


def find_block(doc: QTextDocument, text: str) -> QTextBlock:
    block = doc.begin()
    while block.isValid():
        if block.text().strip() == text:
            return block
        block = block.next()
    raise AssertionError(f"no block {text!r}")


@pytest.mark.parametrize("seed", range(5))
def test_streamed_in_random_chunks_shows_every_word(view: StreamingMarkdownView, seed: int) -> None:
    stream(view, SOURCE, seed)
    assert view.markdown() == SOURCE
    text = shown_text(view)
    for word in WORDS:
        assert word in text
    view.finish()
    closed, tail = browsers(view)
    assert tail.isHidden()
    for word in WORDS:
        assert word in closed.toPlainText()
    assert view.markdown() == SOURCE


def test_streaming_matches_a_complete_message(qtbot: QtBot, view: StreamingMarkdownView) -> None:
    stream(view, SOURCE, seed=7)
    view.finish()
    whole = StreamingMarkdownView()
    qtbot.addWidget(whole)
    whole.set_markdown(SOURCE)
    assert whole.markdown() == SOURCE
    assert browsers(whole)[0].toPlainText() == browsers(view)[0].toPlainText()
    assert whole.code_blocks() == view.code_blocks()


def test_open_tail_is_shown_before_its_block_closes(view: StreamingMarkdownView) -> None:
    view.append("First paragraph.\n\nSecond *part")
    closed, tail = browsers(view)
    assert closed.toPlainText() == "First paragraph."
    assert not tail.isHidden()
    assert "Second" in tail.toPlainText()
    view.append("ial*\n\n")
    assert "Second partial" in closed.toPlainText()
    assert tail.isHidden()


def test_streamed_heading_keeps_its_level(view: StreamingMarkdownView) -> None:
    stream(view, "## First\nText under it.\n\n### Deeper\n\nMore text.\n", seed=1, max_chunk=3)
    view.finish()
    doc = browsers(view)[0].document()
    first = find_block(doc, "First")
    deeper = find_block(doc, "Deeper")
    body = find_block(doc, "More text.")
    assert first.blockFormat().headingLevel() == 2
    assert deeper.blockFormat().headingLevel() == 3
    assert body.blockFormat().headingLevel() == 0
    # The heading's characters are larger than the body's.
    assert first.begin().fragment().charFormat().font().pointSizeF() > (
        body.begin().fragment().charFormat().font().pointSizeF()
    )


def test_heading_after_a_list_keeps_its_level(view: StreamingMarkdownView) -> None:
    stream(view, "- a\n- b\n\n# Title\n", seed=2, max_chunk=2)
    doc = browsers(view)[0].document()
    assert find_block(doc, "Title").blockFormat().headingLevel() == 1
    assert find_block(doc, "b").textList() is not None
    assert find_block(doc, "Title").textList() is None


def test_documents_have_no_undo_history(view: StreamingMarkdownView) -> None:
    stream(view, SOURCE, seed=3)
    for browser in browsers(view):
        assert not browser.document().isUndoRedoEnabled()
        assert browser.isReadOnly()


def test_code_blocks_are_listed_in_order(view: StreamingMarkdownView) -> None:
    stream(view, SOURCE, seed=4)
    # The open tail's code counts too, so its Copy link works while streaming.
    view.append("\n```sh\necho partial")
    assert view.code_blocks() == [
        'def main() -> None:\n\n    print("hello")',
        "plain tilde fence\n\nwith a blank line",
        "echo partial",
    ]


def copy_link_position(browser: QTextBrowser, href: str) -> QPoint:
    doc = browser.document()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(doc)
                cursor.setPosition(fragment.position() + 1)
                return browser.cursorRect(cursor).center()
            it += 1
        block = block.next()
    raise AssertionError(f"no link {href}")


def test_copy_link_puts_the_code_on_the_clipboard(
    qtbot: QtBot, view: StreamingMarkdownView
) -> None:
    stream(view, SOURCE, seed=5)
    view.finish()
    closed = browsers(view)[0]
    QGuiApplication.clipboard().clear()
    pos = copy_link_position(closed, "copy-code:1")
    with qtbot.waitSignal(view.code_copied) as blocker:
        qtbot.mouseClick(closed.viewport(), Qt.MouseButton.LeftButton, pos=pos)  # type: ignore[no-untyped-call]
    assert blocker.args == [1]
    assert QGuiApplication.clipboard().text() == "plain tilde fence\n\nwith a blank line"


def test_ordinary_link_is_reported_not_opened(qtbot: QtBot, view: StreamingMarkdownView) -> None:
    view.set_markdown("See [the docs](https://example.com/docs) now.")
    closed = browsers(view)[0]
    with qtbot.waitSignal(view.link_activated) as blocker:
        closed.anchorClicked.emit(QUrl("https://example.com/docs"))
    assert blocker.args == ["https://example.com/docs"]
    assert closed.source().isEmpty()


def test_copy_link_out_of_range_does_nothing(qtbot: QtBot, view: StreamingMarkdownView) -> None:
    view.set_markdown("```\nx\n```")
    closed = browsers(view)[0]
    with qtbot.assertNotEmitted(view.code_copied), qtbot.assertNotEmitted(view.link_activated):
        closed.anchorClicked.emit(QUrl("copy-code:9"))


def test_model_html_is_shown_as_text(view: StreamingMarkdownView) -> None:
    view.set_markdown('<b>not bold</b> <a href="https://evil.example">x</a>')
    closed = browsers(view)[0]
    assert closed.toPlainText() == '<b>not bold</b> <a href="https://evil.example">x</a>'
    assert 'href="https://evil.example"' not in closed.toHtml()


def test_set_dark_rerenders_and_keeps_the_text(view: StreamingMarkdownView) -> None:
    stream(view, SOURCE, seed=6)
    before = shown_text(view)
    html_before = browsers(view)[0].toHtml()
    view.set_dark(True)
    assert view.is_dark()
    assert shown_text(view) == before
    assert browsers(view)[0].toHtml() != html_before
    assert view.markdown() == SOURCE


def test_set_markdown_replaces_the_message(view: StreamingMarkdownView) -> None:
    stream(view, "Old text\n\n```\nold code\n", seed=8)
    view.set_markdown("New text")
    assert view.markdown() == "New text"
    assert view.code_blocks() == []
    assert shown_text(view) == "New text"
    view.set_markdown("")
    assert view.markdown() == ""
    assert view.heightForWidth(500) == 0


def test_text_is_selectable(view: StreamingMarkdownView) -> None:
    view.set_markdown("Select me")
    closed = browsers(view)[0]
    assert closed.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    closed.selectAll()
    assert closed.textCursor().selectedText() == "Select me"


def test_height_follows_content_and_width_in_a_scroll_area(qtbot: QtBot) -> None:
    scroll = QScrollArea()
    qtbot.addWidget(scroll)
    scroll.setWidgetResizable(True)
    column = QWidget()
    layout = QVBoxLayout(column)
    short = StreamingMarkdownView()
    long = StreamingMarkdownView()
    layout.addWidget(short)
    layout.addWidget(long)
    layout.addStretch(1)
    scroll.setWidget(column)
    short.set_markdown("One line.")
    scroll.resize(700, 500)
    scroll.show()
    qtbot.waitExposed(scroll)
    stream(long, SOURCE * 2, seed=9)

    def fits() -> None:
        for widget in (short, long):
            assert widget.height() == widget.heightForWidth(widget.width())

    qtbot.waitUntil(fits)
    assert short.height() < 60
    assert long.height() > 500  # taller than the viewport: the scroll area scrolls
    assert long.y() >= short.geometry().bottom()
    wide_height = long.height()

    scroll.resize(400, 500)
    qtbot.waitUntil(fits)
    assert long.height() > wide_height
    closed = browsers(long)[0]
    assert closed.document().textWidth() == closed.viewport().width()


def test_rule_then_heading_keeps_both(view: StreamingMarkdownView) -> None:
    stream(view, "---\n\n# Title\n\nText\n", seed=10, max_chunk=2)
    doc = browsers(view)[0].document()
    first = doc.begin()
    assert first.blockFormat().hasProperty(QTextFormat.Property.BlockTrailingHorizontalRulerWidth)
    assert find_block(doc, "Title").blockFormat().headingLevel() == 1


BLOCKS = [
    "# Head",
    "## Sub *it*",
    "Para **b** text",
    "- a\n- b",
    "1. x\n2. y",
    "3. z",
    "| a | b |\n|--|--|\n| 1 | 2 |",
    "```py\nx=1\n```",
    "> quote",
    "---",
    "    code",
    "- a\n\n  cont",
]


Row = tuple[str, int, bool, bool, float, float, bool]


def block_structure(doc: QTextDocument) -> list[Row]:
    rows: list[Row] = []
    block = doc.begin()
    while block.isValid():
        fmt = block.blockFormat()
        rows.append(
            (
                block.text(),
                fmt.headingLevel(),
                block.textList() is not None,
                QTextCursor(block).currentTable() is not None,
                fmt.topMargin(),
                fmt.bottomMargin(),
                fmt.hasProperty(QTextFormat.Property.BlockTrailingHorizontalRulerWidth),
            )
        )
        block = block.next()
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_appended_blocks_keep_the_structure_of_one_html_document(
    view: StreamingMarkdownView, seed: int
) -> None:
    rng = random.Random(seed)
    blocks = [rng.choice(BLOCKS) for _ in range(rng.randint(2, 7))]
    text = "\n\n".join(blocks)
    stream(view, text, seed=seed)
    view.finish()

    splitter = BlockSplitter()
    html = []
    code_index = 0
    for block in [*splitter.feed(text), *splitter.flush()]:
        rendered = render_block_html(block, dark=False, code_index_start=code_index)
        code_index += len(rendered.code_blocks)
        html.append(rendered.html)
    expected = QTextDocument()
    expected.setHtml("".join(html))
    want = block_structure(expected)
    # Qt's HTML import puts an empty paragraph after a table before anything but a list or a
    # table; appending writes into the paragraph Qt keeps after the table instead.
    want = [
        row
        for i, row in enumerate(want)
        if not (
            0 < i < len(want) - 1
            and row[0] == ""
            and not row[3]
            and not row[6]
            and want[i - 1][3]
            and not want[i + 1][3]
            and not want[i + 1][2]
        )
    ]
    assert block_structure(browsers(view)[0].document()) == want
    # A complete message (history) is built in one go, and must look the same.
    view.set_markdown(text)
    assert block_structure(browsers(view)[0].document()) == want


def test_code_streams_into_the_tail_line_by_line(view: StreamingMarkdownView) -> None:
    closed, tail = browsers(view)
    view.append("Intro\n\n```python\ndef f():\n\treturn 1")
    assert view.code_blocks() == ["def f():\n\treturn 1"]
    assert "def f():" in tail.toPlainText()
    assert "    return 1" in tail.toPlainText()  # tabs shown as spaces
    # A complete line is highlighted: some of its characters have a colour of their own.
    line = find_block(tail.document(), "def f():")
    colours = set()
    it = line.begin()
    while not it.atEnd():
        fmt = it.fragment().charFormat()
        if fmt.hasProperty(QTextFormat.Property.ForegroundBrush):
            colours.add(fmt.foreground().color().name())
        it += 1
    assert colours

    view.append("\n``")  # may become the closing fence: not shown yet
    assert "``" not in tail.toPlainText()
    assert closed.toPlainText() == "Intro"
    view.append("`\nAfter")
    assert "def f():" in closed.toPlainText()
    assert "After" in tail.toPlainText()
    assert "def f():" not in tail.toPlainText()
    assert view.code_blocks() == ["def f():\n\treturn 1"]


def test_backticks_inside_streaming_code_are_shown_once_the_line_goes_on(
    view: StreamingMarkdownView,
) -> None:
    tail = browsers(view)[1]
    view.append("```md\n``")
    assert "``" not in tail.toPlainText()
    view.append("` not a fence\n")
    assert "``` not a fence" in tail.toPlainText()
    assert view.code_blocks() == ["``` not a fence"]


def test_second_code_block_streams_into_a_fresh_box(view: StreamingMarkdownView) -> None:
    tail = browsers(view)[1]
    stream(view, "```\nfirst\n```\n```js\nsecond()\n", seed=11, max_chunk=3)
    assert "first" not in tail.toPlainText()
    assert "second()" in tail.toPlainText()
    assert "js" in tail.toPlainText()
    assert view.code_blocks() == ["first", "second()"]
    view.finish()
    assert view.code_blocks() == ["first", "second()"]
    assert tail.isHidden()


def test_code_block_closing_and_opening_in_one_delta(view: StreamingMarkdownView) -> None:
    tail = browsers(view)[1]
    view.append("```\nfirst\n")
    view.append("```\n```js\nsecond()\n")
    assert "first" not in tail.toPlainText()
    assert "second()" in tail.toPlainText()
    assert view.code_blocks() == ["first", "second()"]


def test_open_table_shows_complete_rows(view: StreamingMarkdownView) -> None:
    tail = browsers(view)[1]
    view.append("| Name | Size |\n|---|---|\n| alpha | 1 |\n| bet")
    assert "alpha" in tail.toPlainText()
    assert "bet" not in tail.toPlainText()
    view.append("a | 2 |\n")
    assert "beta" in tail.toPlainText()
    view.set_dark(True)
    assert "beta" in tail.toPlainText()
    view.finish()
    assert "beta" in browsers(view)[0].toPlainText()


@pytest.mark.parametrize("block", ["```python\nx = 1\n```\n", "| a | b |\n|---|---|\n| 1 | 2 |\n"])
def test_paragraph_before_a_streamed_table_stays_visible(
    view: StreamingMarkdownView, block: str
) -> None:
    # Regression: joining the paragraph before an appended table left it laid out with zero
    # height, so the first line of an answer vanished from the screen.
    for piece in ("Here is a ", "paragraph:\n\n", *block):
        view.append(piece)
    view.finish()
    doc = view._closed.document()
    first = doc.firstBlock()
    assert first.text() == "Here is a paragraph:"
    assert doc.documentLayout().blockBoundingRect(first).height() > 0
