"""Static checks of the packaging files (no PyInstaller, no wine): they agree with the project.

The real checks build and install: `packaging/freeze.py` (the frozen app) and
`packaging/check_installer.sh` (the installer under wine). These catch, cheaply and in the default
run, the drift those would only find later: a version typed into the installer, a data file the
spec no longer ships where the code looks, a dev tool let into the bundle, a changed AppId.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import app
from app.core import catalog

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
APP_ID = "{{B736C035-0B2F-4C37-BE2E-CC4D3104445E}"
"""Never changes: upgrades find the earlier install, and its uninstall key, by it."""


def _load(name: str) -> ModuleType:
    """A packaging script as a module (`packaging/` is no package: PyPI's `packaging` owns the
    name)."""
    spec = importlib.util.spec_from_file_location(f"hearth_{name}", PACKAGING / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def version_tool() -> ModuleType:
    return _load("project_version")


@pytest.fixture(scope="module")
def spec_tree() -> ast.Module:
    return ast.parse((PACKAGING / "hearth.spec").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def iss() -> str:
    return (REPO / "installer.iss").read_text(encoding="utf-8-sig")


def _assigned_list(tree: ast.Module, name: str) -> list[str]:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == name):
            return [ast.literal_eval(element) for element in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError(f"{name} is not assigned a list in hearth.spec")


def _exe_calls(tree: ast.Module) -> dict[str, dict[str, object]]:
    """name= of each EXE(...) in the spec -> its literal keyword arguments."""
    calls = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "EXE":
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            name = ast.literal_eval(keywords["name"])
            calls[name] = {key: ast.literal_eval(value) for key, value in keywords.items()
                           if isinstance(value, ast.Constant)}
    return calls


def test_version_comes_from_the_app(version_tool: ModuleType) -> None:
    assert version_tool.read_version() == app.__version__
    assert version_tool.numeric_version("1.2.3rc1") == (1, 2, 3, 0)
    assert version_tool.numeric_version("2") == (2, 0, 0, 0)
    with pytest.raises(ValueError, match="number"):
        version_tool.numeric_version("dev")


def test_runtime_pin_is_pyprojects(version_tool: ModuleType) -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"onnxruntime-genai=={version_tool.genai_version()}"' in pyproject


def test_version_resource_text_evaluates_to_the_version(version_tool: ModuleType) -> None:
    # PyInstaller eval()s this text with its versioninfo classes; stand-ins record the call.
    def record(kind: str) -> Callable[..., tuple[str, tuple[object, ...], dict[str, object]]]:
        return lambda *args, **kwargs: (kind, args, kwargs)

    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
             "VarFileInfo", "VarStruct")
    info = eval(version_tool.version_info_text("1.4.2"), {n: record(n) for n in names})
    fixed = info[2]["ffi"][2]
    assert fixed["filevers"] == fixed["prodvers"] == (1, 4, 2, 0)
    table = info[2]["kids"][0][1][0][0]
    strings = dict(entry[1] for entry in table[1][1])
    assert strings["ProductVersion"] == strings["FileVersion"] == "1.4.2"
    assert strings["OriginalFilename"] == "Hearth.exe"


def test_spec_keeps_dev_tools_out(spec_tree: ast.Module) -> None:
    excludes = set(_assigned_list(spec_tree, "EXCLUDES"))
    assert set(_load("freeze").FORBIDDEN_MODULES) <= excludes
    assert {"pytest", "hypothesis", "torch", "onnxruntime_genai.models"} <= excludes


def test_spec_lists_the_runtime_dependencies(spec_tree: ast.Module) -> None:
    hidden = set(_assigned_list(spec_tree, "HIDDEN_IMPORTS"))
    required = set(_load("freeze").REQUIRED_MODULES) - {"app", "PySide6"}
    assert required <= hidden
    # Every runtime dependency in pyproject.toml is a required module of the bundle.
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    import_names = {"PySide6-Essentials": "PySide6", "onnxruntime-genai": "onnxruntime_genai",
                    "huggingface_hub": "huggingface_hub", "markdown-it-py": "markdown_it",
                    "python-docx": "docx", "python-pptx": "pptx",
                    "charset-normalizer": "charset_normalizer"}
    for requirement in re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block, re.M):
        module = import_names.get(requirement, requirement.replace("-", "_").lower())
        assert module in _load("freeze").REQUIRED_MODULES, requirement


def test_spec_programs(spec_tree: ast.Module) -> None:
    exes = _exe_calls(spec_tree)
    assert exes["Hearth"]["console"] is False
    assert exes["hearth-cli"]["console"] is True
    source = (PACKAGING / "hearth.spec").read_text(encoding="utf-8")
    assert 'contents_directory="_internal"' in source
    for option in ("upx=False", "version=VERSION_FILE", "icon=ICON"):
        assert option in source


def test_frozen_data_lands_where_the_code_looks(
        spec_tree: ast.Module, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from app import main

    source = (PACKAGING / "hearth.spec").read_text(encoding="utf-8")
    # catalog.py looks two folders above app/core/, i.e. in _internal/models when frozen.
    assert catalog.CATALOG_PATH == REPO / "models" / "catalog.json"
    assert '(str(REPO / "models" / "catalog.json"), "models")' in source
    # main.py looks in sys._MEIPASS/resources when frozen.
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert main.resources_dir() == tmp_path / "resources"
    assert main.translations_dir() == tmp_path / "resources" / "translations"
    for shipped in ("models/catalog.json", "resources/style.qss", "resources/style-dark.qss",
                    "resources/icons/hearth.png", "resources/icons/hearth.ico"):
        assert (REPO / shipped).is_file(), shipped
    assert list((REPO / "resources" / "translations").glob("*.qm"))


def test_icon_files() -> None:
    ico = (REPO / "resources" / "icons" / "hearth.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1)
    sizes = {struct.unpack("<B", ico[6 + 16 * i:7 + 16 * i])[0] or 256 for i in range(count)}
    assert {16, 32, 48, 64, 256} <= sizes  # what Inno Setup's SetupIconFile asks for
    png = (REPO / "resources" / "icons" / "hearth.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (256, 256)


def test_installer_directives(iss: str) -> None:
    setup = iss.split("[Setup]", 1)[1].split("\n[", 1)[0]
    directives = dict(line.split("=", 1) for line in setup.splitlines()
                      if "=" in line and not line.startswith(";"))
    assert directives["AppId"] == APP_ID
    assert directives["PrivilegesRequired"] == "lowest"
    assert directives["DefaultDirName"] == r"{localappdata}\Programs\{#AppName}"
    assert directives["AppVersion"] == "{#AppVersion}"
    assert directives["ArchitecturesInstallIn64BitMode"] == "x64compatible"
    assert directives["SetupIconFile"] == r"resources\icons\hearth.ico"
    assert (REPO / directives["SetupIconFile"].replace("\\", "/")).is_file()
    assert re.search(r'#define AppName "Hearth"', iss)


def test_installer_version_is_required(iss: str) -> None:
    # No version typed in: the build scripts pass the project's, and without it ISCC stops.
    assert re.search(r"#ifndef AppVersion\s+#error", iss)
    assert not re.search(r"^\s*#define AppVersion\b", iss, re.M)
    for script in ("build_windows.ps1", "check_installer.sh"):
        text = (PACKAGING / script).read_text(encoding="utf-8")
        assert "project_version.py" in text, script
        assert "/DAppVersion=" in text, script


def test_installer_languages_shortcuts_and_launch(iss: str) -> None:
    assert 'Name: "en"; MessagesFile: "compiler:Default.isl"' in iss
    assert r'Name: "ja"; MessagesFile: "compiler:Languages\Japanese.isl"' in iss
    assert re.search(r'Name: "desktopicon";.*Flags: unchecked', iss)
    assert re.search(r'Name: "\{autoprograms\}\\\{#AppName\}"; Filename: "\{app\}\\\{#AppExe\}"',
                     iss)
    assert re.search(r'Name: "\{autodesktop\}.*Tasks: desktopicon', iss)
    assert re.search(r"\[Run\]\nFilename: \"\{app\}\\\{#AppExe\}\".*postinstall skipifsilent", iss)
    assert re.search(r'\[InstallDelete\]\n(;.*\n)*Type: filesandordirs; Name: "\{app\}\\_internal"',
                     iss)
    # Each custom message exists in both languages.
    messages = re.findall(r"^(en|ja)\.(\w+)=", iss, re.M)
    assert {name for lang, name in messages if lang == "en"} == {
        name for lang, name in messages if lang == "ja"} != set()


def test_uninstall_asks_and_keeps_data_by_default(iss: str) -> None:
    code = iss.split("[Code]", 1)[1]
    assert r"ExpandConstant('{localappdata}\{#AppName}')" in code  # platformdirs' data folder
    assert "usPostUninstall" in code
    assert "not UninstallSilent()" in code
    # Default button No, and No when message boxes are suppressed.
    assert re.search(r"SuppressibleMsgBox\(.*\n.*MB_YESNO or MB_DEFBUTTON2, IDNO\) = IDYES", code)


def test_windows_build_and_workflow_agree() -> None:
    script = (PACKAGING / "build_windows.ps1").read_text(encoding="utf-8")
    flavours = re.search(r"\[ValidateSet\(([^)]*)\)\]", script)
    assert flavours is not None
    assert {f.strip(" '") for f in flavours.group(1).split(",")} == {"winml", "cpu", "cuda"}
    assert "onnxruntime-genai-winml==$genai" in script
    for needed in ("$LASTEXITCODE", "freeze.py", "installer.iss"):
        assert needed in script
    workflow = (REPO / ".github" / "workflows" / "windows.yml").read_text(encoding="utf-8")
    assert "runs-on: windows-latest" in workflow
    assert "packaging/build_windows.ps1" in workflow
    assert "hearth-cli.exe\" selftest --json" in workflow
    assert APP_ID.replace("{{", "{") in workflow  # it checks the uninstall key goes


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_check_installer_script_parses() -> None:
    script = PACKAGING / "check_installer.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    for key in ("compiled", "installed", "uninstalled", "setup_mb", "seconds"):
        assert f'"{key}": ' in text, key
    assert APP_ID.replace("{{", "{") in text
