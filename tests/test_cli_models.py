"""`hearth hardware` and `hearth models list`, run as a user runs them."""

from __future__ import annotations

import json

from tests.test_cli import hearth


def test_hardware_json() -> None:
    proc = hearth("hardware", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ram_total_bytes"] > 0
    assert "cpu" in data["providers"]
    assert isinstance(data["gpus"], list)
    assert isinstance(data["packages"], dict)
    fits = {f["id"]: f for f in data["fits"]}
    assert "gpt-oss-20b" in fits
    for fit in fits.values():
        assert fit["verdict"] in ("gpu", "cpu", "no")
        assert fit["reason"]
    assert data["recommended"] is None or data["recommended"] in fits


def test_hardware_text() -> None:
    proc = hearth("hardware")
    assert proc.returncode == 0, proc.stderr
    assert "memory" in proc.stdout
    assert "providers" in proc.stdout
    assert "gpt-oss-20b" in proc.stdout


def test_models_list_json() -> None:
    proc = hearth("models", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["installed"] == [], "a fresh data folder has no installed models"
    models = {m["id"]: m for m in data["models"]}
    gpt = models["gpt-oss-20b"]
    assert gpt["repo"] == "onnxruntime/gpt-oss-20b-onnx"
    assert gpt["reply_format"] == "harmony"
    assert gpt["description"]["ja"]
    providers = {p for v in gpt["variants"] for p in v["providers"]}
    assert {"cuda", "cpu"} <= providers
    assert "dml" not in providers
    assert gpt["fit"]["verdict"] in ("gpu", "cpu", "no")
    assert all(v["size_bytes"] > 0 for v in gpt["variants"])


def test_models_list_text() -> None:
    proc = hearth("models", "list")
    assert proc.returncode == 0, proc.stderr
    assert "phi-4-mini-instruct" in proc.stdout
    assert "recommended:" in proc.stdout or "no model" in proc.stdout


def test_models_needs_an_action() -> None:
    assert hearth("models").returncode == 2
