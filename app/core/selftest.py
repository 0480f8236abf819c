"""Checks that an installation can run: the runtime, its providers, folders, the keyring."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.core.chat import ChatMessage, GenerationOptions, GenerationResult
from app.core.errors import AppError
from app.core.paths import AppPaths

GENAI_DISTRIBUTIONS = ("onnxruntime-genai", "onnxruntime-genai-cuda", "onnxruntime-genai-directml",
                       "onnxruntime-genai-winml")


@dataclass(frozen=True)
class Check:
    """One self-test line: `status` is ok, warn or fail."""

    name: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        """The check as JSON-ready data."""
        return asdict(self)


def _installed(names: tuple[str, ...]) -> list[str]:
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def check_python() -> Check:
    """Python 3.12+ (PySide6 6.12 on 3.11 aborts after a few thousand Qt calls)."""
    ok = sys.version_info >= (3, 12)
    return Check("python", "ok" if ok else "fail",
                 f"{platform.python_version()} on {platform.system()} {platform.machine()}")


def check_runtime() -> Check:
    """onnxruntime_genai imports, and exactly one distribution of it is installed."""
    dists = _installed(GENAI_DISTRIBUTIONS)
    if len(dists) > 1:
        return Check("runtime", "fail",
                     "several ONNX Runtime GenAI packages are installed and break each other: "
                     + ", ".join(dists) + ". Keep one.")
    try:
        import onnxruntime_genai as og
    except ImportError as exc:
        return Check("runtime", "fail", f"onnxruntime_genai does not import: {exc}")
    version = getattr(og, "__version__", "?")
    return Check("runtime", "ok", f"onnxruntime_genai {version} ({', '.join(dists) or 'bundled'})")


def check_providers() -> Check:
    """Which GPU providers this build offers (the CPU always works)."""
    import onnxruntime_genai as og

    found = ["CPU"]
    if og.is_cuda_available():
        found.append("CUDA")
    if og.is_dml_available():
        found.append("DirectML")
    return Check("providers", "ok", ", ".join(found))


def check_folders(paths: AppPaths) -> Check:
    """The data folders exist and are writable."""
    try:
        paths.ensure()
        with tempfile.NamedTemporaryFile(dir=paths.data, prefix=".selftest-"):
            pass
    except OSError as exc:
        return Check("folders", "fail", f"cannot write to {paths.data}: {exc}")
    return Check("folders", "ok", f"data in {paths.data}")


def check_keyring() -> Check:
    """A keyring backend for the Hugging Face token; without one, only public models download."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:
        return Check("keyring", "warn", f"keyring unavailable ({exc}); tokens cannot be saved")
    if isinstance(backend, fail.Keyring):
        return Check("keyring", "warn",
                     "no keyring backend on this system; a Hugging Face token cannot be saved")
    return Check("keyring", "ok", type(backend).__name__)


def check_documents() -> Check:
    """The document readers import and work (a frozen build can miss their data files)."""
    try:
        import docx
        import openpyxl
        import pptx
        import pypdfium2

        docx.Document()  # the package's default template
        pptx.Presentation()
        openpyxl.Workbook()
        pdf = pypdfium2.PdfDocument.new()
        pdf.close()
    except Exception as exc:  # any failure here means documents cannot be read
        return Check("documents", "fail", f"document readers unusable: {exc}")
    return Check("documents", "ok", "PDF, Word, PowerPoint and Excel readers")


def check_model(model_dir: Path, provider: str) -> Check:
    """Load a model and generate a few tokens."""
    from app.core.engine import ChatEngine, load_model

    try:
        loaded = load_model(model_dir, provider)
        engine = ChatEngine(loaded)
        result: GenerationResult | None = None
        started = time.perf_counter()
        for event in engine.stream([ChatMessage("user", "Say hello.")],
                                   GenerationOptions(max_new_tokens=8, temperature=0.0)):
            if isinstance(event, GenerationResult):
                result = event
        engine.close()
    except AppError as exc:
        return Check("model", "fail", exc.user_message)
    if result is None or result.error:
        return Check("model", "fail", result.error if result else "no result")
    return Check("model", "ok",
                 f"{loaded.name} on {loaded.provider_label}: {result.generated_tokens} tokens "
                 f"in {time.perf_counter() - started:.2f} s")


def run_selftest(paths: AppPaths, model_dir: Path | None = None, provider: str = "auto",
                 extra: tuple[Callable[[], Check], ...] = ()) -> list[Check]:
    """Run every check; a failing check never stops the others."""
    checks = [check_python(), check_runtime()]
    runtime_ok = checks[-1].status == "ok"
    if runtime_ok:
        checks.append(check_providers())
    checks += [fn() for fn in extra]
    checks += [check_documents(), check_folders(paths), check_keyring()]
    if model_dir is not None:
        checks.append(check_model(model_dir, provider) if runtime_ok
                      else Check("model", "fail", "runtime missing"))
    return checks
