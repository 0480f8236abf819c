"""`hearth generate --save` and `hearth conversations ...` as real processes on a real store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.store import STORE_FILE, Store
from tests.conftest import TINY_GPTOSS, TINY_LLAMA


def hearth(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data), *args],
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def generate(data: Path, prompt: str, *extra: str,
             model: Path = TINY_LLAMA) -> subprocess.CompletedProcess[str]:
    return hearth(data, "generate", "--model", str(model), "--provider", "cpu", "--save",
                  "--prompt", prompt, "--max-tokens", "16", *extra)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "データ"  # a Japanese folder name, as under a Japanese user name


def test_generate_save_prints_the_conversation_and_stores_the_exchange(data: Path) -> None:
    proc = generate(data, "Hello from the CLI", "--system", "Be brief")
    assert proc.returncode == 0, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("conversation: ")
    cid = int(line.split()[-1])
    with Store.open(data / STORE_FILE) as store:
        conv = store.get_conversation(cid)
        assert conv.title == "Hello from the CLI"
        assert conv.model_name == "tiny-llama"
        assert Path(conv.model_path) == TINY_LLAMA
        assert conv.settings.system_prompt == "Be brief"
        assert conv.settings.max_new_tokens == 16
        assert conv.settings.temperature == 0.0
        user, reply = store.path(cid)
        assert (user.role, user.content) == ("user", "Hello from the CLI")
        assert reply.role == "assistant"
        assert reply.status == "complete"
        assert reply.finish_reason in ("stop", "length")
        assert reply.content == proc.stdout.rstrip("\n")
        assert reply.token_ids is not None
        assert 0 < len(reply.token_ids) <= 16
        assert reply.figures["model"] == "tiny-llama"
        assert reply.figures["generated_tokens"] == len(reply.token_ids)


def test_generate_save_json_includes_the_conversation_id(data: Path) -> None:
    proc = generate(data, "東京の天気", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert "conversation: " not in proc.stderr
    with Store.open(data / STORE_FILE) as store:
        reply = store.path(out["conversation_id"])[-1]
        assert reply.content == out["text"]
        assert [h.conversation_id for h in store.search("東京")] == [out["conversation_id"]]


def test_generate_without_save_stores_nothing(data: Path) -> None:
    proc = hearth(data, "generate", "--model", str(TINY_LLAMA), "--provider", "cpu",
                  "--prompt", "Hi", "--max-tokens", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "conversation_id" not in json.loads(proc.stdout.splitlines()[-1])
    assert not (data / STORE_FILE).exists()


def test_generate_save_keeps_reasoning_apart(data: Path) -> None:
    proc = generate(data, "Hi", "--json", "--reasoning", "high", model=TINY_GPTOSS)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    with Store.open(data / STORE_FILE) as store:
        reply = store.path(out["conversation_id"])[-1]
        assert (reply.content, reply.reasoning) == (out["text"], out["reasoning"])
        assert store.get_conversation(out["conversation_id"]).settings.reasoning_effort == "high"


def test_generate_save_of_a_prompt_too_long_records_the_error(data: Path) -> None:
    proc = generate(data, "word " * 3000)
    assert proc.returncode == 1
    assert "too long" in proc.stderr
    assert "Traceback" not in proc.stderr
    with Store.open(data / STORE_FILE) as store:
        [entry] = store.list_conversations()
        user, reply = store.path(entry.id)
        assert user.content.startswith("word word")  # the user's text is never lost
        assert reply.status == "error"
        assert "too long" in reply.error


def test_generate_save_with_a_bad_model_creates_no_conversation(data: Path,
                                                                tmp_path: Path) -> None:
    proc = hearth(data, "generate", "--model", str(tmp_path), "--prompt", "Hi", "--save")
    assert proc.returncode == 1
    assert "genai_config.json is missing" in proc.stderr
    with Store.open(data / STORE_FILE) as store:
        assert store.list_conversations() == []


def test_generate_save_on_an_unwritable_data_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = generate(blocker / "sub", "Hi")
    assert proc.returncode == 1
    assert "cannot write its conversation history" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def saved(data: Path) -> list[int]:
    ids = []
    for prompt in ("First question about Python", "二つ目の質問、設定について"):
        proc = generate(data, prompt, "--json")
        assert proc.returncode == 0, proc.stderr
        ids.append(json.loads(proc.stdout.splitlines()[-1])["conversation_id"])
    return ids


def test_conversations_list(data: Path, saved: list[int]) -> None:
    proc = hearth(data, "conversations", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Today"
    assert lines[1].split(maxsplit=1) == [str(saved[1]), "二つ目の質問、設定について"]
    assert lines[2].split(maxsplit=1) == [str(saved[0]), "First question about Python"]

    listed = json.loads(hearth(data, "conversations", "list", "--json").stdout)
    assert [c["id"] for c in listed] == saved[::-1]
    assert {c["group"] for c in listed} == {"Today"}
    assert listed[0]["model"] == "tiny-llama"


def test_conversations_show_and_json(data: Path, saved: list[int]) -> None:
    proc = hearth(data, "conversations", "show", str(saved[0]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# First question about Python\n")
    assert "## User\n\nFirst question about Python" in proc.stdout
    assert "## Assistant" in proc.stdout

    shown = json.loads(hearth(data, "conversations", "show", str(saved[0]), "--json").stdout)
    [conv] = shown["conversations"]
    assert conv["id"] == saved[0]
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]
    assert "reasoning" not in conv["messages"][1]
    with_reasoning = json.loads(hearth(data, "conversations", "show", str(saved[0]), "--json",
                                       "--reasoning").stdout)
    assert "reasoning" in with_reasoning["conversations"][0]["messages"][1]


def test_conversations_export(data: Path, saved: list[int], tmp_path: Path) -> None:
    md = hearth(data, "conversations", "export", str(saved[1]), "--format", "md")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# 二つ目の質問、設定について")

    out = tmp_path / "エクスポート.json"
    proc = hearth(data, "conversations", "export", "--all", "--format", "json", "--reasoning",
                  "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    data_out = json.loads(out.read_text(encoding="utf-8"))
    assert [c["id"] for c in data_out["conversations"]] == saved[::-1]
    assert "reasoning" in data_out["conversations"][0]["messages"][1]

    all_md = hearth(data, "conversations", "export", "--all", "--format", "md").stdout
    assert "# First question about Python" in all_md
    assert "# 二つ目の質問、設定について" in all_md


def test_conversations_search(data: Path, saved: list[int]) -> None:
    found = json.loads(hearth(data, "conversations", "search", "設定", "--json").stdout)
    assert [h["conversation_id"] for h in found] == [saved[1]]
    text = hearth(data, "conversations", "search", "python").stdout
    assert text.split()[0] == str(saved[0])
    assert json.loads(hearth(data, "conversations", "search", "大阪", "--json").stdout) == []


def test_conversations_errors(data: Path, saved: list[int]) -> None:
    proc = hearth(data, "conversations", "show", "999")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "hearth: There is no conversation 999."
    assert hearth(data, "conversations", "export").returncode == 2  # an id or --all
    assert hearth(data, "conversations", "export", "1", "--all").returncode == 2
    assert hearth(data, "conversations").returncode == 2


def test_conversations_on_a_damaged_file_keeps_a_copy(data: Path) -> None:
    data.mkdir(parents=True)
    (data / STORE_FILE).write_bytes(b"\x00garbage" * 512)
    proc = hearth(data, "conversations", "list")
    assert proc.returncode == 0, proc.stderr
    assert "damaged" in proc.stderr
    assert "was kept as" in proc.stderr
    assert len(list(data.glob(f"{STORE_FILE}.corrupt-*"))) == 1


def test_conversations_refuses_a_newer_file(data: Path) -> None:
    data.mkdir(parents=True)
    with sqlite3.connect(data / STORE_FILE) as db:
        db.execute("PRAGMA user_version = 99")
    proc = hearth(data, "conversations", "list")
    assert proc.returncode == 1
    assert "newer version of Hearth" in proc.stderr
    assert "Traceback" not in proc.stderr
