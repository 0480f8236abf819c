"""PyInstaller hook: onnxruntime_genai needs the onnxruntime native library beside it.

At import, onnxruntime_genai (`_dll_directory.py`) looks the onnxruntime package up with
`importlib.util.find_spec("onnxruntime")` and loads `capi/libonnxruntime.so*` (Linux) or
`capi\\onnxruntime.dll` and `DirectML.dll` (Windows) from it; nothing imports onnxruntime in
Python, so a plain build leaves it out and the frozen app fails with "Could not find the
onnxruntime package" (measured). The contrib hook's `collect_dynamic_libs("onnxruntime")` would
also miss the versioned `libonnxruntime.so.1.x`. So the native libraries of `onnxruntime/capi`
go to `onnxruntime/capi` in the bundle, where find_spec finds them as a namespace package; the
pybind module (`onnxruntime_pybind11_state`, the Python API Hearth does not use) is left out.

The Windows ML flavour (onnxruntime-genai-winml) has no onnxruntime package: it carries
onnxruntime.dll in its own folder, which `rthook_onnxruntime_genai.py` preloads.
"""

import importlib.util
from importlib.metadata import PackageNotFoundError
from pathlib import Path

from PyInstaller.utils.hooks import copy_metadata

_NATIVE_SUFFIXES = (".so", ".dll", ".dylib")


def _is_native(path: Path) -> bool:
    name = path.name
    return name.endswith(_NATIVE_SUFFIXES) or ".so." in name


def _native_libraries(package: str, subfolder: str = "") -> list[tuple[str, str]]:
    """(source, bundle folder) for the native libraries in an installed package's folder,
    without importing the package; its Python extension modules are left to the analysis."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / subfolder
    dest = f"{package}/{subfolder}".rstrip("/")
    return [(str(path), dest) for path in sorted(folder.iterdir())
            if path.is_file() and _is_native(path) and not _is_extension_module(path)]


def _is_extension_module(path: Path) -> bool:
    # onnxruntime_pybind11_state.*.so/.pyd is onnxruntime's Python API, unused here;
    # onnxruntime_genai.*.so/.pyd is collected by the import analysis.
    return path.name.startswith(("onnxruntime_pybind11_state", "onnxruntime_genai."))


binaries = _native_libraries("onnxruntime", "capi")
# The genai package's own libraries (onnxruntime-genai.dll; in the winml flavour also
# onnxruntime.dll, DirectML.dll and Microsoft.Windows.AI.MachineLearning.dll) stay beside its
# extension module, where its loader and the runtime hook look for them.
binaries += _native_libraries("onnxruntime_genai")
# `hearth selftest` names the installed distribution (and refuses two of them).
datas = []
for _dist in ("onnxruntime-genai", "onnxruntime-genai-cuda", "onnxruntime-genai-directml",
              "onnxruntime-genai-winml"):
    try:
        datas += copy_metadata(_dist)
    except PackageNotFoundError:  # that flavour is not installed
        continue
# The model builder (onnx, torch, transformers) is a developer tool, not the runtime.
excludedimports = ["onnxruntime_genai.models"]
