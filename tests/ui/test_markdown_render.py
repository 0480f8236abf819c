"""Tests for the Qt-free Markdown block splitter and block renderer."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ui.markdown_render import BlockSplitter, RenderedBlock, render_block_html


def split_whole(text: str) -> list[str]:
    splitter = BlockSplitter()
    return [*splitter.feed(text), *splitter.flush()]


def split_in_pieces(pieces: list[str]) -> list[str]:
    splitter = BlockSplitter()
    blocks: list[str] = []
    for piece in pieces:
        blocks.extend(splitter.feed(piece))
    return [*blocks, *splitter.flush()]


class TestBlockSplitter:
    def test_paragraphs_close_at_blank_lines(self) -> None:
        splitter = BlockSplitter()
        assert splitter.feed("First line\nsecond line\n") == []
        assert splitter.tail == "First line\nsecond line\n"
        assert splitter.feed("\nNext") == ["First line\nsecond line"]
        assert splitter.tail == "Next"
        assert splitter.flush() == ["Next"]
        assert splitter.tail == ""

    def test_backtick_fence_with_blank_lines_is_one_block(self) -> None:
        text = "```python\ndef f():\n\n\n    return 1\n```\nAfter"
        assert split_whole(text) == ["```python\ndef f():\n\n\n    return 1\n```", "After"]

    def test_fence_closes_when_its_closing_line_ends(self) -> None:
        splitter = BlockSplitter()
        assert splitter.feed("```\ncode\n\nmore\n```") == []
        assert splitter.feed("\n") == ["```\ncode\n\nmore\n```"]
        assert splitter.tail == ""

    def test_tilde_fence_ignores_backtick_lines(self) -> None:
        text = "~~~markdown\n```\n\n# not a heading\n```\n~~~\n\nEnd"
        assert split_whole(text) == ["~~~markdown\n```\n\n# not a heading\n```\n~~~", "End"]

    def test_closing_fence_needs_same_char_and_at_least_the_length(self) -> None:
        text = "````\n```\n\n~~~~\n````\nafter"
        assert split_whole(text) == ["````\n```\n\n~~~~\n````", "after"]

    def test_fence_with_info_then_text_is_not_a_close(self) -> None:
        text = "```\n```python\n\nstill code\n```\n"
        # "```python" inside a fence cannot close it (a closing fence has no info string).
        assert split_whole(text) == ["```\n```python\n\nstill code\n```"]

    def test_unclosed_fence_is_closed_by_flush(self) -> None:
        splitter = BlockSplitter()
        assert splitter.feed("```js\nlet a = 1;\n\n") == []
        assert splitter.tail == "```js\nlet a = 1;\n\n"
        assert splitter.flush() == ["```js\nlet a = 1;"]

    def test_fence_interrupting_a_paragraph_starts_a_block(self) -> None:
        text = "Here is code:\n```sh\nls\n```\n"
        assert split_whole(text) == ["Here is code:", "```sh\nls\n```"]

    def test_heading_is_a_block_of_its_own(self) -> None:
        splitter = BlockSplitter()
        assert splitter.feed("Intro\n## Title\n") == ["Intro", "## Title"]
        assert splitter.feed("Body") == []
        assert splitter.flush() == ["Body"]

    def test_hashtag_is_not_a_heading(self) -> None:
        assert split_whole("#hashtag\nsame paragraph") == ["#hashtag\nsame paragraph"]

    def test_tight_list_is_one_block(self) -> None:
        text = "- one\n- two\n  - nested\n- three\n\nAfter"
        assert split_whole(text) == ["- one\n- two\n  - nested\n- three", "After"]

    def test_list_item_continues_after_blank_line_with_indented_text(self) -> None:
        item = "1. Step\n\n   More about the step.\n\n       indented code in the item\n2. Next"
        assert split_whole(item + "\n\nDone") == [item, "Done"]

    def test_loose_list_items_split_at_blank_lines(self) -> None:
        assert split_whole("1. a\n\n2. b\n") == ["1. a", "2. b"]

    def test_list_closes_when_unindented_text_follows_the_blank(self) -> None:
        splitter = BlockSplitter()
        assert splitter.feed("- a\n\n") == []
        assert splitter.feed("Para\n") == ["- a"]
        assert splitter.tail == "Para\n"

    def test_indented_code_with_blank_lines_is_one_block(self) -> None:
        text = "    a = 1\n\n    b = 2\n\nText"
        assert split_whole(text) == ["    a = 1\n\n    b = 2", "Text"]

    def test_table_is_one_block(self) -> None:
        text = "| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 | 4 |\n\nNext"
        assert split_whole(text) == ["| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 | 4 |", "Next"]

    def test_extra_blank_lines_make_no_empty_blocks(self) -> None:
        assert split_whole("\n\n\na\n\n\n\nb\n\n") == ["a", "b"]

    def test_crlf_line_endings(self) -> None:
        assert split_whole("a\r\n\r\n```\r\nx\r\n\r\n```\r\nb") == ["a", "```\r\nx\r\n\r\n```", "b"]

    def test_feed_only_scans_the_new_text(self) -> None:
        # A long open line fed in many small pieces must not be re-joined on every feed.
        splitter = BlockSplitter()
        for _ in range(1000):
            assert splitter.feed("word ") == []
        assert splitter.tail == "word " * 1000


BLOCK_SAMPLES = [
    "# Heading",
    "## Sub *heading*",
    "A paragraph with **bold**, `code` and a [link](https://example.com).\nSecond line.",
    "- one\n- two\n  - nested",
    "1. first\n\n   continued\n2. second",
    "3. later",
    "| a | b |\n|---|:-:|\n| 1 | 2 |",
    "```python\ndef f():\n\n    return 1\n```",
    "~~~\n```\n\ntext\n~~~",
    "```\nunclosed",
    "    indented\n\n    code",
    "> quoted\n> text",
    "---",
    "Setext\n===",
    "日本語の段落です。",
]


@st.composite
def documents(draw: st.DrawFn) -> str:
    blocks = draw(st.lists(st.sampled_from(BLOCK_SAMPLES), min_size=1, max_size=8))
    separators = draw(
        st.lists(
            st.sampled_from(["\n\n", "\n", "\n\n\n", "\n  \n"]),
            min_size=len(blocks),
            max_size=len(blocks),
        )
    )
    return "".join(b + s for b, s in zip(blocks, separators, strict=True))


@st.composite
def documents_and_cuts(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(st.one_of(documents(), st.text(alphabet="`~#-*> |\n\tab1.", max_size=80)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=20)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return text, pieces


@settings(max_examples=300, deadline=None)
@given(documents_and_cuts())
def test_any_split_gives_the_same_blocks_as_feeding_whole(case: tuple[str, list[str]]) -> None:
    text, pieces = case
    assert split_in_pieces(pieces) == split_whole(text)


@settings(max_examples=200, deadline=None)
@given(documents_and_cuts())
def test_tail_is_the_text_after_the_closed_blocks(case: tuple[str, list[str]]) -> None:
    _, pieces = case
    splitter = BlockSplitter()
    fed = ""
    for piece in pieces:
        splitter.feed(piece)
        fed += piece
        assert fed.endswith(splitter.tail)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_blocks_keep_all_non_blank_text_in_order(text: str) -> None:
    blocks = split_whole(text)
    assert all(block.strip() for block in blocks)
    words = [w for w in text.split() if w]
    assert " ".join(blocks).split() == words


class TestRenderBlockHtml:
    def test_raw_html_from_the_model_is_escaped(self) -> None:
        html = render_block_html(
            'Hi <script>alert("x")</script> <b onclick="x()">b</b>\n\n<div>block</div>', dark=False
        ).html
        assert "<script" not in html
        assert "<b " not in html
        assert "<div>" not in html
        assert "&lt;script&gt;" in html
        assert "&lt;div&gt;block&lt;/div&gt;" in html

    def test_fenced_code_is_highlighted_with_inline_styles_in_a_box(self) -> None:
        code = 'def greet(name: str) -> str:\n    return f"hi {name}"  # <tag>'
        rendered = render_block_html(f"```python\n{code}\n```", dark=False, code_index_start=3)
        assert isinstance(rendered, RenderedBlock)
        assert rendered.code_blocks == [code]
        html = rendered.html
        assert re.search(r'<span style="[^"]*color: #[0-9A-Fa-f]{3,6}[^"]*">def</span>', html)
        assert 'class="' not in html  # Qt has no stylesheet for Pygments classes
        assert 'href="copy-code:3"' in html
        assert ">python<" in html
        assert "bgcolor=" in html
        assert "<pre" in html
        assert "&lt;tag&gt;" in html

    def test_each_code_block_gets_the_next_index(self) -> None:
        rendered = render_block_html(
            "```\none\n```\n\n    two\n\n~~~rust\nthree\n~~~", dark=True, code_index_start=5
        )
        assert rendered.code_blocks == ["one", "two", "three"]
        for index in (5, 6, 7):
            assert f'href="copy-code:{index}"' in rendered.html
        assert "copy-code:8" not in rendered.html

    def test_unknown_language_falls_back_to_plain_text(self) -> None:
        rendered = render_block_html("```no-such-lang\n<x> & y\n```", dark=False)
        assert rendered.code_blocks == ["<x> & y"]
        assert "&lt;x&gt; &amp; y" in rendered.html
        assert ">no-such-lang<" in rendered.html

    def test_light_and_dark_use_different_colours(self) -> None:
        source = "```python\nimport os\n```"
        assert (
            render_block_html(source, dark=False).html != render_block_html(source, dark=True).html
        )

    def test_inline_code_is_monospace_with_a_background(self) -> None:
        html = render_block_html("Call `run(<x>)` now", dark=False).html
        match = re.search(r'<code style="([^"]*)">run\(&lt;x&gt;\)</code>', html)
        assert match is not None
        assert "monospace" in match.group(1)
        assert "background-color" in match.group(1)

    def test_table_has_borders_and_padding(self) -> None:
        html = render_block_html("| a | b |\n|---|--:|\n| 1 | 2 |", dark=False).html
        assert '<table border="1"' in html
        assert 'cellpadding="5"' in html
        assert '<td align="right">2</td>' in html
        assert "<th" in html

    def test_links_are_kept(self) -> None:
        html = render_block_html("See [docs](https://example.com/a?b=1&c=2).", dark=False).html
        assert 'href="https://example.com/a?b=1&amp;c=2"' in html
        assert ">docs</a>" in html

    @pytest.mark.parametrize(
        "source", ["[copy](copy-code:0)", "[x](javascript:alert(1))", "[f](file:///etc/passwd)"]
    )
    def test_unsafe_or_forged_links_are_not_links(self, source: str) -> None:
        assert "<a " not in render_block_html(source, dark=False).html

    def test_images_become_links(self) -> None:
        html = render_block_html("![a chart](https://example.com/c.png)", dark=False).html
        assert "<img" not in html
        assert 'href="https://example.com/c.png"' in html
        assert "[a chart]" in html

    def test_headings_lists_and_strikethrough(self) -> None:
        html = render_block_html("## Title\n\n- a\n- ~~b~~\n\n3. c", dark=False).html
        assert "<h2" in html
        assert "<ul" in html
        assert '<ol start="3"' in html
        assert "<s>b</s>" in html

    def test_no_trailing_whitespace(self) -> None:
        # Qt would turn it into a trailing space in the last paragraph.
        assert render_block_html("text\n\n", dark=False).html.endswith("</p>")
