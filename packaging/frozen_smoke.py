"""Frozen smoke test: the document readers and other lazily imported libraries work in the bundle.

Built only by `python packaging/freeze.py --smoke` (HEARTH_FREEZE_SMOKE=1), as a third program
`hearth-smoke` beside the two real ones; `hearth selftest` does not cover these libraries yet.
It writes one small file of each kind with the frozen libraries themselves (python-docx and
python-pptx from their default templates, openpyxl, a hand-made PDF), reads each back through
`app.core.documents.extract`, and checks the words come out; then tokenizers, huggingface_hub's
lazily loaded functions and onnxruntime's Python API. Prints one JSON object; exit 1 on any
failure.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

WORD = "hearthsmoke"


def _pdf(path: Path) -> None:
    """A one-page PDF with WORD in Helvetica, with a correct xref table."""
    stream = f"BT /F1 24 Tf 72 720 Td ({WORD} pdf) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def _docx(path: Path) -> None:
    import docx

    document = docx.Document()  # python-docx's default template, from the bundle
    document.add_heading("Smoke", level=1)
    document.add_paragraph(f"{WORD} docx")
    document.save(str(path))


def _pptx(path: Path) -> None:
    import pptx

    presentation = pptx.Presentation()  # python-pptx's default template, from the bundle
    slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    slide.shapes.title.text = f"{WORD} pptx"
    presentation.save(str(path))


def _xlsx(path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["name", f"{WORD} xlsx"])
    workbook.save(str(path))


def _text(suffix: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        # Shift-JIS, so charset-normalizer has something to detect.
        path.write_bytes(f"{WORD} {suffix} 日本語の文書です。\n".encode("shift_jis"))
    return write


WRITERS: dict[str, Callable[[Path], None]] = {
    "pdf": _pdf, "docx": _docx, "pptx": _pptx, "xlsx": _xlsx, "txt": _text("txt"),
    "csv": _text("csv"),
}


def _tokenizers() -> str:
    from tokenizers import Tokenizer, models

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, WORD: 1}, unk_token="[UNK]"))
    return "ok" if tokenizer.encode(WORD).ids == [1] else "wrong ids"


def _huggingface_hub() -> str:
    # Attributes load their submodules lazily: this catches a bundle that lacks them.
    from huggingface_hub import hf_hub_download, snapshot_download

    return "ok" if callable(hf_hub_download) and callable(snapshot_download) else "not callable"


def _onnxruntime() -> str:
    # The document embedder runs on onnxruntime's Python API (the chat runtime does not).
    import onnxruntime

    providers = onnxruntime.get_available_providers()
    return "ok" if "CPUExecutionProvider" in providers else f"providers {providers}"


def main() -> int:
    """Write, extract and check each kind; print the JSON result."""
    from app.core.documents.extract import extract

    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="hearth-smoke-") as folder:
        for kind, write in WRITERS.items():
            path = Path(folder) / f"sample.{kind}"
            try:
                write(path)
                text = " ".join(block.text for block in extract(path).blocks)
                results[kind] = "ok" if f"{WORD} {kind}" in text else f"text was {text[:80]!r}"
            except Exception as exc:
                traceback.print_exc()
                results[kind] = f"{type(exc).__name__}: {exc}"
    for name, check in (("tokenizers", _tokenizers), ("huggingface_hub", _huggingface_hub),
                        ("onnxruntime", _onnxruntime)):
        try:
            results[name] = check()
        except Exception as exc:
            traceback.print_exc()
            results[name] = f"{type(exc).__name__}: {exc}"
    ok = all(value == "ok" for value in results.values())
    sys.stdout.write(json.dumps({"ok": ok, "frozen": bool(getattr(sys, "frozen", False)),
                                 **results}, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
