"""Download benchmark: Hearth's resumable fetch vs huggingface_hub's own hf_hub_download.

    python benchmarks/downloads.py [--mb 256]

Serves one random file of `--mb` megabytes (an LFS file) from `tests.hub_server.HubServer` on
loopback and downloads it with both. Loopback has no network limit, so the figures show the
client-side cost per byte (hashing, writing, progress), not what a real line gives. Progress goes
to stderr; the last line of stdout is one JSON object.

Figures:
- hearth_mb_s: `download_model` (stream + sha256 + write + verify + install), MB/s.
- hf_hub_download_mb_s: `hf_hub_download(local_dir=...)` of the same file (no checksum), MB/s.
- ratio: hearth_mb_s / hf_hub_download_mb_s.
- pause_latency_ms: from setting the CancelToken (inside a progress report) to DownloadStopped,
  with the server throttled to 20 MB/s (median of 5).
- resume_overhead_ms: time from `download_model` start to its first fetched byte when resuming
  at half the file (hashing the staged half), i.e. what a resume costs before data flows.
- progress_reports_per_s: progress callbacks per second during the full-speed download.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.chat import CancelToken
from app.core.downloads import (
    DownloadProgress,
    DownloadStopped,
    download_model,
    partial_dir,
    plan_download,
)
from tests.hub_server import HubRepo, HubServer

REPO = "bench/big-onnx"
SUB = "cpu"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=256)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hearth-dl-bench-"))
    try:
        src = work / "src"
        src.mkdir()
        size = args.mb * 1_000_000
        with (src / "model.onnx.data").open("wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(1_000_000))
        (src / "genai_config.json").write_text("{}")
        log(f"serving {args.mb} MB")
        with HubServer([HubRepo.build(REPO, {SUB: src})]) as hub:
            plan = plan_download(REPO, SUB, endpoint=hub.url)

            reports: list[float] = []
            dest = work / "models" / "hearth"
            t0 = time.perf_counter()
            download_model(plan, dest, endpoint=hub.url,
                           progress=lambda p: reports.append(time.perf_counter()))
            hearth_s = time.perf_counter() - t0
            log(f"hearth: {hearth_s:.2f} s")

            from huggingface_hub import hf_hub_download

            t0 = time.perf_counter()
            hf_hub_download(REPO, "model.onnx.data", subfolder=SUB, endpoint=hub.url,
                            local_dir=work / "hf", token=False)
            hf_s = time.perf_counter() - t0
            log(f"hf_hub_download: {hf_s:.2f} s")

            latencies = []
            hub.throttle_bps = 20_000_000
            for i in range(5):
                target = work / "models" / f"pause{i}"
                cancel = CancelToken()
                marks: dict[str, float] = {}

                def on_progress(p: DownloadProgress, cancel: CancelToken = cancel,
                                marks: dict[str, float] = marks) -> None:
                    if p.done_bytes > 2_000_000 and "set" not in marks:
                        marks["set"] = time.perf_counter()
                        cancel.cancel()

                try:
                    download_model(plan, target, endpoint=hub.url, cancel=cancel,
                                   progress=on_progress)
                except DownloadStopped:
                    latencies.append((time.perf_counter() - marks["set"]) * 1000)
                shutil.rmtree(partial_dir(target), ignore_errors=True)
            hub.throttle_bps = None

            # Resume from half the file: cost before the first new byte.
            target = work / "models" / "resume"
            staging = partial_dir(target)
            staging.mkdir(parents=True)
            with (src / "model.onnx.data").open("rb") as fh, \
                    (staging / "model.onnx.data.incomplete").open("wb") as out:
                out.write(fh.read(size // 2))
            first: list[float] = []
            t0 = time.perf_counter()
            download_model(plan, target, endpoint=hub.url,
                           progress=lambda p: first.append(time.perf_counter())
                           if p.done_bytes > size // 2 + 2 and not first else None)
            resume_ms = (first[0] - t0) * 1000 if first else float("nan")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hearth_mb_s = args.mb / hearth_s
    hf_mb_s = args.mb / hf_s
    print(json.dumps({
        "mb": args.mb,
        "hearth_mb_s": round(hearth_mb_s, 1),
        "hf_hub_download_mb_s": round(hf_mb_s, 1),
        "ratio": round(hearth_mb_s / hf_mb_s, 2),
        "pause_latency_ms": round(statistics.median(latencies), 1) if latencies else None,
        "resume_overhead_ms": round(resume_ms, 1),
        "progress_reports_per_s": round(len(reports) / hearth_s, 1),
    }))


if __name__ == "__main__":
    main()
