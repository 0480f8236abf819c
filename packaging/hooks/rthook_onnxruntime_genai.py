"""PyInstaller runtime hook: preload the Windows ML flavour's onnxruntime.dll.

onnxruntime-genai-winml ships onnxruntime.dll in the onnxruntime_genai folder and no onnxruntime
package. Its `_dll_directory.add_onnxruntime_dependency` only skips the onnxruntime-package
lookup when onnxruntime.dll is already loaded ("This allows WinML to use its packed dlls"), so
this hook loads that copy before the app imports onnxruntime_genai. Does nothing elsewhere.
"""


def _preload_winml_onnxruntime() -> None:
    import os
    import sys

    if sys.platform != "win32":
        return
    folder = os.path.join(getattr(sys, "_MEIPASS", ""), "onnxruntime_genai")
    dll = os.path.join(folder, "onnxruntime.dll")
    if not os.path.isfile(dll):
        return
    import ctypes

    os.add_dll_directory(folder)
    ctypes.WinDLL(dll)


_preload_winml_onnxruntime()
del _preload_winml_onnxruntime
