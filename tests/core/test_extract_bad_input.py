"""Bad input: every broken, hostile or vanished file gets a DocumentError that says what is wrong,
memory stays bounded, and the rest of a batch carries on."""

from __future__ import annotations

import os
import resource
import shutil
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.chat import CancelToken
from app.core.documents.extract import (
    ExtractionCancelled,
    Limits,
    extract,
    extract_many,
)
from app.core.documents.extract_common import MB
from app.core.documents.model import ExtractedDocument
from app.core.errors import DocumentError

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
AURORA = DOCS / "aurora_report.pdf"


def error_for(path: Path, **kwargs: object) -> str:
    with pytest.raises(DocumentError) as info:
        extract(path, **kwargs)  # type: ignore[arg-type]
    message = info.value.user_message
    assert path.name in message  # every message names its file
    return message


def peak_python_memory(fn: Callable[[], object]) -> int:
    """Peak bytes Python allocated while `fn` ran."""
    tracemalloc.start()
    try:
        fn()
    except DocumentError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


# --- PDF ----------------------------------------------------------------------------------------

def test_corrupt_pdf(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + os.urandom(20_000) + b"\n%%EOF\n")
    assert "is damaged or is not a real PDF" in error_for(bad)


def test_truncated_pdf(tmp_path: Path) -> None:
    data = AURORA.read_bytes()
    cut = tmp_path / "truncated.pdf"
    cut.write_bytes(data[: len(data) * 6 // 10])  # a download cut short
    assert "is incomplete (truncated)" in error_for(cut)


def test_pdf_without_its_end_still_reads_with_a_warning(tmp_path: Path) -> None:
    data = AURORA.read_bytes()
    cut = tmp_path / "no-trailer.pdf"
    cut.write_bytes(data[: data.rfind(b"xref")])  # only the cross-reference table is missing
    result = extract(cut)
    assert "coolant pump was replaced" in result.text
    assert any("seems incomplete" in w for w in result.warnings)


def test_not_a_pdf_at_all(tmp_path: Path) -> None:
    fake = tmp_path / "page.pdf"
    fake.write_text("<html><body>Sign in</body></html>", encoding="utf-8")
    assert "is not a PDF" in error_for(fake)


def test_zero_byte_pdf(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert "is empty (0 bytes)" in error_for(empty)


def test_encrypted_pdf() -> None:
    locked = DOCS / "encrypted_hearth.pdf"
    assert "is password-protected" in error_for(locked)
    # It is a real encrypted PDF, not just an unreadable one: the password opens it.
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(locked), password="hearth")
    try:
        page = pdf[0]
        textpage = page.get_textpage()
        assert textpage.get_text_range() == "The vault code is 7781."
        textpage.close()
        page.close()
    finally:
        pdf.close()


def test_pdf_encrypted_without_an_open_password_reads() -> None:
    """Owner-only encryption (editing restricted, no password to open) is not a lock."""
    restricted = DOCS / "permissions_only.pdf"
    assert b"/Encrypt" in restricted.read_bytes()
    assert extract(restricted).text == "Editing this memo is restricted by its owner."


def test_scanned_pdf_needs_ocr() -> None:
    message = error_for(DOCS / "scanned_invoice.pdf")
    assert "no text layer (needs OCR)" in message


def test_cancel_mid_pdf_stops_and_releases_pdfium() -> None:
    token = CancelToken()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        if done == 2:
            token.cancel()

    with pytest.raises(ExtractionCancelled):
        extract(AURORA, cancel=token, progress=progress)
    assert seen[-1] == 2  # stopped before page 3
    # Cancelled is not a document problem, and the pdfium lock was let go.
    assert not issubclass(ExtractionCancelled, DocumentError)
    assert extract(AURORA).page_count == 4


def test_cancelled_before_start_reads_nothing(tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(ExtractionCancelled):
        extract(DOCS / "onboarding.md", cancel=token)


# --- Office files and zip bombs -----------------------------------------------------------------

def write_bomb(path: Path, member: str, megabytes: int) -> None:
    """A zip whose `member` inflates to `megabytes` MB of zeros, written in a fraction of a
    second: one deflate block of 1 MB of zeros, full-flushed, is repeated (each repetition
    decodes to the same 1 MB)."""
    chunk = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    data = first + again * (megabytes - 1) + deflate.flush()
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    size = megabytes * MB
    types = zipfile.ZipInfo("[Content_Types].xml")  # a real first member, stored normally
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(types, b'<?xml version="1.0"?><Types/>')
    prefix = path.read_bytes()
    cd_start = struct.unpack("<I", prefix[-6:-2])[0]
    local, central = prefix[:cd_start], prefix[cd_start:-22]
    name = member.encode()
    offset = len(local)
    header = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size,
                         len(name), 0)
    entry = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data),
                        size, len(name), 0, 0, 0, 0, 0, offset)
    body = local + header + name + data
    directory = central + entry + name
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 2, 2, len(directory), len(body), 0)
    path.write_bytes(body + directory + end)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("suffix", "member"), [
    (".docx", "word/document.xml"), (".pptx", "ppt/slides/slide1.xml"),
    (".xlsx", "xl/worksheets/sheet1.xml")])
def test_zip_bomb_is_refused_before_parsing(tmp_path: Path, suffix: str, member: str) -> None:
    bomb = tmp_path / f"bomb{suffix}"
    write_bomb(bomb, member, 1024)  # 1 GiB unpacked
    assert bomb.stat().st_size < 2 * MB
    with zipfile.ZipFile(bomb) as archive:  # a valid zip that really inflates to 1 GiB
        assert archive.getinfo(member).file_size == 1024 * MB
        with archive.open(member) as stream:
            assert stream.read(MB) == bytes(MB)
    peak = peak_python_memory(lambda: extract(bomb))
    assert peak < 8 * MB
    message = error_for(bomb)
    assert "would unpack to 1024 MB" in message
    assert "zip bomb" in message


def test_zip_bomb_under_the_size_limit_is_caught_by_its_ratio(tmp_path: Path) -> None:
    bomb = tmp_path / "ratio.docx"
    write_bomb(bomb, "word/document.xml", 50)  # 50 MB from ~50 KB
    message = error_for(bomb)
    assert "compressed" in message
    assert "zip bomb" in message


def test_damaged_docx(tmp_path: Path) -> None:
    bad = tmp_path / "report.docx"
    bad.write_bytes(os.urandom(5000))
    assert "is not a valid Word file" in error_for(bad)
    half = tmp_path / "half.pptx"
    half.write_bytes((DOCS / "quarterly_review.pptx").read_bytes()[:20_000])
    assert "is not a valid PowerPoint file" in error_for(half)


def test_zip_that_is_not_a_word_document(tmp_path: Path) -> None:
    fake = tmp_path / "archive.docx"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("notes.txt", "just a zip")
    assert "could not be read as a Word document" in error_for(fake)


# --- Text ---------------------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_500_mb_text_file_is_refused_at_once(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(500 * MB)  # sparse: instant, no disk used
    rss_before = max_rss_bytes()
    message = error_for(huge)
    assert "is too big (500 MB; the limit is 50 MB" in message
    assert max_rss_bytes() - rss_before < 20 * MB


@pytest.mark.timeout(30)
def test_500_mb_file_under_a_raised_limit_keeps_memory_bounded(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(500 * MB)
    limits = Limits(text_bytes=1024 * MB)
    rss_before = max_rss_bytes()
    peak = peak_python_memory(lambda: extract(huge, limits=limits))
    assert peak < 4 * MB
    assert max_rss_bytes() - rss_before < 64 * MB
    assert "does not look like text" in error_for(huge, limits=limits)


def test_big_text_file_is_streamed(tmp_path: Path) -> None:
    """30 MB of text, cut at a 1 M character limit: memory follows the limit, not the file."""
    big = tmp_path / "big.log"
    line = "2024-03-12 10:00:00 pump P-7 pressure nominal, valve V-200 open\n"
    with big.open("w", encoding="utf-8") as f:
        for n in range(30 * MB // len(line) // 100):
            f.write(line * 99 + f"\nblock {n}\n\n")
    assert big.stat().st_size > 29 * MB
    limits = Limits(max_chars=1_000_000)
    result: list[ExtractedDocument] = []
    peak = peak_python_memory(lambda: result.append(extract(big, limits=limits)))
    assert peak < 12 * MB
    assert sum(len(b.text) for b in result[0].blocks) == 1_000_000
    assert any("only the first 1,000,000 characters" in w for w in result[0].warnings)


def test_binary_data_with_a_text_name(tmp_path: Path) -> None:
    blob = tmp_path / "notes.txt"
    blob.write_bytes(os.urandom(64 * 1024))
    assert "does not look like text" in error_for(blob)
    image = tmp_path / "scan.md"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    assert "does not look like text" in error_for(image)


@pytest.mark.timeout(60)
def test_hostile_markdown_and_csv_lines_stay_fast(tmp_path: Path) -> None:
    """Long lines of spaces and '#' (quadratic for a heading regex) and of quotes (for the CSV
    dialect sniffer)."""
    md = tmp_path / "odd.md"
    md.write_text("# a" + " " * 60_000 + "###" + " " * 60_000 + "b\n", encoding="utf-8")
    assert extract(md).blocks[0].kind == "heading"
    table = tmp_path / "odd.csv"
    table.write_text('"' + ' "x' * 40_000 + "\n", encoding="utf-8")
    assert extract(table).blocks[0].kind == "table"
    table.write_text('"' + ' "x' * 200_000 + "\n", encoding="utf-8")  # one 600 KB field
    assert "is not valid CSV (field larger than field limit" in error_for(table)


def test_control_characters_are_stripped(tmp_path: Path) -> None:
    dirty = tmp_path / "dirty.txt"
    dirty.write_bytes(b"Meter\x00 reading\x07: 42\x1b\n")
    assert extract(dirty).text == "Meter reading: 42"


def test_deeply_nested_html(tmp_path: Path) -> None:
    deep = tmp_path / "deep.html"
    depth = 100_000
    deep.write_text("<html><body>" + "<div>" * depth + "<p>Bottom of the well.</p>"
                    + "</div>" * depth + "<p>After.</p></body></html>", encoding="utf-8")
    result = extract(deep)
    assert [b.text for b in result.blocks] == ["Bottom of the well.", "After."]


@pytest.mark.timeout(60)
def test_html_full_of_unclosed_tags_stays_linear(tmp_path: Path) -> None:
    """Stray '<' make the standard library's parser quadratic (this file took hours)."""
    stray = tmp_path / "stray.html"
    stray.write_text("<p>Start.</p>" + "<a " * 300_000 + "<p>End.</p>", encoding="utf-8")
    result = extract(stray)
    assert result.blocks[0].text == "Start."
    tail = result.blocks[-1].text  # the stray '<' are read as the text they are
    assert tail.startswith("<a <a <a")
    assert tail.endswith("End.")
    assert len(tail) > 600_000  # the last 256 KB before a '>' do make one (odd) tag
    big_tag = tmp_path / "inline-image.html"  # a long tag that does end is still a tag
    big_tag.write_text('<p>Logo:</p><img src="data:image/png;base64,' + "A" * 200_000
                       + '"><p>Caption.</p>', encoding="utf-8")
    assert [b.text for b in extract(big_tag).blocks] == ["Logo:", "Caption."]


def test_html_with_an_unknown_charset_falls_back(tmp_path: Path) -> None:
    page = tmp_path / "odd.html"
    page.write_bytes(b'<meta charset="x-made-up"><p>Caf\xc3\xa9 menu</p>')
    assert extract(page).text == "Café menu"
    wrong = tmp_path / "wrong.html"
    wrong.write_bytes('<meta charset="utf-8"><p>返品は30日以内に受け付けます。</p>'.encode("cp932"))
    result = extract(wrong)  # the bytes are not UTF-8: the declared charset is ignored
    assert result.text == "返品は30日以内に受け付けます。"
    assert any("guessed" in w for w in result.warnings)


# --- Files that vanish or cannot be opened -------------------------------------------------------

def test_japanese_characters_in_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "資料フォルダ"
    folder.mkdir()
    pdf = Path(shutil.copy(DOCS / "it_guide_ja.pdf", folder / "東京支社の手引き.pdf"))
    result = extract(pdf)
    assert result.path == folder / "東京支社の手引き.pdf"
    assert "東京支社のパスワード再設定は毎月第2金曜日に行います。" in result.text
    assert extract(DOCS / "経理規程.docx").title == "経理規程"
    broken = folder / "壊れた報告書.pdf"
    broken.write_bytes(b"%PDF-1.4\n")
    assert "\u201c壊れた報告書.pdf\u201d" in error_for(broken)


def test_file_deleted_before_it_is_read(tmp_path: Path) -> None:
    victim = Path(shutil.copy(AURORA, tmp_path / "victim.pdf"))

    def delete(done: int, total: int | None) -> None:
        if total is None and done == 0:  # the first call comes before the file is opened
            victim.unlink()

    message = error_for(victim, progress=delete)
    assert "could not be read: it no longer exists" in message


def test_file_deleted_while_being_read(tmp_path: Path) -> None:
    """Deleted after pdfium opened it: POSIX keeps an open file readable, so the document
    comes out whole; Windows refuses the deletion. Either way no bare OSError escapes."""
    victim = Path(shutil.copy(AURORA, tmp_path / "victim.pdf"))
    refused: list[OSError] = []

    def delete(done: int, total: int | None) -> None:
        if done == 1 and victim.exists():
            try:
                victim.unlink()
            except PermissionError as exc:  # Windows: the file is open
                refused.append(exc)

    result = extract(victim, progress=delete)
    assert result.page_count == 4
    assert "coolant pump was replaced" in result.text
    assert refused or not victim.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads any file; permissions cannot be tested")
def test_permission_denied(tmp_path: Path) -> None:
    locked = Path(shutil.copy(DOCS / "onboarding.md", tmp_path / "locked.md"))
    locked.chmod(0)
    try:
        assert "could not be read: permission denied" in error_for(locked)
    finally:
        locked.chmod(0o600)


def test_missing_folder_and_unsupported_files(tmp_path: Path) -> None:
    assert "no longer exists" in error_for(tmp_path / "gone.pdf")
    folder = tmp_path / "looks-like.txt"
    folder.mkdir()
    assert "is not a file" in error_for(folder)
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ")
    assert "Hearth cannot read .exe files" in error_for(program)


# --- A batch carries on -------------------------------------------------------------------------

def test_batch_carries_on_past_bad_files(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in ("aurora_report.pdf", "scanned_invoice.pdf", "encrypted_hearth.pdf",
                 "onboarding.md", "経理規程.docx"):
        shutil.copy(DOCS / name, drop / name)
    (drop / "empty.txt").write_bytes(b"")
    (drop / "junk.txt").write_bytes(os.urandom(4096))
    write_bomb(drop / "bomb.xlsx", "xl/worksheets/sheet1.xml", 300)
    seen: set[Path] = set()
    results = dict(extract_many([drop], progress=lambda path, done, total: seen.add(path)))
    assert list(results) == sorted(results)  # folder order, sorted
    outcome = {p.name: type(r).__name__ for p, r in results.items()}
    assert outcome == {
        "aurora_report.pdf": "ExtractedDocument", "bomb.xlsx": "DocumentError",
        "empty.txt": "DocumentError", "encrypted_hearth.pdf": "DocumentError",
        "junk.txt": "DocumentError", "onboarding.md": "ExtractedDocument",
        "scanned_invoice.pdf": "DocumentError", "経理規程.docx": "ExtractedDocument"}
    assert seen <= set(results)  # files refused at once (empty) never start
    assert {drop / "aurora_report.pdf", drop / "onboarding.md"} <= seen
    good = results[drop / "経理規程.docx"]
    assert isinstance(good, ExtractedDocument)
    assert "経費精算の締め日は毎月25日です。" in good.text
