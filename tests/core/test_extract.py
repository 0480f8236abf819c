"""Extraction from the committed real documents: facts on the right page under the right heading,
Japanese PDF text joined as written, encodings detected, folder expansion."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from app.core.documents.extract import (
    SUPPORTED_SUFFIXES,
    Limits,
    extract,
    is_supported,
    iter_files,
)
from app.core.documents.extract_common import clean_text, drop_cjk_spaces, join_lines
from app.core.documents.model import Block, ExtractedDocument

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_test_documents.py"
CJK_SPACE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f]\s+[\u3040-\u30ff\u4e00-\u9fff]")

# (file, page, heading the block sits under, fact); written out here, not imported from the
# tool, so a change to the tool cannot quietly change what the tests expect.
FACTS = [
    ("aurora_report.pdf", 1, "1. Overview", "The reactor operated for 6,412 hours in 2024."),
    ("aurora_report.pdf", 2, "2. Staff and Training",
     "Dr. Helena Marsh became chief operator in January 2024."),
    ("aurora_report.pdf", 3, "3. Coolant System",
     "The Aurora reactor's coolant pump was replaced on 12 March 2024."),
    ("aurora_report.pdf", 4, "4. Budget", "The maintenance budget for 2025 is 3.2 million euros."),
    ("it_guide_ja.pdf", 1, "1. はじめに", "本ガイドは大阪本社の情報システム部が管理しています。"),
    ("it_guide_ja.pdf", 2, "2. パスワード",
     "東京支社のパスワード再設定は毎月第2金曜日に行います。"),
    ("it_guide_ja.pdf", 3, "3. 問い合わせ", "ヘルプデスクの内線番号は4321です。"),
    ("it_guide_ja.pdf", 3, "3. 問い合わせ", "緊急時は警備室の内線9999に連絡してください。"),
    ("tategaki_ja.pdf", 1, "第一章 文書管理", "議事録の保存期間は十年と定められています。"),
    ("tategaki_ja.pdf", 2, "第二章 休暇", "年次有給休暇は入社六か月後に十日付与されます。"),
    ("partly_scanned.pdf", 1, None, "The first page of this memo has a text layer."),
    ("permissions_only.pdf", 1, None, "Editing this memo is restricted by its owner."),
    ("project_handbook.docx", None, "Accounts",
     "New accounts are approved by Priya Natarajan within two working days."),
    ("project_handbook.docx", None, "Safety",
     "Fire drills happen on the first Monday of every quarter."),
    ("project_handbook.docx", None, "Equipment", "| Spectrometer | Lab B-12 | Kenji Watanabe |"),
    ("経理規程.docx", None, "経費精算", "経費精算の締め日は毎月25日です。"),
    ("経理規程.docx", None, "交通費", "新幹線の利用は片道100キロメートル以上の出張に限ります。"),
    ("経理規程.docx", None, "上限額", "| 宿泊費 | 12,000円 |"),
    ("quarterly_review.pptx", 2, "Sales", "Revenue grew 14% to 8.6 million dollars."),
    ("quarterly_review.pptx", 3, "Hiring", "| Support | 5 |"),
    ("quarterly_review.pptx", 3, "Speaker notes",
     "Mention that the Osaka office opens in April 2025."),
    ("quarterly_review.pptx", 4, "今後の予定", "新製品の発表は2025年5月20日です。"),
    ("inventory.xlsx", 1, "Parts", "| Valve V-200 | 48 | Rotterdam | 2024-09-30 |"),
    ("inventory.xlsx", 2, "在庫", "| ボルトM8 | 1200 | 名古屋倉庫 |"),
    ("customers_cp932.csv", None, None, "| 髙橋商事 | 札幌 | 鈴木 |"),
    ("meeting_notes_sjis.txt", None, None,
     "次回の定例会議は4月8日（月）午前10時から第3会議室で開催します。"),  # noqa: RUF001
    ("release_notes_utf16.txt", None, None,
     "Version 2.4 fixes the printer crash reported by the Kyoto team."),
    ("release_notes_utf16.txt", None, None, "バージョン2.4では印刷時のクラッシュを修正しました。"),
    ("backup_utf8_bom.txt", None, None, "The backup server is named HEARTH-BK-02."),
    ("onboarding.md", None, "Laptop setup",
     "Laptops are encrypted with a 12-character recovery key."),
    ("onboarding.md", None, "日本語の窓口", "大阪オフィスの窓口は総務部の森さんです。"),
    ("faq.html", None, "Returns", "Returns are accepted within 30 days of purchase."),
    ("faq.html", None, "Shipping", "| UK | £3.95 |"),
    ("faq_ja_sjis.html", None, "返品について", "返品は購入日から30日以内に受け付けます。"),
    ("inventory_report.py", None, None, "def needs_reorder(quantity: int) -> bool:"),
]


@cache
def doc(name: str) -> ExtractedDocument:
    return extract(DOCS / name)


def block_with(document: ExtractedDocument, text: str) -> Block:
    found = [b for b in document.blocks if text in b.text]
    assert len(found) == 1, f"{text!r} is in {len(found)} blocks of {document.path.name}"
    return found[0]


@pytest.mark.parametrize(("name", "page", "heading", "fact"), FACTS)
def test_fact_is_on_its_page_under_its_heading(name: str, page: int | None, heading: str | None,
                                               fact: str) -> None:
    block = block_with(doc(name), fact)
    assert block.page == page
    if heading is None:
        assert block.heading_path == ()
    else:
        assert block.heading_path[-1] == heading


def test_pdf_document_fields() -> None:
    report = doc("aurora_report.pdf")
    assert report.kind == "pdf"
    assert report.title == "Aurora Annual Maintenance Report 2024"  # from the PDF's metadata
    assert report.page_count == 4
    assert report.warnings == ()
    assert report.sha256 == hashlib.sha256((DOCS / "aurora_report.pdf").read_bytes()).hexdigest()
    headings = [(b.page, b.text) for b in report.blocks if b.kind == "heading"]
    assert (3, "3. Coolant System") in headings
    # The running page numbers at the foot of each page are not content.
    assert not any(b.text.strip().isdigit() for b in report.blocks)


def test_english_pdf_lines_are_joined_and_hyphenation_undone() -> None:
    block = block_with(doc("aurora_report.pdf"), "coolant pump")
    # "main-" / "tenance" was hyphenated at a line end; the next line joins with a space.
    assert "The planned maintenance of the secondary loop" in block.text
    assert "because the spare heat exchanger had not been delivered." in block.text
    assert "\n" not in block.text
    assert "main-" not in block.text


def test_japanese_pdf_sentences_have_no_spurious_breaks_or_spaces() -> None:
    guide = doc("it_guide_ja.pdf")
    assert guide.title == "社内ITガイド"
    block = block_with(guide, "東京支社のパスワード再設定")
    # The sentence was broken across lines after "東京支"; it comes back whole.
    assert "使わないでください。東京支社のパスワード再設定は毎月第2金曜日に行います。再設定の前日" \
        "にはメールでお知らせします。" in block.text
    for b in guide.blocks:
        assert "\n" not in b.text
        assert not CJK_SPACE.search(b.text), b.text
    # A line holding only the final "。" joins its sentence.
    assert "午後6時までです。" in block_with(guide, "受付時間").text
    # Separate paragraphs stay separate.
    assert block_with(guide, "内容は年に一度").text.startswith("内容は年に一度")


def test_spaces_pdfium_invents_between_cjk_glyphs_are_dropped_written_ones_kept() -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(DOCS / "it_guide_ja.pdf"))
    try:
        page = pdf[2]
        textpage = page.get_textpage()
        raw = textpage.get_text_range()
        textpage.close()
        page.close()
    finally:
        pdf.close()
    # The glyphs of this line stand apart (a TJ gap): pdfium itself reads spaces there...
    assert "緊急時は 警備室の 内線9999" in raw
    # ...which extraction drops, while the space written in a heading stays.
    assert block_with(doc("it_guide_ja.pdf"), "緊急時は").text == \
        "緊急時は警備室の内線9999に連絡してください。"
    assert block_with(doc("tategaki_ja.pdf"), "文書管理").text == "第一章 文書管理"


def test_vertical_japanese_is_read_right_to_left_in_paragraphs() -> None:
    tategaki = doc("tategaki_ja.pdf")
    assert [(b.page, b.kind, b.text) for b in tategaki.blocks] == [
        (1, "heading", "第一章 文書管理"),
        (1, "paragraph", "会議の記録は担当部署が作成し、総務部に提出します。"
                         "議事録の保存期間は十年と定められています。"),
        (1, "paragraph", "保存期間を過ぎた文書は、年度末にまとめて廃棄します。"),  # indented start
        (2, "heading", "第二章 休暇"),
        (2, "paragraph", "年次有給休暇は入社六か月後に十日付与されます。"
                         "取得の際は三日前までに上司へ申請してください。"),
        (2, "paragraph", "夏季休暇は八月に三日間取得できます。"),
    ]


def test_partly_scanned_pdf_keeps_text_pages_and_names_the_others() -> None:
    memo = doc("partly_scanned.pdf")
    assert memo.page_count == 2
    assert {b.page for b in memo.blocks} == {1}
    assert len(memo.warnings) == 1
    assert "page 2" in memo.warnings[0]
    assert "OCR" in memo.warnings[0]


def test_text_encodings_are_detected() -> None:
    csv_doc = doc("customers_cp932.csv")
    assert csv_doc.kind == "csv"
    # 髙 and ① exist only in cp932, not in plain Shift-JIS.
    assert "| 有限会社①デザイン | 福岡 | 田中 |" in csv_doc.text
    assert csv_doc.blocks[0].kind == "table"
    assert csv_doc.blocks[0].text.startswith("| 顧客名 | 都市 | 担当者 |\n|---|---|---|")
    assert any("cp932" in w for w in csv_doc.warnings)
    sjis = doc("meeting_notes_sjis.txt")
    assert "議題は①予算の見直し" in sjis.text
    assert "髙木部長" in sjis.text
    assert "\r" not in sjis.text
    utf16 = doc("release_notes_utf16.txt")
    assert utf16.text.startswith("Release notes")  # no BOM character left
    assert utf16.warnings == ()  # a BOM is certain, not a guess
    bom8 = doc("backup_utf8_bom.txt")
    assert bom8.blocks[0].text == "Backup notes"
    assert "\ufeff" not in bom8.text
    assert doc("faq_ja_sjis.html").title == "よくある質問"  # charset from the <meta> tag


def test_plain_text_paragraphs() -> None:
    notes = doc("backup_utf8_bom.txt")
    assert [b.text for b in notes.blocks] == [
        "Backup notes",
        "The backup server is named HEARTH-BK-02.\nBackups run every night at 01:30."]
    assert {b.kind for b in notes.blocks} == {"paragraph"}
    assert notes.page_count is None


def test_markdown_structure() -> None:
    md = doc("onboarding.md")
    assert md.title == "Onboarding"
    code = block_with(md, "fdesetup status")
    assert code.kind == "code"
    assert code.text == "sudo fdesetup status\n\nsudo fdesetup enable"  # blank line kept
    assert code.heading_path == ("Onboarding", "Laptop setup")
    contacts = block_with(md, "IT desk")
    assert contacts.kind == "list"
    assert contacts.text == "- IT desk: extension 4321\n- Facilities: extension 4400"
    sub = block_with(md, "日本語の窓口")
    assert sub.kind == "heading"
    assert sub.heading_path == ("Onboarding", "Contacts")


def test_markdown_heading_forms() -> None:
    from app.core.documents.extract_text import _atx_heading

    assert _atx_heading("# Title") == (1, "Title")
    assert _atx_heading("  ### Deep ###  ") == (3, "Deep")
    assert _atx_heading("## C# tips") == (2, "C# tips")
    assert _atx_heading("## #hashtag#") == (2, "#hashtag#")
    assert _atx_heading("#") == (1, "")
    assert _atx_heading("####### seven") is None
    assert _atx_heading("#notaheading") is None
    assert _atx_heading("    # indented code") is None


def test_html_skips_scripts_styles_and_navigation() -> None:
    faq = doc("faq.html")
    assert faq.title == "Shop FAQ"
    assert "tracking =" not in faq.text
    assert "font-family" not in faq.text
    assert "Home" not in faq.text
    table = block_with(faq, "| Zone | Cost |")
    assert table.kind == "table"
    assert "| EU | €9.50 |" in table.text  # character references decoded
    assert block_with(faq, "Parcels need a signature.").kind == "list"
    returns = block_with(faq, "Returns are accepted")
    assert returns.text == "Returns are accepted within 30 days of purchase.\nKeep the receipt."


def test_docx_structure() -> None:
    handbook = doc("project_handbook.docx")
    assert handbook.title == "Project Handbook"
    assert handbook.page_count is None
    accounts = block_with(handbook, "Priya Natarajan")
    assert accounts.heading_path == ("Project Handbook", "Getting started", "Accounts")
    items = block_with(handbook, "Collect your badge")
    assert items.kind == "list"
    assert items.text.splitlines() == ["- Collect your badge from reception.",
                                       "- Set up two-factor authentication.",
                                       "- Book the safety induction."]
    table = block_with(handbook, "Spectrometer")
    assert table.kind == "table"
    assert table.text.splitlines()[:2] == ["| Instrument | Location | Owner |", "|---|---|---|"]
    # "Safety" (level 2) sits under "Equipment" (level 1), not under "Accounts".
    assert block_with(handbook, "Fire drills").heading_path == (
        "Project Handbook", "Equipment", "Safety")


def test_pptx_slides_are_pages() -> None:
    deck = doc("quarterly_review.pptx")
    assert deck.page_count == 4
    assert [(b.page, b.text) for b in deck.blocks if b.kind == "heading"] == [
        (1, "Quarterly Review Q3 2024"), (2, "Sales"), (3, "Hiring"), (4, "今後の予定")]
    bullets = block_with(deck, "Revenue grew")
    assert bullets.kind == "list"
    assert bullets.text.splitlines()[-1] == "  - Germany led Europe"  # level 1 indented
    assert block_with(deck, "| Team | New hires |").kind == "table"


def test_xlsx_sheets_are_pages() -> None:
    book = doc("inventory.xlsx")
    assert book.page_count == 2
    assert [(b.page, b.text) for b in book.blocks if b.kind == "heading"] == [
        (1, "Parts"), (2, "在庫")]
    parts = block_with(book, "Valve V-200")
    assert parts.text.splitlines()[0] == "| Part | Quantity | Warehouse | Last audit |"
    # The empty row is skipped; a formula without a cached value reads as empty.
    assert parts.text.splitlines()[-1] == "| Total |  |  |  |"


def test_source_code_is_code_blocks_cut_at_blank_lines() -> None:
    code = doc("inventory_report.py")
    assert code.kind == "code"
    assert all(b.kind == "code" for b in code.blocks)
    source = (DOCS / "inventory_report.py").read_text(encoding="utf-8")
    for block in code.blocks:
        assert block.text in source  # whole lines, indentation kept
    assert "    return quantity < REORDER_LEVEL" in code.text


def test_long_source_code_is_cut_only_at_blank_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.documents import extract_text

    monkeypatch.setattr(extract_text, "_CODE_BLOCK", 120)
    blocks = [b.text for b in extract(DOCS / "inventory_report.py").blocks]
    assert [b.splitlines()[0] for b in blocks] == [
        '"""Print the parts that need reordering."""',
        "def needs_reorder(quantity: int) -> bool:",
        "def main() -> None:"]
    source = (DOCS / "inventory_report.py").read_text(encoding="utf-8")
    assert "\n\n\n".join(blocks) + "\n" == source  # nothing lost between the cuts


def test_progress_reports_pages_then_done() -> None:
    calls: list[tuple[int, int | None]] = []
    extract(DOCS / "aurora_report.pdf", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, None), (0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    calls.clear()
    extract(DOCS / "onboarding.md", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, None), (1, 1)]


def test_page_and_character_limits_cut_with_a_warning() -> None:
    first_two = extract(DOCS / "aurora_report.pdf", limits=Limits(max_pages=2))
    assert {b.page for b in first_two.blocks} == {1, 2}
    assert first_two.page_count == 4
    assert any("only the first 2" in w for w in first_two.warnings)
    short = extract(DOCS / "aurora_report.pdf", limits=Limits(max_chars=300))
    assert sum(len(b.text) for b in short.blocks) == 300
    assert any("300 characters" in w for w in short.warnings)
    rows = extract(DOCS / "inventory.xlsx", limits=Limits(max_rows_per_sheet=3))  # with header
    assert "Pump P-7" in rows.text
    assert "Seal kit" not in rows.text
    assert any("more than 3 rows" in w for w in rows.warnings)


def test_pdfs_read_from_many_threads_match_a_serial_read() -> None:
    names = ["aurora_report.pdf", "it_guide_ja.pdf", "partly_scanned.pdf"] * 4
    serial = [extract(DOCS / n).blocks for n in names]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda n: extract(DOCS / n).blocks, names))
    assert parallel == serial


def test_supported_suffixes() -> None:
    assert is_supported(Path("REPORT.PDF"))
    assert is_supported("notes.md")
    assert is_supported("main.rs")
    assert not is_supported("photo.jpg")
    assert not is_supported("old.doc")
    assert SUPPORTED_SUFFIXES[".htm"] == "html"


def test_iter_files_expands_folders(tmp_path: Path) -> None:
    root = tmp_path / "dropped"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "node_modules" / "pkg").mkdir(parents=True)
    for rel in ("a.pdf", "sub/b.docx", "sub/deeper/c.md", "sub/deeper/README.TXT",
                ".git/config.txt", ".hidden.txt", "node_modules/pkg/index.js", "photo.jpg",
                "~$b.docx"):
        (root / rel).write_bytes(b"x")
    loose = tmp_path / "loose.exe"
    loose.write_bytes(b"x")
    found = list(iter_files([root, loose, root / "a.pdf"]))
    deeper = root / "sub" / "deeper"
    assert found == [root / "a.pdf", root / "sub" / "b.docx", deeper / "README.TXT",
                     deeper / "c.md", loose]


def test_text_helpers() -> None:
    assert join_lines(["The planned main-", "tenance of the loop"]) == \
        "The planned maintenance of the loop"
    assert join_lines(["a well-", "Known name"]) == "a well- Known name"  # not a word break
    assert join_lines(["東京支", "社の設定", "VPN", "です。"]) == "東京支社の設定VPNです。"
    assert join_lines(["first line", "second line"]) == "first line second line"
    assert drop_cjk_spaces("東京 支社 の VPN 設定") == "東京支社の VPN 設定"
    assert clean_text("a\x00b\x07c\td\ne\ufffef") == "abc\td\nef"


def test_tool_regenerates_the_same_documents(tmp_path: Path) -> None:
    """The committed documents are what the tool makes: rebuild them and compare the text."""
    for module in ("PIL", "docx", "pptx", "openpyxl"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    out = tmp_path / "docs"
    subprocess.run([sys.executable, str(TOOL), "--out", str(out)], check=True,
                   capture_output=True, timeout=120)
    committed = sorted(p.name for p in DOCS.iterdir() if not p.name.startswith("."))
    assert sorted(p.name for p in out.iterdir()) == committed
    for name in committed:
        if name in ("encrypted_hearth.pdf", "scanned_invoice.pdf"):
            continue  # no text to compare (tested in test_extract_bad_input)
        assert extract(out / name).blocks == doc(name).blocks, name
    long_pdf = tmp_path / "long.pdf"
    subprocess.run([sys.executable, str(TOOL), "--long-pdf", str(long_pdf), "--pages", "30"],
                   check=True, capture_output=True, timeout=120)
    assert extract(long_pdf).page_count == 30
