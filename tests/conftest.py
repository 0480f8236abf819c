"""Shared fixtures: offscreen Qt, per-test data folders, and the committed tiny models."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.engine import LoadedModel, load_model
from app.core.paths import DATA_DIR_ENV, AppPaths

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
TINY_LLAMA = MODELS / "tiny-llama"
TINY_GPTOSS = MODELS / "tiny-gptoss"


@pytest.fixture(scope="session", autouse=True)
def real_folders_untouched() -> Iterator[None]:
    """No test may write to the user's real Hearth folders (a leaked override once did)."""
    saved = os.environ.pop(DATA_DIR_ENV, None)
    try:
        real = AppPaths.from_env()
    finally:
        if saved is not None:
            os.environ[DATA_DIR_ENV] = saved
    folders = (real.data, real.config, real.logs)
    before = {f: f.exists() for f in folders}
    yield
    created = [str(f) for f in folders if f.exists() and not before[f]]
    assert not created, f"tests wrote to the real app folders: {created}"


@pytest.fixture(autouse=True)
def app_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    """Every test keeps data, settings and logs under its own tmp folder."""
    root = tmp_path / "hearth-data"
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return AppPaths.from_env(root)


@pytest.fixture
def restore_app_logging() -> Iterator[None]:
    """For tests that call app.cli.main in-process: main() points the app's log at the test's
    folder; put the handlers and level back afterwards."""
    logger = logging.getLogger("app")
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.setLevel(level)


@pytest.fixture(scope="session")
def llama() -> LoadedModel:
    """The tiny ChatML llama, loaded once per session on the CPU."""
    return load_model(TINY_LLAMA, "cpu")


@pytest.fixture(scope="session")
def gptoss() -> LoadedModel:
    """The tiny gpt-oss (harmony tokens, int4 QMoE), loaded once per session on the CPU."""
    return load_model(TINY_GPTOSS, "cpu")


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny llama folder, for tests that damage it."""
    dest = tmp_path / "model-copy"
    shutil.copytree(TINY_LLAMA, dest)
    return dest
