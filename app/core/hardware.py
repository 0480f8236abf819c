"""What this machine can run: memory, GPUs, free disk, the installed runtime and its providers,
and how each catalog model fits (`assess`, `recommend`).

GPUs are found through `nvidia-smi` (NVIDIA, any OS). On Windows, DirectML adapters of other
vendors (AMD, Intel) and their dedicated memory come from DXGI; that Windows branch is not
written yet, so there a DirectML-only machine lists no GPU and models are judged for the CPU.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from app.core.catalog import Catalog, CatalogEntry, Variant
from app.core.engine import AUTO_ORDER, PROVIDER_LABELS

log = logging.getLogger(__name__)

RUNTIME_DISTRIBUTIONS = (
    "onnxruntime-genai", "onnxruntime-genai-cuda", "onnxruntime-genai-directml",
    "onnxruntime-genai-winml", "onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")
NVIDIA_SMI_TIMEOUT_S = 5.0
GPU_PROVIDERS = tuple(p for p in AUTO_ORDER if p != "cpu")
"""GPU providers in order of preference (CUDA, then DirectML)."""
FLAGSHIP_ID = "gpt-oss-20b"

Verdict = Literal["gpu", "cpu", "no"]


@dataclass(frozen=True)
class Gpu:
    """A graphics adapter and its dedicated memory."""

    name: str
    vram_bytes: int
    vendor: str = "nvidia"


@dataclass(frozen=True)
class Hardware:
    """A snapshot of the machine; build one by hand in tests."""

    system: str
    ram_total_bytes: int
    ram_available_bytes: int
    gpus: tuple[Gpu, ...] = ()
    disk_free_bytes: int | None = None
    """Free space in the models folder (None when it could not be measured)."""
    packages: tuple[tuple[str, str], ...] = ()
    """Installed runtime distributions and versions."""
    providers: frozenset[str] = frozenset({"cpu"})
    """Providers the installed runtime offers: cpu, cuda, dml."""

    @property
    def max_vram_bytes(self) -> int:
        """The largest GPU's memory, 0 without a known GPU."""
        return max((g.vram_bytes for g in self.gpus), default=0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "system": self.system,
            "ram_total_bytes": self.ram_total_bytes,
            "ram_available_bytes": self.ram_available_bytes,
            "gpus": [asdict(g) for g in self.gpus],
            "disk_free_bytes": self.disk_free_bytes,
            "packages": dict(self.packages),
            "providers": sorted(self.providers),
        }


@dataclass(frozen=True)
class Fit:
    """How one catalog model fits this machine.

    `verdict` is gpu (runs on the GPU), cpu (runs on the CPU, slowly) or no; `variant` and
    `provider` are the build it would use (for "no": the build it would need).
    """

    entry: CatalogEntry
    verdict: Verdict
    reason: str
    variant: Variant | None
    provider: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.entry.id,
            "verdict": self.verdict,
            "reason": self.reason,
            "provider": self.provider,
            "subfolder": self.variant.subfolder if self.variant else None,
            "size_bytes": self.variant.size_bytes if self.variant else None,
        }


def gb(n: int) -> str:
    """Bytes as a short decimal-gigabyte figure ("11.9 GB")."""
    return f"{n / 1e9:.1f} GB"


# --- detection -----------------------------------------------------------------------------


def detect_hardware(models_dir: Path | None = None) -> Hardware:
    """Measure this machine. Never raises for a missing tool or file: unknown figures are 0/None."""
    total, available = _memory()
    return Hardware(
        system=f"{platform.system()} {platform.release()} {platform.machine()}".strip(),
        ram_total_bytes=total,
        ram_available_bytes=available,
        gpus=tuple(_nvidia_gpus()),
        disk_free_bytes=_disk_free(models_dir) if models_dir is not None else None,
        packages=tuple(_installed(RUNTIME_DISTRIBUTIONS)),
        providers=_providers(),
    )


def _memory() -> tuple[int, int]:
    """(total, available) system memory in bytes; (0, 0) where it cannot be read."""
    if sys.platform == "win32":
        # Windows only: GlobalMemoryStatusEx through ctypes.
        import ctypes
        from ctypes import wintypes

        class MemoryStatusEx(ctypes.Structure):
            _fields_ = [
                ("dwLength", wintypes.DWORD), ("dwMemoryLoad", wintypes.DWORD),
                ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = MemoryStatusEx()
        status.dwLength = ctypes.sizeof(MemoryStatusEx)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.ullTotalPhys), int(status.ullAvailPhys)
        return 0, 0
    meminfo = _read_meminfo(Path("/proc/meminfo"))
    if meminfo is not None:
        return meminfo
    return _sysconf_memory()


def _read_meminfo(path: Path) -> tuple[int, int] | None:
    try:
        text = path.read_text(encoding="ascii")
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * 1024  # reported in kB
    if "MemTotal" not in values:
        return None
    return values["MemTotal"], values.get("MemAvailable", values.get("MemFree", 0))


def _sysconf_memory() -> tuple[int, int]:
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
    except (ValueError, OSError, AttributeError):
        return 0, 0
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError):
        available = 0  # macOS has no SC_AVPHYS_PAGES
    return total, available


def _nvidia_gpus() -> list[Gpu]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        proc = subprocess.run(
            [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("nvidia-smi failed: %s", exc)
        return []
    if proc.returncode != 0:
        log.info("nvidia-smi exited %d: %s", proc.returncode, proc.stderr.strip())
        return []
    return parse_nvidia_smi(proc.stdout)


def parse_nvidia_smi(output: str) -> list[Gpu]:
    """Parse `name, memory.total (MiB)` lines; lines that do not parse are skipped."""
    gpus = []
    for line in output.splitlines():
        name, _, memory = line.rpartition(",")
        try:
            mib = int(float(memory.strip()))
        except ValueError:
            continue
        if name.strip():
            gpus.append(Gpu(name.strip(), mib * 1024 * 1024))
    return gpus


def _disk_free(folder: Path) -> int | None:
    # The models folder may not exist yet: measure the nearest existing parent.
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def _installed(names: Iterable[str]) -> list[tuple[str, str]]:
    found = []
    for name in names:
        try:
            found.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _providers() -> frozenset[str]:
    try:
        import onnxruntime_genai as og
    except ImportError as exc:
        log.info("onnxruntime_genai does not import: %s", exc)
        return frozenset()
    found = {"cpu"}
    if og.is_cuda_available():
        found.add("cuda")
    if og.is_dml_available():
        found.add("dml")
    return frozenset(found)


# --- fit -----------------------------------------------------------------------------------


def assess(entry: CatalogEntry, hardware: Hardware) -> Fit:
    """Whether `entry` runs here: on a GPU (a build for an available GPU provider and enough
    GPU memory), else on the CPU (enough available memory), else not, with the reason."""
    skipped: list[str] = []
    nearest: tuple[Variant, str] | None = None
    for provider in GPU_PROVIDERS:
        label = PROVIDER_LABELS[provider]
        variant = entry.variant_for(provider)
        if provider not in hardware.providers:
            if (provider == "cuda" and variant is not None
                    and any(g.vendor == "nvidia" for g in hardware.gpus)):
                skipped.append("an NVIDIA GPU is present but the installed runtime has no CUDA "
                               "support")
            continue
        if variant is None:
            skipped.append(f"no {label} build of this model")
            continue
        nearest = nearest or (variant, provider)
        if hardware.max_vram_bytes == 0:
            skipped.append(f"{label} is available but no GPU memory figure was found")
        elif hardware.max_vram_bytes < variant.vram_bytes:
            skipped.append(f"{label} needs {gb(variant.vram_bytes)} of GPU memory, the GPU has "
                           f"{gb(hardware.max_vram_bytes)}")
        else:
            return Fit(entry, "gpu", f"Runs on your GPU ({label}).", variant, provider)
    cpu = entry.variant_for("cpu")
    if cpu is not None and "cpu" in hardware.providers:
        if hardware.ram_available_bytes >= cpu.ram_bytes:
            reason = "Runs on the CPU (slow)"
            return Fit(entry, "cpu", reason + (f": {'; '.join(skipped)}." if skipped else "."),
                       cpu, "cpu")
        skipped.append(f"the CPU build needs {gb(cpu.ram_bytes)} of free memory, "
                       f"{gb(hardware.ram_available_bytes)} is available")
        nearest = nearest or (cpu, "cpu")
    elif cpu is None:
        skipped.append("no CPU build of this model")
    else:
        skipped.append("the ONNX Runtime GenAI runtime is not installed")
    return Fit(entry, "no", "Does not fit: " + "; ".join(skipped) + ".",
               nearest[0] if nearest else None, nearest[1] if nearest else None)


def assess_all(catalog: Catalog, hardware: Hardware) -> list[Fit]:
    """`assess` for every entry, in catalog order."""
    return [assess(entry, hardware) for entry in catalog]


def recommend(catalog: Catalog, hardware: Hardware) -> Fit | None:
    """The model to suggest: gpt-oss-20b wherever it fits, else the first (most preferred)
    model that runs on the GPU, else the first that runs on the CPU; None if nothing fits."""
    fits = assess_all(catalog, hardware)
    for fit in fits:
        if fit.entry.id == FLAGSHIP_ID and fit.verdict != "no":
            return fit
    for verdict in ("gpu", "cpu"):
        for fit in fits:
            if fit.verdict == verdict:
                return fit
    return None
