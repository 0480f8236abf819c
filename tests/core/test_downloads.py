"""Model downloads with the real huggingface_hub client against a real hub server on loopback.

Each test starts its own `tests.hub_server.HubServer` (serving the committed tiny models in the
layout of the real repos) and downloads into its own data folder. Network drops, a killed
process, a full disk, corrupted bytes and gated repos are all real: a server that cuts the
socket, a SIGKILLed child process, a tmpfs that fills up, flipped bytes on the wire, tokens
checked by the server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core import downloads
from app.core.chat import CancelToken
from app.core.downloads import (
    DownloadPlan,
    DownloadProgress,
    DownloadStopped,
    RemoteFile,
    discard_partial,
    download_model,
    partial_bytes,
    partial_dir,
    plan_download,
    search_models,
    verify_files,
)
from app.core.engine import load_model
from app.core.errors import DownloadError, OfflineError
from app.core.paths import AppPaths
from tests.conftest import TINY_GPTOSS, TINY_LLAMA
from tests.hub_server import (
    GPTOSS_REPO,
    GPTOSS_SUBFOLDER,
    LLAMA_REPO,
    LLAMA_SUBFOLDER,
    HubRepo,
    HubServer,
    default_repos,
    git_blob_sha1,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = f"{LLAMA_SUBFOLDER}/model.onnx.data"
DATA_SIZE = (TINY_LLAMA / "model.onnx.data").stat().st_size
LLAMA_TOTAL = sum(p.stat().st_size for p in TINY_LLAMA.iterdir())
GATED_REPO = "hearth-test/gated-llama-onnx"
GOOD_TOKEN = "hf_TestTokenWithAccess123"


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer() as server:
        yield server


@pytest.fixture
def dest(app_paths: AppPaths) -> Path:
    return app_paths.models / "tiny-llama-onnx"


def same_files(folder: Path, reference: Path) -> bool:
    names = sorted(p.name for p in folder.iterdir())
    return names == sorted(p.name for p in reference.iterdir()) and all(
        (folder / n).read_bytes() == (reference / n).read_bytes() for n in names)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def llama_plan(hub: HubServer, only: list[str] | None = None) -> DownloadPlan:
    return plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, endpoint=hub.url, only=only)


# -- planning ---------------------------------------------------------------------------------


def test_plan_lists_the_subfolder_with_sizes_and_checksums(hub: HubServer) -> None:
    plan = llama_plan(hub)
    assert plan.revision == hub.repos[LLAMA_REPO].commit
    assert plan.subfolder == LLAMA_SUBFOLDER
    assert [f.path for f in plan.files] == sorted(p.name for p in TINY_LLAMA.iterdir())
    assert plan.total_bytes == LLAMA_TOTAL
    for remote in plan.files:
        local = TINY_LLAMA / remote.path
        assert remote.size == local.stat().st_size
        if remote.path.endswith((".onnx", ".data", "tokenizer.json")):
            assert remote.sha256 == sha256(local)  # LFS: checked by sha256
        else:
            assert remote.sha256 is None
            assert remote.blob_id == git_blob_sha1(local.read_bytes())  # regular git blob


def test_plan_only_restricts_to_named_files(hub: HubServer) -> None:
    plan = llama_plan(hub, only=["genai_config.json", "tokenizer.json"])
    assert [f.path for f in plan.files] == ["genai_config.json", "tokenizer.json"]
    with pytest.raises(DownloadError, match=r"no missing\.bin"):
        llama_plan(hub, only=["missing.bin"])


def test_unknown_subfolder_names_the_folders_that_hold_a_model(hub: HubServer) -> None:
    with pytest.raises(DownloadError) as caught:
        plan_download(LLAMA_REPO, "cuda/cuda-int4", endpoint=hub.url)
    assert "cuda/cuda-int4" in caught.value.user_message
    assert LLAMA_SUBFOLDER in caught.value.user_message


def test_unknown_repo_and_revision_are_clear(hub: HubServer) -> None:
    with pytest.raises(DownloadError, match="no model 'nobody/nothing'") as caught:
        plan_download("nobody/nothing", "cpu", endpoint=hub.url)
    assert "token" in caught.value.user_message  # it may be private
    with pytest.raises(DownloadError, match="no branch, tag or commit 'v9'"):
        plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, revision="v9", endpoint=hub.url)
    with pytest.raises(DownloadError, match="not a Hugging Face repository name"):
        plan_download("not a repo", "", endpoint=hub.url)


def test_no_network_is_a_clear_error_at_once() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"can't reach 127\.0\.0\.1"):
        plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError, match=r"can't reach 127\.0\.0\.1"):
        search_models("llama", endpoint=f"http://127.0.0.1:{port}")
    # No back-off retries before telling the user (huggingface_hub's list_models waits ~20 s).
    assert time.monotonic() - started < 5


# -- downloading ------------------------------------------------------------------------------


def test_download_installs_only_the_subfolder_and_the_model_loads(hub: HubServer,
                                                                   dest: Path) -> None:
    reports: list[DownloadProgress] = []
    result = download_model(llama_plan(hub), dest, endpoint=hub.url, progress=reports.append)
    assert result.folder == dest
    assert same_files(dest, TINY_LLAMA)  # the sub-folder's files at the root, nothing else
    assert not hub.requests_for("README.md")  # the repo's README is not fetched
    assert {f.path: f.sha256 for f in result.files} == {
        p.name: sha256(p) for p in TINY_LLAMA.iterdir()}
    assert (result.fetched_bytes, result.resumed_bytes) == (LLAMA_TOTAL, 0)
    assert (result.repo, result.subfolder) == (LLAMA_REPO, LLAMA_SUBFOLDER)
    assert not (dest.parent / downloads.PARTIAL_DIR).exists()
    assert not any(r.authorized for r in hub.requests)  # no token: no credentials sent
    assert reports[-1].done_bytes == reports[-1].total_bytes == LLAMA_TOTAL
    assert reports[-1].files_done == reports[-1].files_total == 7
    assert [r.done_bytes for r in reports] == sorted(r.done_bytes for r in reports)
    assert verify_files(dest, result.files) == []
    model = load_model(dest, "cpu")
    assert model.provider == "cpu"


def test_download_gptoss_int4_build(hub: HubServer, app_paths: AppPaths) -> None:
    target = app_paths.models / "tiny-gptoss"
    plan = plan_download(GPTOSS_REPO, GPTOSS_SUBFOLDER, endpoint=hub.url)
    download_model(plan, target, endpoint=hub.url)
    assert same_files(target, TINY_GPTOSS)
    assert verify_files(target, plan.files) == []


def test_existing_destination_is_never_overwritten(hub: HubServer, dest: Path) -> None:
    dest.mkdir(parents=True)
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(DownloadError, match="already exists"):
        download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert (dest / "keep.txt").read_text() == "mine"
    assert not hub.bytes_served


def test_connection_cut_mid_file_resumes_with_a_range_request(hub: HubServer,
                                                              dest: Path) -> None:
    hub.cut_after[DATA] = 300_000
    result = download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert same_files(dest, TINY_LLAMA)
    first, second = hub.requests_for(DATA)
    assert (first.start, first.bytes_sent) == (0, 300_000)
    assert 0 < second.start <= 300_000
    assert second.range_header == f"bytes={second.start}-"
    assert second.bytes_sent == DATA_SIZE - second.start  # the early bytes came only once
    assert result.fetched_bytes == LLAMA_TOTAL  # every byte written once


@pytest.mark.slow
def test_killed_process_resumes_without_fetching_again(hub: HubServer, dest: Path) -> None:
    hub.throttle_bps = 150_000
    part = partial_dir(dest) / ("model.onnx.data" + downloads.INCOMPLETE_SUFFIX)
    env = {**os.environ, "HF_ENDPOINT": hub.url, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "tests.download_child", LLAMA_REPO,
                              LLAMA_SUBFOLDER, str(dest)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size >= 100_000):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never got going"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()  # reaps it and closes the pipes
    assert child.returncode == -signal.SIGKILL
    assert not dest.exists()
    kept = part.stat().st_size
    assert 100_000 <= kept < DATA_SIZE
    served_before = {f: len(hub.requests_for(f)) for f in hub.bytes_served}

    hub.throttle_bps = None
    result = download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert same_files(dest, TINY_LLAMA)
    resumed = hub.requests_for(DATA)[-1]
    assert (resumed.start, resumed.range_header) == (kept, f"bytes={kept}-")
    assert resumed.bytes_sent == DATA_SIZE - kept
    assert sum(r.start == 0 for r in hub.requests_for(DATA)) == 1
    # Files the child had finished were not requested again.
    for name in ("build_info.json", "chat_template.jinja", "genai_config.json", "model.onnx"):
        path = f"{LLAMA_SUBFOLDER}/{name}"
        assert len(hub.requests_for(path)) == served_before[path] == 1
    assert result.resumed_bytes >= kept
    assert result.fetched_bytes == LLAMA_TOTAL - result.resumed_bytes


def stop_during_data(cancel: CancelToken, after: int,
                     reports: list[DownloadProgress]) -> Callable[[DownloadProgress], None]:
    def on_progress(report: DownloadProgress) -> None:
        reports.append(report)
        if report.current_file == "model.onnx.data" and report.done_bytes > after:
            cancel.cancel()
    return on_progress


@pytest.mark.slow
def test_pause_keeps_the_bytes_and_resume_continues(hub: HubServer, dest: Path) -> None:
    hub.throttle_bps = 400_000
    cancel = CancelToken()
    reports: list[DownloadProgress] = []
    started = time.monotonic()
    with pytest.raises(DownloadStopped) as caught:
        download_model(llama_plan(hub), dest, endpoint=hub.url, cancel=cancel,
                       progress=stop_during_data(cancel, 200_000, reports))
    elapsed = time.monotonic() - started
    assert not dest.exists()
    kept = partial_bytes(dest)
    assert caught.value.done_bytes == kept > 200_000
    assert len(reports) <= elapsed * 10 + 3  # progress is throttled to ~10 reports/s
    assert reports[-1].bytes_per_s > 0
    assert reports[-1].eta_s is not None

    hub.throttle_bps = None
    result = download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert same_files(dest, TINY_LLAMA)
    assert result.resumed_bytes == kept
    assert result.fetched_bytes == LLAMA_TOTAL - kept
    resumed = hub.requests_for(DATA)[-1]
    assert resumed.start > 0
    assert resumed.bytes_sent == DATA_SIZE - resumed.start


@pytest.mark.slow
def test_cancel_then_discard_leaves_nothing(hub: HubServer, dest: Path) -> None:
    hub.throttle_bps = 400_000
    cancel = CancelToken()
    with pytest.raises(DownloadStopped):
        download_model(llama_plan(hub), dest, endpoint=hub.url, cancel=cancel,
                       progress=stop_during_data(cancel, 100_000, []))
    assert partial_bytes(dest) > 0
    assert discard_partial(dest) is True
    assert list(dest.parent.iterdir()) == []  # no model, no .partial folder
    assert partial_bytes(dest) == 0
    assert discard_partial(dest) is False


def test_corrupted_file_is_caught_and_nothing_is_installed(hub: HubServer, dest: Path) -> None:
    bad = f"{LLAMA_SUBFOLDER}/tokenizer.json"
    hub.corrupt.add(bad)
    with pytest.raises(DownloadError, match=r"tokenizer\.json was corrupted in transfer"):
        download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert not dest.exists()
    staging = partial_dir(dest)
    assert not list(staging.glob("tokenizer.json*"))  # the bad bytes are gone
    assert (staging / "model.onnx.data").is_file()  # the good files are kept

    # As if killed before the state was saved: finished files are known by their checksums.
    (staging / downloads.STATE_FILE).unlink()
    hub.corrupt.clear()
    result = download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert same_files(dest, TINY_LLAMA)
    # Only the corrupted file and the one after it (never reached) are fetched again.
    assert result.fetched_bytes == sum((TINY_LLAMA / n).stat().st_size
                                       for n in ("tokenizer.json", "tokenizer_config.json"))
    assert len(hub.requests_for(DATA)) == 1


@pytest.mark.slow
def test_disk_filling_up_during_download_is_clear_and_resumable(hub: HubServer,
                                                                 tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "24m") as disk:
        target = disk / "models" / "tiny-llama-onnx"
        filler = disk / "filler"

        def fill_disk(report: DownloadProgress) -> None:
            # Another program takes the space after the free-space check passed.
            if not filler.exists():
                left = shutil.disk_usage(disk).free - 100_000
                with filler.open("wb") as fh:
                    for _ in range(left // 1_000_000):
                        fh.write(b"\0" * 1_000_000)
                    fh.write(b"\0" * (left % 1_000_000))

        with pytest.raises(DownloadError, match="disk is full") as caught:
            download_model(llama_plan(hub), target, endpoint=hub.url, progress=fill_disk)
        assert "kept" in caught.value.user_message
        assert not target.exists()
        kept = partial_bytes(target)
        assert kept > 0

        filler.unlink()
        result = download_model(llama_plan(hub), target, endpoint=hub.url)
        assert same_files(target, TINY_LLAMA)
        assert result.resumed_bytes == kept


def test_free_space_check_refuses_before_fetching(hub: HubServer, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "600k") as disk:
        target = disk / "models" / "tiny-llama-onnx"
        with pytest.raises(DownloadError, match="Not enough free disk space") as caught:
            download_model(llama_plan(hub), target, endpoint=hub.url)
        assert "free" in caught.value.user_message
        assert not hub.bytes_served  # refused before the first byte
        assert not target.exists()
        assert not (disk / "models" / downloads.PARTIAL_DIR).exists()


def test_lost_connection_keeps_the_partial_download(hub: HubServer, dest: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(downloads, "RETRY_WAIT_S", 0.01)  # the retries themselves stay real
    hub.throttle_bps = 400_000

    def pull_the_plug(report: DownloadProgress) -> None:
        if report.current_file == "model.onnx.data" and report.done_bytes > 100_000:
            hub.stop()  # the server goes away mid-file, for good

    with pytest.raises(DownloadError, match=r"can't reach 127\.0\.0\.1") as caught:
        download_model(llama_plan(hub), dest, endpoint=hub.url, progress=pull_the_plug)
    assert "continues where it stopped" in caught.value.user_message
    assert not dest.exists()
    assert partial_bytes(dest) > 100_000


def test_new_commit_discards_bytes_staged_for_the_old_one(hub: HubServer, dest: Path) -> None:
    hub.corrupt.add(f"{LLAMA_SUBFOLDER}/tokenizer_config.json")  # fail after staging the rest
    with pytest.raises(DownloadError):
        download_model(llama_plan(hub), dest, endpoint=hub.url)
    assert partial_bytes(dest) > 0
    changed = HubRepo.build(LLAMA_REPO, {LLAMA_SUBFOLDER: TINY_LLAMA},
                            {"README.md": b"# updated\n"})
    with HubServer([changed]) as newer:
        plan = plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, endpoint=newer.url)
        assert plan.revision != hub.repos[LLAMA_REPO].commit
        result = download_model(plan, dest, endpoint=newer.url)
    assert result.resumed_bytes == 0
    assert same_files(dest, TINY_LLAMA)


# -- tokens and gated repos -------------------------------------------------------------------


@pytest.fixture
def gated_hub() -> Iterator[HubServer]:
    repos = [HubRepo.build(GATED_REPO, {LLAMA_SUBFOLDER: TINY_LLAMA}, gated=True)]
    with HubServer(repos, tokens={GOOD_TOKEN: None, "hf_NoAccessToken": ()}) as server:
        yield server


def test_gated_repo_without_token_asks_for_one(gated_hub: HubServer) -> None:
    with pytest.raises(DownloadError) as caught:
        plan_download(GATED_REPO, LLAMA_SUBFOLDER, endpoint=gated_hub.url)
    message = caught.value.user_message
    assert "token" in message
    assert "licence" in message
    assert "Settings" in message
    assert not gated_hub.bytes_served


def test_gated_repo_with_token_downloads(gated_hub: HubServer, dest: Path) -> None:
    plan = plan_download(GATED_REPO, LLAMA_SUBFOLDER, token=GOOD_TOKEN, endpoint=gated_hub.url)
    download_model(plan, dest, token=GOOD_TOKEN, endpoint=gated_hub.url)
    assert same_files(dest, TINY_LLAMA)
    assert all(r.authorized for r in gated_hub.requests)
    # The token is not written anywhere in the installed model.
    assert not any(GOOD_TOKEN.encode() in p.read_bytes() for p in dest.rglob("*"))


@pytest.mark.parametrize(("token", "expected"), [
    ("hf_NoAccessToken", "does not have access"),
    ("hf_WrongToken999", "refused your token"),
])
def test_refused_tokens_are_clear_and_never_quoted(gated_hub: HubServer, token: str,
                                                   expected: str) -> None:
    with pytest.raises(DownloadError, match=expected) as caught:
        plan_download(GATED_REPO, LLAMA_SUBFOLDER, token=token, endpoint=gated_hub.url)
    assert token not in caught.value.user_message
    assert token not in caught.value.detail


# -- offline mode -----------------------------------------------------------------------------


def test_offline_mode_makes_no_connection_at_all(hub: HubServer, dest: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def counting_connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting_connect)
    plan = DownloadPlan(LLAMA_REPO, LLAMA_SUBFOLDER, "0" * 40,
                        (RemoteFile("genai_config.json", 10, None, "0" * 40),), 10)
    with pytest.raises(OfflineError, match="Offline mode is on"):
        plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, offline=True, endpoint=hub.url)
    with pytest.raises(OfflineError):
        download_model(plan, dest, offline=True, endpoint=hub.url)
    with pytest.raises(OfflineError):
        search_models("llama", offline=True, endpoint=hub.url)
    assert attempts == []
    assert hub.connections == 0
    assert not dest.exists()
    assert not partial_dir(dest).exists()


# -- search and verify ------------------------------------------------------------------------


def test_search_puts_loadable_builds_first(tmp_path: Path) -> None:
    transformers_js = HubRepo.build("someone/tiny-llama-transformersjs",
                                    extra={"onnx/model.onnx": b"not really", "config.json": b"{}"},
                                    tags=("onnx", "transformers.js"), downloads=10_000)
    not_onnx = HubRepo.build("someone/tiny-llama-gguf", extra={"model.gguf": b"x"},
                             tags=("gguf",), downloads=50_000)
    with HubServer([*default_repos(), transformers_js, not_onnx]) as server:
        found = search_models("tiny", endpoint=server.url)
        assert [m.repo for m in found] == [LLAMA_REPO, GPTOSS_REPO,
                                           "someone/tiny-llama-transformersjs"]
        assert found[0].genai_subfolders == (LLAMA_SUBFOLDER,)
        assert found[0].loadable
        assert not found[2].loadable
        assert found[0].downloads == 120
        assert "onnx" in found[0].tags
        assert [m.repo for m in search_models("gptoss", endpoint=server.url)] == [GPTOSS_REPO]
        assert len(search_models("tiny", endpoint=server.url, limit=1)) == 1


def test_verify_files_reports_each_problem(hub: HubServer, dest: Path) -> None:
    plan = llama_plan(hub)
    result = download_model(plan, dest, endpoint=hub.url)
    assert verify_files(dest, plan.files) == []
    (dest / "genai_config.json").unlink()
    with (dest / "model.onnx.data").open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff\xfe")
    (dest / "tokenizer_config.json").write_text("{}")
    problems = verify_files(dest, result.files)
    assert problems == [
        "genai_config.json is missing.",
        "model.onnx.data does not match its checksum (damaged or modified).",
        "tokenizer_config.json has 2 bytes instead of 420.",
    ]
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(DownloadStopped):
        verify_files(dest, result.files, cancel=cancel)
