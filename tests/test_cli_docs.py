"""`hearth docs add|search|list|remove` and `hearth ask`: the real fixture documents, a real
index file in the test's data folder, the real test embedder and the tiny llama."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.core.catalog import load_catalog
from app.core.documents.embedders import default_embedder_folder, embedder_dest
from app.core.documents.index import INDEX_FILE, DocumentIndex
from app.core.paths import AppPaths
from tests.conftest import FIXTURES, TINY_LLAMA
from tests.embedders import minilm_folder

DOCS = FIXTURES / "documents"
AURORA = DOCS / "aurora_report.pdf"
IT_GUIDE_JA = DOCS / "it_guide_ja.pdf"
KEIRI_JA = DOCS / "経理規程.docx"
HANDBOOK = DOCS / "project_handbook.docx"
ONBOARDING = DOCS / "onboarding.md"


pytestmark = pytest.mark.usefixtures("restore_app_logging")


@pytest.fixture(scope="session")
def embedder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real test embedder laid out as a model folder (one per session: it loads once)."""
    return minilm_folder(tmp_path_factory.mktemp("embedders"))


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A folder of real documents, English and Japanese, with a damaged PDF among them."""
    folder = tmp_path / "library"
    (folder / "ja").mkdir(parents=True)
    for source in (AURORA, HANDBOOK):
        shutil.copy(source, folder)
    for source in (IT_GUIDE_JA, KEIRI_JA):
        shutil.copy(source, folder / "ja")
    # A real PDF cut short, as an interrupted download leaves it.
    (folder / "broken.pdf").write_bytes(AURORA.read_bytes()[:600])
    return folder


class Terminal(io.StringIO):
    """Standard error as a terminal shows it."""

    def isatty(self) -> bool:
        return True


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code, out, err = run(capsys, *argv, "--json")
    return code, json.loads(out), err


def by_name(files: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in files}


# --- add ------------------------------------------------------------------------------------------

def test_add_folder_indexes_each_file_and_reports_the_damaged_one(
        capsys: pytest.CaptureFixture[str], library: Path, embedder_dir: Path,
        app_paths: AppPaths) -> None:
    code, result, _ = run_json(capsys, "docs", "add", str(library), "--embedder",
                               str(embedder_dir))
    assert code == 1  # some failed, the others were added
    files = by_name(result["files"])
    assert set(files) == {"aurora_report.pdf", "project_handbook.docx", "it_guide_ja.pdf",
                          "経理規程.docx", "broken.pdf"}
    broken = files["broken.pdf"]
    assert broken["status"] == "failed"
    assert broken["error"].startswith("\u201cbroken.pdf\u201d is incomplete (truncated)")
    aurora = files["aurora_report.pdf"]
    assert set(aurora) == {"path", "name", "status", "document_id", "pages", "chunks", "error",
                           "warnings"}
    assert (aurora["path"], aurora["status"], aurora["pages"], aurora["error"]) == (
        str(library / "aurora_report.pdf"), "indexed", 4, None)
    assert aurora["chunks"] >= 1
    assert isinstance(aurora["document_id"], int)
    assert files["it_guide_ja.pdf"]["pages"] == 3
    assert files["経理規程.docx"]["pages"] is None
    assert files["経理規程.docx"]["chunks"] >= 1
    assert (result["indexed"], result["unchanged"], result["failed"]) == (4, 0, 1)
    assert result["search"] == "hybrid"
    assert result["embedder"].startswith("all-MiniLM-L6-v2@")
    # The index in the data folder holds them, with vectors and the failure's reason.
    with DocumentIndex.open(app_paths.data / INDEX_FILE) as index:
        records = {d.name: d for d in index.documents()}
    assert records["aurora_report.pdf"].embedder_id == result["embedder"]
    assert records["broken.pdf"].status == "failed"
    assert records["broken.pdf"].error == broken["error"]


def test_add_text_output_and_exit_codes(capsys: pytest.CaptureFixture[str], library: Path,
                                        tmp_path: Path) -> None:
    code, out, err = run(capsys, "docs", "add", str(library / "aurora_report.pdf"),
                         str(library / "broken.pdf"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("indexed    aurora_report.pdf  4 pages, ")
    assert lines[1].startswith("failed     \u201cbroken.pdf\u201d is incomplete (truncated)")
    assert lines[-1] == "1 indexed, 1 failed"
    # No embedder installed in this data folder: said once, on stderr.
    assert err.count("searched by their words only") == 1
    # Nothing could be added: exit 2.
    code, out, err = run(capsys, "docs", "add", str(library / "broken.pdf"))
    assert code == 2
    assert "is incomplete (truncated)" in out
    code, out, _ = run(capsys, "docs", "add", str(tmp_path / "no-such-file.pdf"))
    assert code == 2
    assert "no longer exists" in out
    # All good: exit 0.
    code, out, _ = run(capsys, "docs", "add", str(library / "project_handbook.docx"))
    assert code == 0
    assert out.splitlines()[-1] == "1 indexed"


def test_unchanged_files_are_not_read_again(capsys: pytest.CaptureFixture[str], library: Path,
                                            embedder_dir: Path, app_paths: AppPaths) -> None:
    notes = library / "notes.md"
    notes.write_text("# Notes\n\nThe spare pump arrives in May.\n", encoding="utf-8")
    args = ("docs", "add", str(library / "ja"), str(notes), "--embedder", str(embedder_dir))
    code, first, _ = run_json(capsys, *args)
    assert code == 0
    code, second, _ = run_json(capsys, *args)
    assert code == 0
    assert [f["status"] for f in second["files"]] == ["unchanged"] * 3
    assert [f["document_id"] for f in second["files"]] == [f["document_id"]
                                                           for f in first["files"]]
    assert (second["indexed"], second["unchanged"]) == (0, 3)
    # A changed file is read again and keeps its id; the new text is searchable.
    notes.write_text("# Notes\n\nThe spare pump arrives in June.\n", encoding="utf-8")
    code, third, _ = run_json(capsys, *args)
    statuses = {f["name"]: (f["status"], f["document_id"]) for f in third["files"]}
    old_id = by_name(first["files"])["notes.md"]["document_id"]
    assert statuses["notes.md"] == ("indexed", old_id)
    assert statuses["it_guide_ja.pdf"][0] == "unchanged"
    code, found, _ = run_json(capsys, "docs", "search", "June", "--embedder", str(embedder_dir))
    assert found["hits"][0]["file"] == "notes.md"
    assert "June" in found["hits"][0]["text"]


def test_progress_is_shown_on_a_terminal_only(capsys: pytest.CaptureFixture[str],
                                              library: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    real_stderr = sys.stderr
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["docs", "add", str(library / "ja"), str(library / "aurora_report.pdf")])
    assert code == 0
    shown = terminal.getvalue()
    # The arguments in order, a folder's files sorted.
    assert "\r\x1b[K[1/3] it_guide_ja.pdf: reading" in shown
    assert "[2/3] 経理規程.docx: reading" in shown
    assert "[3/3] aurora_report.pdf: reading" in shown
    assert "\r" not in capsys.readouterr().out
    # Only stderr goes back: undo() would also drop conftest's per-test data folder.
    monkeypatch.setattr(sys, "stderr", real_stderr)
    code, _, err = run(capsys, "docs", "add", str(AURORA))
    assert code == 0
    assert "[1/1]" not in err


def test_a_bad_embedder_folder_is_refused_clearly(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    code, out, err = run(capsys, "docs", "add", str(AURORA), "--embedder", str(empty))
    assert code == 2
    assert out == ""
    assert "has no tokenizer.json" in err


def test_an_index_from_a_newer_hearth_is_left_alone(capsys: pytest.CaptureFixture[str],
                                                    app_paths: AppPaths) -> None:
    app_paths.data.mkdir(parents=True, exist_ok=True)
    path = app_paths.data / INDEX_FILE
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    code, _, err = run(capsys, "docs", "add", str(AURORA))
    assert code == 2
    assert "newer version of Hearth" in err
    code, _, err = run(capsys, "docs", "list")
    assert code == 1
    assert "newer version of Hearth" in err
    assert path.read_bytes() == before


# --- search ---------------------------------------------------------------------------------------

def test_search_finds_facts_on_their_page(capsys: pytest.CaptureFixture[str], library: Path,
                                          embedder_dir: Path) -> None:
    run(capsys, "docs", "add", str(library), "--embedder", str(embedder_dir))
    code, found, _ = run_json(capsys, "docs", "search", "When was the coolant pump replaced?",
                              "--embedder", str(embedder_dir))
    assert code == 0
    assert found["search"] == "hybrid"
    top = found["hits"][0]
    assert (top["file"], top["page_start"], top["page_end"]) == ("aurora_report.pdf", 3, 3)
    assert "12 March 2024" in top["text"]
    assert top["heading"] == "3. Coolant System"
    assert top["lexical_rank"] is not None
    assert top["dense_rank"] is not None
    assert set(top) == {"rank", "document_id", "file", "path", "page_start", "page_end",
                        "heading", "score", "lexical_rank", "dense_rank", "text"}
    # Japanese two-character words (no spaces in the text) are found, on their page.
    code, found, _ = run_json(capsys, "docs", "search", "東京", "--embedder", str(embedder_dir))
    top = found["hits"][0]
    assert (top["file"], top["page_start"]) == ("it_guide_ja.pdf", 2)
    assert "東京支社" in top["text"]
    code, found, _ = run_json(capsys, "docs", "search", "出張", "--k", "1",
                              "--embedder", str(embedder_dir))
    assert len(found["hits"]) == 1
    assert found["hits"][0]["file"] == "経理規程.docx"
    assert found["hits"][0]["heading"] == "経費精算 > 交通費"
    # Plain text: the file, page and heading, then the passage.
    code, out, _ = run(capsys, "docs", "search", "Who approves new accounts?", "--k", "2",
                       "--embedder", str(embedder_dir))
    first, passage = out.splitlines()[:2]
    assert first.startswith("[1] project_handbook.docx  \u00b7 Project Handbook > "
                            "Getting started > Accounts  (")
    assert "Priya Natarajan" in passage


def test_search_without_an_embedder_is_lexical_and_says_so(
        capsys: pytest.CaptureFixture[str], library: Path) -> None:
    run(capsys, "docs", "add", str(library / "ja"))
    code, found, err = run_json(capsys, "docs", "search", "パスワード")
    assert code == 0
    assert (found["search"], found["embedder"]) == ("lexical", None)
    assert err.count("words only") == 1
    assert {(h["file"], h["page_start"]) for h in found["hits"]} >= {("it_guide_ja.pdf", 2)}
    assert all(h["dense_rank"] is None for h in found["hits"])
    code, out, _ = run(capsys, "docs", "search", "zeppelin")
    assert out == "nothing found for 'zeppelin'\n"
    code, _, err = run(capsys, "docs", "search", "  ")
    assert code == 2
    assert "empty" in err


def test_documents_added_without_the_embedder_are_found_by_words(
        capsys: pytest.CaptureFixture[str], embedder_dir: Path) -> None:
    run(capsys, "docs", "add", str(AURORA))
    code, found, err = run_json(capsys, "docs", "search", "coolant pump", "--embedder",
                                str(embedder_dir))
    assert found["search"] == "lexical"
    assert "1 of 1 documents were indexed without this embedding model" in err
    assert found["hits"][0]["page_start"] == 3
    # Adding again with the embedder embeds it.
    code, added, _ = run_json(capsys, "docs", "add", str(AURORA), "--embedder", str(embedder_dir))
    assert code == 0
    assert added["files"][0]["status"] == "indexed"
    code, found, err = run_json(capsys, "docs", "search", "coolant pump", "--embedder",
                                str(embedder_dir))
    assert code == 0
    assert found["search"] == "hybrid"
    assert err == ""


def test_the_downloaded_catalog_embedder_is_the_default(capsys: pytest.CaptureFixture[str],
                                                        app_paths: AppPaths) -> None:
    assert default_embedder_folder(app_paths) is None
    entry = load_catalog().embedders[0]
    # The test model stands in for the catalog's, in the folder the models pane downloads to,
    # with the settings file it writes (here: all-MiniLM's, which has no prefixes).
    folder = minilm_folder(embedder_dest(app_paths, entry.id).parent, name=entry.id)
    (folder / "hearth-embedder.json").write_text(json.dumps(
        {"query_prefix": "", "passage_prefix": "", "max_tokens": 256, "pooling": "mean"}),
        encoding="utf-8")
    assert default_embedder_folder(app_paths) == folder
    code, added, err = run_json(capsys, "docs", "add", str(AURORA))
    assert code == 0
    assert added["embedder"].startswith(f"{entry.id}@")
    assert "words only" not in err
    code, found, _ = run_json(capsys, "docs", "search", "reactor coolant")
    assert found["search"] == "hybrid"


def test_collections_scope_search_and_list(capsys: pytest.CaptureFixture[str], library: Path,
                                           embedder_dir: Path) -> None:
    emb = ("--embedder", str(embedder_dir))
    code, added, _ = run_json(capsys, "docs", "add", str(library / "ja"), "--collection",
                              "Japan office", *emb)
    assert added["collection"] == "Japan office"
    run(capsys, "docs", "add", str(library / "aurora_report.pdf"), *emb)
    code, found, _ = run_json(capsys, "docs", "search", "coolant pump", "--collection",
                              "japan OFFICE", *emb)
    assert code == 0
    assert found["collection"] == "Japan office"
    assert {h["file"] for h in found["hits"]} <= {"it_guide_ja.pdf", "経理規程.docx"}
    code, listed, _ = run_json(capsys, "docs", "list", "--collection", "Japan office")
    assert sorted(d["name"] for d in listed["documents"]) == ["it_guide_ja.pdf", "経理規程.docx"]
    assert listed["collections"] == [{"id": listed["collections"][0]["id"],
                                      "name": "Japan office", "documents": 2}]
    code, _, err = run(capsys, "docs", "search", "pump", "--collection", "Nowhere")
    assert code == 1
    assert "no collection named 'Nowhere' (there are: Japan office)" in err


# --- list and remove ------------------------------------------------------------------------------

def test_list_and_remove(capsys: pytest.CaptureFixture[str], library: Path) -> None:
    code, out, _ = run(capsys, "docs", "list")
    assert out == "no documents yet: `hearth docs add FILE_OR_FOLDER`\n"
    run(capsys, "docs", "add", str(library))
    code, listed, _ = run_json(capsys, "docs", "list")
    assert code == 0
    docs = {d["name"]: d for d in listed["documents"]}
    assert len(docs) == 5
    aurora = docs["aurora_report.pdf"]
    assert set(aurora) == {"id", "name", "path", "kind", "title", "status", "error", "pages",
                           "chunks", "size", "embedder", "warnings", "collections",
                           "added_at", "updated_at"}
    assert (aurora["kind"], aurora["status"], aurora["pages"], aurora["embedder"]) == (
        "pdf", "indexed", 4, None)
    assert aurora["size"] == AURORA.stat().st_size
    assert aurora["title"] == "Aurora Annual Maintenance Report 2024"
    assert aurora["added_at"][:4].isdigit()
    assert "T" in aurora["added_at"]
    assert docs["broken.pdf"]["status"] == "failed"
    assert "incomplete" in docs["broken.pdf"]["error"]
    code, out, _ = run(capsys, "docs", "list")
    rows = {line.split()[2].rstrip(":"): line for line in out.splitlines() if line.strip()}
    assert "4 p." in rows["aurora_report.pdf"]
    assert "(words only)" in rows["aurora_report.pdf"]
    assert "failed" in rows["broken.pdf"]

    # By id and by path (relative to where the command runs); the files themselves stay.
    code, removed, _ = run_json(capsys, "docs", "remove", str(aurora["id"]),
                                os.path.relpath(library / "ja" / "経理規程.docx"))
    assert code == 0
    assert sorted(r["name"] for r in removed["removed"]) == ["aurora_report.pdf", "経理規程.docx"]
    assert (library / "aurora_report.pdf").is_file()
    code, listed, _ = run_json(capsys, "docs", "list")
    assert "aurora_report.pdf" not in {d["name"] for d in listed["documents"]}
    code, found, _ = run_json(capsys, "docs", "search", "coolant pump")
    assert all(h["file"] != "aurora_report.pdf" for h in found["hits"])
    code, out, err = run(capsys, "docs", "remove", str(aurora["id"]))
    assert code == 1
    assert out == ""
    assert f"no document '{aurora['id']}' in the index" in err


# --- ask ------------------------------------------------------------------------------------------

def test_ask_json_cites_the_pages_it_read(capsys: pytest.CaptureFixture[str], library: Path,
                                          embedder_dir: Path) -> None:
    # The question may come last, after the files (--docs takes several).
    code, result, _ = run_json(
        capsys, "ask", "--model", str(TINY_LLAMA), "--provider", "cpu", "--max-tokens", "12",
        "--embedder", str(embedder_dir), "--docs", str(library / "aurora_report.pdf"),
        str(library / "ja"), "When was the coolant pump replaced?")
    assert code == 0
    assert set(result) >= {"answer", "reasoning", "sources", "mode", "tokens"}
    # The tiny model's context (512 tokens) cannot hold the documents whole.
    assert result["mode"] == "retrieved"
    assert result["search"] == "hybrid"
    first = result["sources"][0]
    assert (first["n"], first["file"], first["page_start"]) == (1, "aurora_report.pdf", 3)
    assert first["label"] == "aurora_report.pdf, p. 3"
    assert first["path"] == str(library / "aurora_report.pdf")
    assert 0 < result["tokens"]["context"] <= result["tokens"]["budget"]
    assert result["tokens"]["prompt"] > result["tokens"]["context"]
    assert 0 < result["tokens"]["generated"] <= 12
    assert isinstance(result["answer"], str)
    # The documents went into the app's index: asking again reads nothing new.
    code, listed, _ = run_json(capsys, "docs", "list")
    assert {d["name"] for d in listed["documents"]} == {"aurora_report.pdf", "it_guide_ja.pdf",
                                                        "経理規程.docx"}


def test_ask_streams_the_answer_then_the_sources(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    small = tmp_path / "pump.txt"
    small.write_text("The Aurora spare pump arrives on 3 May.\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "When does the spare pump arrive?", "--model",
                         str(TINY_LLAMA), "--provider", "cpu", "--max-tokens", "6",
                         "--docs", str(small), "--collection", "Spares")
    assert code == 0
    answer, _, sources = out.partition("\n\nSources:\n")
    assert answer.strip()
    assert sources == "[1] pump.txt\n"  # a text file has no pages
    # A small document is read whole; the collection then answers a later question alone.
    code, result, _ = run_json(capsys, "ask", "--model", str(TINY_LLAMA), "--provider", "cpu",
                               "--max-tokens", "4", "--collection", "Spares", "When?")
    assert result["mode"] == "whole"
    assert [s["file"] for s in result["sources"]] == ["pump.txt"]


def test_ask_when_nothing_matches_or_nothing_can_be_read(capsys: pytest.CaptureFixture[str],
                                                         library: Path) -> None:
    code, result, err = run_json(capsys, "ask", "--model", str(TINY_LLAMA), "--provider", "cpu",
                                 "--max-tokens", "4", "--docs", str(library / "aurora_report.pdf"),
                                 "zeppelin xylophone?")
    assert code == 0
    assert (result["mode"], result["sources"]) == ("nothing_found", [])
    assert "no passage of the documents matched" in err
    code, out, err = run(capsys, "ask", "--model", str(TINY_LLAMA), "--docs",
                         str(library / "broken.pdf"), "What is in it?")
    assert code == 1
    assert out == ""
    assert "not used: \u201cbroken.pdf\u201d is incomplete" in err
    assert "None of the documents could be read" in err
    code, _, err = run(capsys, "ask", "--model", str(TINY_LLAMA), "--docs", str(AURORA))
    assert code == 2
    assert "needs a question" in err


def test_ask_without_a_model_says_how_to_choose_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", "--docs", str(AURORA), "What?")
    assert code == 1
    assert out == ""
    assert "pass --model FOLDER" in err


# --- the installed command ------------------------------------------------------------------------

def test_installed_hearth_command_adds_documents(library: Path, app_paths: AppPaths) -> None:
    hearth = Path(sys.executable).parent / "hearth"
    if not hearth.is_file():
        pytest.skip("the hearth entry point is not installed (pip install -e .)")
    proc = subprocess.run([str(hearth), "docs", "add", str(library / "ja"), "--json"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "HEARTH_DATA_DIR": str(app_paths.data)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [f["status"] for f in result["files"]] == ["indexed", "indexed"]
    with DocumentIndex.for_paths(app_paths) as index:
        assert sorted(d.name for d in index.documents()) == ["it_guide_ja.pdf", "経理規程.docx"]
