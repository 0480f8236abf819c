"""What this machine can run: memory, GPUs, free disk, the installed runtime and its providers,
and how each catalog model fits (`assess`, `recommend`).

GPUs are found through `nvidia-smi` (NVIDIA, any OS), DXGI on Windows (every adapter DirectML
can use, with its dedicated memory) and sysfs on Linux (AMD's `mem_info_vram_total`). Integrated
GPUs report little dedicated memory, so models are judged for the CPU there: conservative, and
DirectML on shared memory is rarely faster than the CPU build for these model sizes.
"""

from __future__ import annotations

import ctypes
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
PCI_VENDORS = {0x10DE: "nvidia", 0x1002: "amd", 0x1022: "amd", 0x8086: "intel",
               0x1414: "microsoft", 0x5143: "qualcomm"}
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
    source: str = "nvidia-smi"
    """Where the figure came from: nvidia-smi, dxgi or sysfs."""


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

    def vram_for(self, provider: str) -> int:
        """The largest memory among the GPUs `provider` can use: CUDA only runs on NVIDIA,
        DirectML on any adapter."""
        usable = (g for g in self.gpus if provider != "cuda" or g.vendor == "nvidia")
        return max((g.vram_bytes for g in usable), default=0)

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
        gpus=tuple(_gpus()),
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


def _gpus() -> list[Gpu]:
    """NVIDIA cards from nvidia-smi (exact figures), plus the other adapters the OS reports."""
    gpus = _nvidia_gpus()
    others = _dxgi_gpus() if sys.platform == "win32" else _sysfs_gpus(Path("/sys/class/drm"))
    have_nvidia = any(g.vendor == "nvidia" for g in gpus)
    gpus += [g for g in others if not (have_nvidia and g.vendor == "nvidia")]
    return gpus


def _sysfs_gpus(drm: Path) -> list[Gpu]:
    """Linux: cards under /sys/class/drm with a VRAM figure (amdgpu exposes one; i915 and nouveau
    do not, and a card without a figure is no use for sizing, so it is left out)."""
    gpus = []
    for card in sorted(drm.glob("card[0-9]*")):
        device = card / "device"
        try:
            vendor_id = int((device / "vendor").read_text().strip(), 16)
            vram = int((device / "mem_info_vram_total").read_text().strip())
        except (OSError, ValueError):
            continue
        vendor = PCI_VENDORS.get(vendor_id, f"0x{vendor_id:04x}")
        gpus.append(Gpu(f"{vendor.upper()} GPU ({card.name})", vram, vendor, "sysfs"))
    return gpus


class DxgiAdapterDesc1(ctypes.Structure):
    """DXGI_ADAPTER_DESC1, laid out as on 64-bit Windows on any OS (WCHAR as uint16), so the
    parser is tested on Linux too."""

    _fields_ = (
        ("Description", ctypes.c_uint16 * 128),
        ("VendorId", ctypes.c_uint32),
        ("DeviceId", ctypes.c_uint32),
        ("SubSysId", ctypes.c_uint32),
        ("Revision", ctypes.c_uint32),
        ("DedicatedVideoMemory", ctypes.c_size_t),
        ("DedicatedSystemMemory", ctypes.c_size_t),
        ("SharedSystemMemory", ctypes.c_size_t),
        ("AdapterLuidLow", ctypes.c_uint32),
        ("AdapterLuidHigh", ctypes.c_int32),
        ("Flags", ctypes.c_uint32),
    )


DXGI_ADAPTER_FLAG_SOFTWARE = 2


def parse_dxgi_desc(desc: DxgiAdapterDesc1) -> Gpu | None:
    """A Gpu from an adapter description; None for software adapters (WARP, Basic Render)."""
    vendor = PCI_VENDORS.get(desc.VendorId, f"0x{desc.VendorId:04x}")
    if desc.Flags & DXGI_ADAPTER_FLAG_SOFTWARE or vendor == "microsoft":
        return None
    name = bytes(desc.Description).decode("utf-16-le").split("\0", 1)[0].strip()
    return Gpu(name or f"{vendor} adapter", int(desc.DedicatedVideoMemory), vendor, "dxgi")


def _dxgi_gpus() -> list[Gpu]:  # pragma: no cover - Windows only
    """Windows: every hardware adapter from IDXGIFactory1::EnumAdapters1, through raw COM
    vtable calls (no comtypes/pywin32 dependency). Any failure means "no adapters found"."""
    try:
        dxgi = ctypes.WinDLL("dxgi")  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError) as exc:
        log.info("DXGI not available: %s", exc)
        return []
    hresult = ctypes.c_long
    void_p = ctypes.c_void_p
    # IID_IDXGIFactory1 {770aae78-f26f-4dba-a829-253c83d1b387}
    iid = (ctypes.c_ubyte * 16)(*bytes.fromhex("78ae0a776ff2ba4da829253c83d1b387"))
    factory = void_p()
    if dxgi.CreateDXGIFactory1(ctypes.byref(iid), ctypes.byref(factory)) != 0 or not factory:
        return []

    def method(obj: ctypes.c_void_p, index: int, *argtypes: Any) -> Any:
        vtable = ctypes.cast(obj, ctypes.POINTER(ctypes.POINTER(void_p))).contents
        prototype = ctypes.WINFUNCTYPE(  # type: ignore[attr-defined,unused-ignore]
            hresult, void_p, *argtypes)
        return prototype(vtable[index])

    gpus: list[Gpu] = []
    try:
        for i in range(16):
            adapter = void_p()
            # IDXGIFactory1::EnumAdapters1 is vtable slot 12; DXGI_ERROR_NOT_FOUND ends the list.
            if method(factory, 12, ctypes.c_uint, ctypes.POINTER(void_p))(
                    factory, i, ctypes.byref(adapter)) != 0:
                break
            try:
                desc = DxgiAdapterDesc1()
                # IDXGIAdapter1::GetDesc1 is slot 10.
                if method(adapter, 10, ctypes.POINTER(DxgiAdapterDesc1))(
                        adapter, ctypes.byref(desc)) == 0:
                    gpu = parse_dxgi_desc(desc)
                    if gpu is not None:
                        gpus.append(gpu)
            finally:
                method(adapter, 2)(adapter)  # IUnknown::Release
    finally:
        method(factory, 2)(factory)
    return gpus


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
        vram = hardware.vram_for(provider)
        if vram == 0:
            skipped.append(f"{label} is available but no GPU memory figure was found")
        elif vram < variant.vram_bytes:
            skipped.append(f"{label} needs {gb(variant.vram_bytes)} of GPU memory, the GPU has "
                           f"{gb(vram)}")
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
