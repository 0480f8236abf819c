"""The `hearth` command as a user runs it: a real process, the real runtime, the tiny models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from tests.conftest import TINY_GPTOSS, TINY_LLAMA


def hearth(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_version() -> None:
    proc = hearth("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"Hearth {__version__}"


@pytest.mark.parametrize("model", [TINY_LLAMA, TINY_GPTOSS], ids=["llama", "gptoss"])
def test_generate_json(model: Path) -> None:
    proc = hearth(
        "generate",
        "--model",
        str(model),
        "--prompt",
        "Hello",
        "--system",
        "Be brief",
        "--max-tokens",
        "12",
        "--provider",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {
        "text",
        "finish_reason",
        "provider",
        "prompt_tokens",
        "generated_tokens",
        "ttft_ms",
        "tok_s",
    } <= set(result)
    assert result["provider"] == "cpu"
    assert result["finish_reason"] in ("stop", "length")
    assert 0 < result["generated_tokens"] <= 12
    assert result["prompt_tokens"] > 0
    assert result["ttft_ms"] > 0


def test_generate_streams_plain_text() -> None:
    proc = hearth(
        "generate",
        "--model",
        str(TINY_LLAMA),
        "--prompt",
        "Hi",
        "--max-tokens",
        "8",
        "--provider",
        "cpu",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n")
    assert not proc.stdout.lstrip().startswith("{")


def test_generate_auto_reports_fallback_on_stderr() -> None:
    proc = hearth(
        "generate", "--model", str(TINY_LLAMA), "--prompt", "Hi", "--max-tokens", "4", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert "CUDA: not available" in proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["provider"] == "cpu"


def test_generate_bad_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = hearth("generate", "--model", str(tmp_path), "--prompt", "Hi")
    assert proc.returncode == 1
    assert "genai_config.json is missing" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_generate_missing_provider_is_a_clear_error() -> None:
    proc = hearth("generate", "--model", str(TINY_LLAMA), "--prompt", "Hi", "--provider", "cuda")
    assert proc.returncode == 1
    assert "CUDA: not available" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_generate_prompt_too_long() -> None:
    proc = hearth(
        "generate", "--model", str(TINY_LLAMA), "--prompt", "word " * 3000, "--provider", "cpu"
    )
    assert proc.returncode == 1
    assert "too long" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_selftest_json_with_model(tmp_path: Path) -> None:
    proc = hearth(
        "--data-dir",
        str(tmp_path / "data"),
        "selftest",
        "--json",
        "--model",
        str(TINY_LLAMA),
        "--provider",
        "cpu",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["ok"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert {"python", "runtime", "providers", "qt", "documents", "folders", "keyring",
            "model"} <= set(checks)
    assert checks["documents"]["status"] == "ok"
    assert checks["model"]["status"] == "ok"
    assert checks["qt"]["status"] == "ok"
    assert (tmp_path / "data").is_dir()


def test_selftest_fails_on_a_broken_model(tmp_path: Path) -> None:
    proc = hearth("selftest", "--model", str(tmp_path))
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout


def test_selftest_fails_on_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = hearth("--data-dir", str(blocker / "sub"), "selftest", "--json")
    assert proc.returncode == 1
    checks = {c["name"]: c for c in json.loads(proc.stdout.splitlines()[-1])["checks"]}
    assert checks["folders"]["status"] == "fail"


def test_japanese_paths_for_model_and_data(tmp_path: Path) -> None:
    # Japanese user names put non-ASCII characters in every path (a known runtime pitfall).
    model = tmp_path / "ユーザー" / "モデル"

    shutil.copytree(TINY_LLAMA, model)
    proc = hearth(
        "--data-dir",
        str(tmp_path / "データ"),
        "generate",
        "--model",
        str(model),
        "--prompt",
        "こんにちは",
        "--max-tokens",
        "4",
        "--provider",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["model"] == "モデル"
    assert result["generated_tokens"] > 0


def test_generate_gptoss_reports_reasoning_apart() -> None:
    proc = hearth(
        "generate",
        "--model",
        str(TINY_GPTOSS),
        "--prompt",
        "Hi",
        "--max-tokens",
        "16",
        "--provider",
        "cpu",
        "--reasoning",
        "high",
        "--show-reasoning",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert isinstance(result["reasoning"], str)
    assert isinstance(result["text"], str)
    assert "<|channel|>" not in result["text"]
    # Reasoning never reaches stdout; with --show-reasoning it streams to stderr.
    if result["reasoning"]:
        assert result["reasoning"].strip() in proc.stderr


def test_generate_rejects_unknown_reasoning_level() -> None:
    proc = hearth("generate", "--model", str(TINY_GPTOSS), "--prompt", "Hi", "--reasoning", "max")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
