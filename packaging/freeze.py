"""Freeze Hearth with PyInstaller (packaging/hearth.spec) and check the bundle it made.

    python packaging/freeze.py [--model DIR] [--smoke] [--no-build] [--dist DIR] [--work DIR]

Run it with the Python of a clean build environment (packaging/README.md): the one holding
Hearth's runtime dependencies and PyInstaller, never the dev venv. After the build it checks what a
user would get, on Linux and on Windows alike:
- the programs, the data the code looks for, the native libraries the runtime loads (ONNX Runtime,
  pdfium) and the document libraries' template files are in the bundle;
- the frozen module archive holds the runtime packages and none of the dev tools;
- the frozen `hearth-cli selftest --json` passes (three runs, timed; with --model, a real model is
  also loaded and generates a few tokens);
- with --smoke, a second build (in WORK/smoke) adds `hearth-smoke` (packaging/frozen_smoke.py),
  which reads a PDF, Word, PowerPoint, Excel and text file through the frozen document readers;
  its modules must be the release bundle's, so what it proves holds for the release.
Prints one JSON summary on its last line; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "packaging" / "hearth.spec"
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
PROGRAMS = ("Hearth", "hearth-cli")

# Packages that must never be frozen into the app (the spec's EXCLUDES holds at least these).
FORBIDDEN_MODULES = ("pytest", "_pytest", "pytestqt", "hypothesis", "mypy", "ruff", "pip",
                     "setuptools", "torch")
REQUIRED_MODULES = ("app", "onnxruntime_genai", "PySide6", "keyring", "platformdirs",
                    "markdown_it", "pygments", "numpy", "pypdfium2", "pypdfium2_raw", "docx",
                    "pptx", "openpyxl", "charset_normalizer", "tokenizers", "huggingface_hub")
# Under the contents folder (`_internal`): files the app reads, as glob patterns; each group is
# satisfied by any one of its patterns.
REQUIRED_FILES: tuple[tuple[str, ...], ...] = (
    ("models/catalog.json",),
    ("resources/style.qss",),
    ("resources/style-dark.qss",),
    ("resources/translations/hearth_ja.qm",),
    ("resources/icons/hearth.png",),
    ("docx/templates/default.docx",),
    ("pptx/templates/default.pptx",),
    ("pypdfium2_raw/*pdfium*",),
    # The ONNX Runtime library onnxruntime_genai loads: from the onnxruntime package (CPU and
    # CUDA builds) or beside onnxruntime_genai (the Windows ML build).
    ("onnxruntime/capi/libonnxruntime.so*", "onnxruntime/capi/onnxruntime.dll",
     "onnxruntime_genai/onnxruntime.dll"),
)


def build(dist: Path, work: Path, smoke: bool = False) -> float:
    """Run PyInstaller on the spec; returns the seconds it took."""
    started = time.perf_counter()
    env = {**os.environ, "HEARTH_FREEZE_SMOKE": "1" if smoke else "0"}
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                    "--distpath", str(dist), "--workpath", str(work), str(SPEC)],
                   check=True, env=env)
    return time.perf_counter() - started


def frozen_modules(executable: Path) -> set[str]:
    """The full names of the modules frozen into the program's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(executable)).open_embedded_archive("PYZ.pyz")
    return set(archive.toc)


def top_level(modules: set[str]) -> set[str]:
    """The packages and top-level modules among `modules`."""
    return {name.split(".")[0] for name in modules}


def missing_files(internal: Path) -> list[str]:
    """The REQUIRED_FILES groups with no match under `internal`."""
    return [" | ".join(group) for group in REQUIRED_FILES
            if not any(next(internal.glob(pattern), None) for pattern in group)]


def run_selftest(cli: Path, model: Path | None, runs: int) -> tuple[bool, list[float], dict]:
    """Run `hearth-cli selftest --json` `runs` times in a throwaway data folder."""
    times: list[float] = []
    report: dict = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="hearth-selftest-") as data:
        env = {**os.environ, "HEARTH_DATA_DIR": data}
        command = [str(cli), "selftest", "--json"]
        if model is not None:
            command += ["--model", str(model), "--provider", "cpu"]
        for _ in range(runs):
            started = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True, env=env,
                                  timeout=120, check=False)
            times.append(time.perf_counter() - started)
            try:
                report = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                report = {"ok": False, "stdout": proc.stdout[-2000:],
                          "stderr": proc.stderr[-2000:]}
            ok = ok and proc.returncode == 0 and report.get("ok") is True
    return ok, times, report


def run_smoke(dist: Path, work: Path, release_modules: set[str]) -> dict:
    """Build the smoke variant and run hearth-smoke; the result, with any module it has that
    the release bundle lacks (`extra_modules`, which must be empty)."""
    build(dist, work, smoke=True)
    bundle = dist / "Hearth"
    extra = sorted(frozen_modules(bundle / f"hearth-smoke{EXE_SUFFIX}") - release_modules
                   - {"frozen_smoke"})
    proc = subprocess.run([str(bundle / f"hearth-smoke{EXE_SUFFIX}")], capture_output=True,
                          text=True, timeout=120, check=False)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"ok": False, "stdout": proc.stdout[-2000:]}
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:] + "\n")
    result["ok"] = bool(result.get("ok")) and proc.returncode == 0 and not extra
    result["extra_modules"] = extra
    return result


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under `folder`, links not followed."""
    total = files = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
    return total, files


def main(argv: list[str] | None = None) -> int:
    """Build (unless --no-build), check, print the JSON summary; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist",
                        help="PyInstaller's output folder (the bundle is DIST/Hearth)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pyinstaller",
                        help="PyInstaller's work folder")
    parser.add_argument("--no-build", action="store_true", help="check an existing bundle")
    parser.add_argument("--model", type=Path, help="also run this model in the frozen self-test")
    parser.add_argument("--runs", type=int, default=3, help="self-test runs to time")
    parser.add_argument("--smoke", action="store_true",
                        help="also build and run the document-reader smoke test")
    args = parser.parse_args(argv)

    build_s = None if args.no_build else build(args.dist, args.work)
    bundle = args.dist / "Hearth"
    internal = bundle / "_internal"
    programs = [bundle / f"{name}{EXE_SUFFIX}" for name in PROGRAMS]
    absent = [p.name for p in programs if not p.is_file()]
    modules = frozen_modules(programs[1]) if not absent else set()
    missing = absent + missing_files(internal)
    tops = top_level(modules)
    missing += [f"module {name}" for name in REQUIRED_MODULES if name not in tops]
    forbidden = sorted({name for name in FORBIDDEN_MODULES
                        if name in tops or (internal / name).exists()})
    selftest_ok, times, report = (run_selftest(programs[1], args.model, args.runs) if not absent
                                  else (False, [], {}))
    size, files = folder_size(bundle)
    smoke = (run_smoke(args.work / "smoke" / "dist", args.work / "smoke" / "work", modules)
             if args.smoke else None)
    ok = not missing and not forbidden and selftest_ok and (smoke is None or smoke["ok"])
    if not selftest_ok:
        sys.stderr.write(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps({
        "ok": ok,
        "bundle": str(bundle),
        "platform": sys.platform,
        "bundle_mb": round(size / 1e6, 1),
        "files": files,
        "build_s": round(build_s, 1) if build_s is not None else None,
        "selftest_ok": selftest_ok,
        "selftest_s": round(statistics.median(times), 3) if times else None,
        "selftest_runs_s": [round(t, 3) for t in times],
        "checks": {c["name"]: c["status"] for c in report.get("checks", [])},
        "missing": missing,
        "forbidden": forbidden,
        "smoke": smoke,
    }, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
