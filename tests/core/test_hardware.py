"""Hardware detection on this machine, and the fit rules on constructed machines."""

from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

import pytest

from app.core import hardware as hw
from app.core.catalog import load_catalog
from app.core.hardware import (
    DxgiAdapterDesc1,
    Gpu,
    Hardware,
    _sysfs_gpus,
    assess,
    detect_hardware,
    parse_dxgi_desc,
    parse_nvidia_smi,
    recommend,
)

GB = 1_000_000_000
GIB = 1024**3


def cuda_desktop() -> Hardware:
    return Hardware("Windows 11", 32 * GIB, 20 * GB,
                    gpus=(Gpu("NVIDIA GeForce RTX 4080", 16 * GIB),),
                    providers=frozenset({"cpu", "cuda"}))


def small_laptop() -> Hardware:
    return Hardware("Windows 11", 8 * GIB, int(6.5 * GB), providers=frozenset({"cpu"}))


def directml_laptop() -> Hardware:
    return Hardware("Windows 11", 16 * GIB, 10 * GB,
                    gpus=(Gpu("AMD Radeon RX 7600", 8 * GIB, vendor="amd"),),
                    providers=frozenset({"cpu", "dml"}))


def test_16gb_cuda_machine_runs_gpt_oss_on_the_gpu() -> None:
    catalog = load_catalog()
    fit = assess(catalog.get("gpt-oss-20b"), cuda_desktop())
    assert fit.verdict == "gpu"
    assert fit.provider == "cuda"
    assert fit.variant is not None
    assert fit.variant.subfolder.startswith("cuda/")
    best = recommend(catalog, cuda_desktop())
    assert best is not None
    assert best.entry.id == "gpt-oss-20b"


def test_8gb_laptop_without_gpu_gets_phi4_on_the_cpu() -> None:
    catalog = load_catalog()
    gpt = assess(catalog.get("gpt-oss-20b"), small_laptop())
    assert gpt.verdict == "no"
    assert "free memory" in gpt.reason
    assert "6.5 GB is available" in gpt.reason
    assert gpt.variant is not None
    assert gpt.provider == "cpu"
    phi = assess(catalog.get("phi-4-mini-instruct"), small_laptop())
    assert phi.verdict == "cpu"
    assert phi.reason.startswith("Runs on the CPU")
    best = recommend(catalog, small_laptop())
    assert best is not None
    assert best.entry.id == "phi-4-mini-instruct"


def test_directml_machine_runs_phi4_on_gpu_but_not_gpt_oss() -> None:
    catalog = load_catalog()
    gpt = assess(catalog.get("gpt-oss-20b"), directml_laptop())
    assert gpt.verdict != "gpu"
    assert "no DirectML build" in gpt.reason
    phi = assess(catalog.get("phi-4-mini-instruct"), directml_laptop())
    assert phi.verdict == "gpu"
    assert phi.provider == "dml"
    assert phi.variant is not None
    assert phi.variant.subfolder == "gpu/gpu-int4-rtn-block-32"


def test_directml_recommendation_prefers_gpt_oss_on_cpu_when_it_fits() -> None:
    roomy = Hardware("Windows 11", 32 * GIB, 24 * GB,
                     gpus=(Gpu("Intel Arc", 8 * GIB, vendor="intel"),),
                     providers=frozenset({"cpu", "dml"}))
    best = recommend(load_catalog(), roomy)
    assert best is not None
    assert best.entry.id == "gpt-oss-20b"
    assert best.verdict == "cpu"


def test_small_gpu_falls_back_to_cpu_with_the_reason() -> None:
    machine = Hardware("Linux", 64 * GIB, 40 * GB, gpus=(Gpu("RTX 3060", 6 * GIB),),
                       providers=frozenset({"cpu", "cuda"}))
    fit = assess(load_catalog().get("gpt-oss-20b"), machine)
    assert fit.verdict == "cpu"
    assert "needs 14.0 GB of GPU memory" in fit.reason


def test_nvidia_gpu_with_cpu_only_runtime_says_so() -> None:
    machine = Hardware("Linux", 8 * GIB, 2 * GB, gpus=(Gpu("RTX 4090", 24 * GIB),),
                       providers=frozenset({"cpu"}))
    fit = assess(load_catalog().get("gpt-oss-20b"), machine)
    assert fit.verdict == "no"
    assert "no CUDA support" in fit.reason


def test_nothing_fits_without_the_runtime() -> None:
    machine = Hardware("Linux", 64 * GIB, 60 * GB, providers=frozenset())
    assert recommend(load_catalog(), machine) is None
    fit = assess(load_catalog().get("phi-4-mini-instruct"), machine)
    assert fit.verdict == "no"
    assert "not installed" in fit.reason


def test_detect_hardware_on_this_machine(tmp_path: Path) -> None:
    found = detect_hardware(tmp_path / "models" / "not-yet")
    assert found.ram_total_bytes > 0
    assert 0 < found.ram_available_bytes <= found.ram_total_bytes
    assert "cpu" in found.providers
    assert any(name.startswith("onnxruntime-genai") for name, _ in found.packages)
    assert found.disk_free_bytes is not None
    assert found.disk_free_bytes > 0
    data = found.as_dict()
    assert isinstance(data["packages"], dict)
    assert "cpu" in data["providers"]


def test_no_nvidia_smi_means_no_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_hardware().gpus == ()


def test_failing_nvidia_smi_means_no_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.name != "posix":
        pytest.skip("shell script stand-in")
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_hardware().gpus == ()


def test_nvidia_smi_output_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.name != "posix":
        pytest.skip("shell script stand-in")
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 4080, 16376'\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_hardware().gpus == (Gpu("NVIDIA GeForce RTX 4080", 16376 * 1024 * 1024),)


def test_parse_nvidia_smi_skips_junk() -> None:
    out = "NVIDIA H100 80GB HBM3, 81559\n[N/A]\nName, with comma, 8192\n\n"
    assert parse_nvidia_smi(out) == [Gpu("NVIDIA H100 80GB HBM3", 81559 * 1024 * 1024),
                                     Gpu("Name, with comma", 8192 * 1024 * 1024)]


def test_meminfo_parsing(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:  1000 kB\n"
                       "MemAvailable:    8000000 kB\n", encoding="ascii")
    assert hw._read_meminfo(meminfo) == (16000000 * 1024, 8000000 * 1024)
    assert hw._read_meminfo(tmp_path / "absent") is None


def _dxgi_desc(name: str, vendor: int, vram: int, flags: int = 0) -> DxgiAdapterDesc1:
    desc = DxgiAdapterDesc1()
    raw = name.encode("utf-16-le")
    ctypes.memmove(desc.Description, raw, len(raw))
    desc.VendorId, desc.DedicatedVideoMemory, desc.Flags = vendor, vram, flags
    return desc


def test_dxgi_descriptor_layout_matches_windows() -> None:
    # DXGI_ADAPTER_DESC1 on 64-bit Windows: 256 bytes of name, 4 UINTs, 3 SIZE_Ts, LUID, flags.
    assert ctypes.sizeof(DxgiAdapterDesc1) == 312  # 308 rounded up to 8-byte alignment
    assert DxgiAdapterDesc1.DedicatedVideoMemory.offset == 272


def test_dxgi_adapters_are_parsed_and_software_ones_skipped() -> None:
    amd = parse_dxgi_desc(_dxgi_desc("AMD Radeon RX 7800 XT", 0x1002, 16 * GIB))
    assert amd == Gpu("AMD Radeon RX 7800 XT", 16 * GIB, "amd", "dxgi")
    assert parse_dxgi_desc(_dxgi_desc("Microsoft Basic Render Driver", 0x1414, 0)) is None
    assert parse_dxgi_desc(_dxgi_desc("WARP", 0x8086, 0, flags=2)) is None


def test_sysfs_cards_with_a_vram_figure_are_listed(tmp_path: Path) -> None:
    for card, vendor, vram in (("card0", "0x1002", str(8 * GIB)), ("card1", "0x8086", None)):
        device = tmp_path / card / "device"
        device.mkdir(parents=True)
        (device / "vendor").write_text(vendor + "\n")
        if vram is not None:
            (device / "mem_info_vram_total").write_text(vram + "\n")
    assert _sysfs_gpus(tmp_path) == [Gpu("AMD GPU (card0)", 8 * GIB, "amd", "sysfs")]


def test_cuda_only_counts_nvidia_memory() -> None:
    catalog = load_catalog()
    # A big AMD card beside a small NVIDIA one: CUDA is judged on the NVIDIA card only.
    machine = Hardware("Windows", 64 * GIB, 40 * GB, providers=frozenset({"cpu", "cuda"}),
                       gpus=(Gpu("RTX 3050", 4 * GIB), Gpu("RX 7900", 24 * GIB, "amd", "dxgi")))
    assert machine.vram_for("cuda") == 4 * GIB
    assert machine.vram_for("dml") == 24 * GIB
    fit = assess(catalog.get("gpt-oss-20b"), machine)
    assert fit.verdict != "gpu"
    assert "GPU memory" in fit.reason
