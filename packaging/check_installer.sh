#!/usr/bin/env bash
# Check the Windows installer's mechanics on Linux, under wine: build the Linux frozen app
# (packaging/freeze.py), compile installer.iss over it with Inno Setup's ISCC, install an older
# version, upgrade it in place, check files, shortcuts, the uninstall registry key and a seeded
# model; uninstall silently (the program goes, the user's data stays), then twice more through
# the uninstaller's dialogs, driven by xdotool: the data prompt's default keeps the data, "Yes"
# deletes it, and then nothing is left.
#
#   packaging/check_installer.sh [--keep]      (--keep leaves the work folder for a look)
#
# HEARTH_CHECK_COMPRESSION (default lzma2/fast) is the setup's compression here: the release
# level, lzma2/max (HEARTH_CHECK_COMPRESSION=release), adds about 5 minutes on 2 cores.
#
# The payload is the Linux bundle (ELF files named Hearth and hearth-cli, passed as AppExe): the
# check is about the installer script, not about running the app on Windows (the Windows CI
# workflow does that). Heavy (wine, 1.4 GB once; about 3 minutes a run), so not in the default CI.
# Installs what it lacks: wine with 32-bit support, Xvfb, xdotool (apt, as root), Inno Setup from
# npm into $INNO_CACHE (default ~/.cache/hearth-inno), and a build venv in build/freeze-venv
# (or set HEARTH_FREEZE_PYTHON to a Python that has Hearth's dependencies and PyInstaller).
# Hermetic: wine runs in a throwaway prefix with a throwaway HOME, removed at the end.
# The last line of output is a JSON summary.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
INNO_VERSION=6.4.1
INNO_CACHE=${INNO_CACHE:-$HOME/.cache/hearth-inno}
COMPRESSION=${HEARTH_CHECK_COMPRESSION:-lzma2/fast}
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
STARTED=$(date +%s%N)
WORK=$(mktemp -d /tmp/hearth-installer-check.XXXXXX)
COMPILED=false INSTALLED=false UPGRADED=false UNINSTALLED=false DATA_KEPT=false
ASKED=false SETUP_MB=null COMPILE_S=null VERSION="" FROZEN=null XVFB_PID=
since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
log() { printf '[check_installer %5ss] %s\n' "$(since "$STARTED")" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
summary() {
    printf '{"compiled": %s, "installed": %s, "upgraded": %s, "uninstalled": %s, "data_kept": %s, "asked_before_deleting": %s, "setup_mb": %s, "compression": "%s", "compile_s": %s, "seconds": %s, "version": "%s", "frozen": %s}\n' \
        "$COMPILED" "$INSTALLED" "$UPGRADED" "$UNINSTALLED" "$DATA_KEPT" "$ASKED" "$SETUP_MB" \
        "$COMPRESSION" "$COMPILE_S" "$(since "$STARTED")" "$VERSION" "$FROZEN"
}

# -- Tools ----------------------------------------------------------------------------------------
need_apt=()
command -v wine >/dev/null 2>&1 && dpkg -s wine32:i386 >/dev/null 2>&1 || need_apt+=(wine)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need_apt+=(xdotool)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing ${need_apt[*]}: install them (see packaging/README.md) or run as root"
    log "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    # wine32 needs the i386 architecture; the bookworm line avoids a stale i386 security index
    # that otherwise ends in "held broken packages" (measured).
    dpkg --add-architecture i386
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq -t bookworm --no-install-recommends \
        wine wine64 wine32:i386 xvfb xdotool npm >/dev/null
fi
ISCC="$INNO_CACHE/node_modules/innosetup/bin/ISCC.exe"
if [ ! -f "$ISCC" ]; then
    log "installing Inno Setup $INNO_VERSION (npm) into $INNO_CACHE"
    mkdir -p "$INNO_CACHE"
    npm install --prefix "$INNO_CACHE" --ignore-scripts --no-audit --no-fund \
        "innosetup@$INNO_VERSION" >/dev/null
fi
[ -f "$(dirname "$ISCC")/Languages/Japanese.isl" ] || fail "Inno Setup lacks Languages/Japanese.isl"

PY=${HEARTH_FREEZE_PYTHON:-}
if [ -z "$PY" ]; then
    venv="$REPO/build/freeze-venv"
    if [ ! -x "$venv/bin/python" ]; then
        # A pyenv shim named python3.12 may exist and still fail to run: take the first that runs.
        base=""
        for candidate in "$(command -v python3.12 || true)" "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
            if [ -n "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then
                base=$candidate
                break
            fi
        done
        [ -n "$base" ] || fail "no python3.12 for the build venv (or set HEARTH_FREEZE_PYTHON)"
        log "creating the build venv $venv (runtime dependencies + PyInstaller, no dev tools)"
        "$base" -m venv "$venv"
        "$venv/bin/pip" install -q "$REPO" -r "$REPO/packaging/requirements-build.txt"
    fi
    PY="$venv/bin/python"
fi

# -- Wine, hermetic -------------------------------------------------------------------------------
export WINEPREFIX="$WORK/prefix" HOME="$WORK/home" WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml,winemenubuilder.exe="
mkdir -p "$HOME"
cleanup() {
    local status=$?
    # Only this prefix's wineserver (and the programs it runs) and our own Xvfb are stopped.
    wineserver -k 2>/dev/null || true
    if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2>/dev/null || true; fi
    if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    summary
    exit "$status"
}
trap cleanup EXIT
winpath() { winepath -w "$1" 2>/dev/null; }
unixpath() { winepath -u "$1" 2>/dev/null; }
regval() {  # regval KEY NAME -> the value's data, or nothing
    wine reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | sed -n "s/^ *$2 *REG_[A-Z_]* *//p"
}

# -- 1. The frozen app ------------------------------------------------------------------------------
log "freezing the app (PyInstaller)"
frozen=$("$PY" "$REPO/packaging/freeze.py" --dist "$WORK/dist" --work "$WORK/build" \
    --model "$REPO/tests/fixtures/models/tiny-llama" --smoke | tail -1)
echo "$frozen" | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["ok"] else 1)' \
    || fail "frozen build: $frozen"
FROZEN=$frozen
BUNDLE="$WORK/dist/Hearth"

# setup.exe installs nothing without a display (measured): one Xvfb, on a free display.
Xvfb -displayfd 3 -screen 0 1024x768x24 3>"$WORK/display" >/dev/null 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do [ -s "$WORK/display" ] && break; sleep 0.1; done
[ -s "$WORK/display" ] || fail "Xvfb did not start"
export DISPLAY=":$(cat "$WORK/display")"
log "starting wine (prefix $WINEPREFIX, display $DISPLAY)"
wine wineboot --init 2>/dev/null
# Hearth needs Windows 10 (MinVersion); wine 8 reports Windows 7 unless told.
wine winecfg /v win10
# ISCC under wine skips dot-files unless Explorer shows them (measured).
wine reg add 'HKCU\Software\Wine' /v ShowDotFiles /d Y /f >/dev/null
wineserver -w

# -- 2. Compile: an "old" quick build, and the real one ---------------------------------------------
VERSION=$("$PY" "$REPO/packaging/project_version.py")
NUMERIC=$("$PY" "$REPO/packaging/project_version.py" --numeric)
compile() {  # compile OUTDIR VERSION NUMERIC [ISCC defines...]
    local out=$1 version=$2 numeric=$3; shift 3
    (cd "$REPO" && wine "$ISCC" /Q "/DAppVersion=$version" "/DAppVersionNumeric=$numeric" \
        "/DBundleDir=$(winpath "$BUNDLE")" /DAppExe=Hearth "/DOutputDir=$(winpath "$out")" \
        "/DModelDir=$(winpath "$REPO/tests/fixtures/models/tiny-llama")" /DModelName=tiny-llama \
        "$@" installer.iss)
}
log "ISCC refuses to compile without a version"
if (cd "$REPO" && wine "$ISCC" /Q installer.iss >/dev/null 2>&1); then fail "compiled without AppVersion"; fi
log "compiling the old version 0.0.1 (no compression)"
compile "$WORK/out-old" 0.0.1 0.0.1.0 /DCompression=none
log "compiling $VERSION ($COMPRESSION; the slow step)"
compile_started=$(date +%s%N)
if [ "$COMPRESSION" = release ]; then
    compile "$WORK/out" "$VERSION" "$NUMERIC"
else
    compile "$WORK/out" "$VERSION" "$NUMERIC" "/DCompression=$COMPRESSION"
fi
COMPILE_S=$(since "$compile_started")
SETUP="$WORK/out/Hearth-$VERSION-setup.exe"
[ -f "$SETUP" ] || fail "no $SETUP"
SETUP_MB=$(awk -v n="$(stat -c %s "$SETUP")" 'BEGIN { printf "%.1f", n / 1e6 }')
COMPILED=true

# -- 3. Install the old version, then upgrade in place ----------------------------------------------
UNINSTALL_KEY='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\{B736C035-0B2F-4C37-BE2E-CC4D3104445E}_is1'
FOLDERS='HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\Shell Folders'
LOCAL=$(unixpath "$(regval "$FOLDERS" 'Local AppData')")
PROGRAMS=$(unixpath "$(regval "$FOLDERS" 'Programs')")
DESKTOP=$(unixpath "$(regval "$FOLDERS" 'Desktop')")
APP="$LOCAL/Programs/Hearth"
DATA="$LOCAL/Hearth"
setup() {  # setup EXE [args...]: silent install, waiting for everything it started
    wine "$@" /VERYSILENT /SUPPRESSMSGBOXES /NORESTART "/LOG=$(winpath "$WORK/setup-$(date +%s%N).log")" 2>/dev/null
    wineserver -w
}
log "installing 0.0.1"
setup "$WORK/out-old/Hearth-0.0.1-setup.exe"
[ "$(regval "$UNINSTALL_KEY" DisplayVersion)" = 0.0.1 ] || fail "0.0.1 did not register"
[ -f "$APP/Hearth" ] || fail "0.0.1 is not in $APP"
INSTALLED=true
touch "$APP/_internal/left-by-0.0.1.txt"
# The user's own data, which no silent uninstall may touch.
mkdir -p "$DATA"
echo "a conversation" > "$DATA/conversations.sqlite3"

log "upgrading to $VERSION (with the desktop shortcut)"
setup "$SETUP" /MERGETASKS=desktopicon
"$PY" - "$BUNDLE" "$APP" <<'EOF' || fail "installed files differ from the bundle"
# Every bundle file is installed with the same bytes (wine copies links as files); nothing else
# but the uninstaller is there.
import hashlib, sys
from pathlib import Path
bundle, app = Path(sys.argv[1]), Path(sys.argv[2])
def manifest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}
want, got = manifest(bundle), manifest(app)
extra = sorted(set(got) - set(want) - {"unins000.exe", "unins000.dat"})
missing = sorted(set(want) - set(got))
changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
for label, names in (("missing", missing), ("changed", changed), ("unexpected", extra)):
    if names:
        print(f"{label}: {len(names)}: {names[:5]}", file=sys.stderr)
print(f"{len(want)} files match", file=sys.stderr)
sys.exit(1 if missing or changed or extra else 0)
EOF
[ ! -e "$APP/_internal/left-by-0.0.1.txt" ] || fail "the upgrade left the old bundle's files"
[ -f "$APP/unins000.exe" ] && [ ! -e "$APP/unins001.exe" ] || fail "the upgrade did not reuse the uninstaller"
[ -f "$PROGRAMS/Hearth.lnk" ] || fail "no Start-menu shortcut in $PROGRAMS"
[ -f "$DESKTOP/Hearth.lnk" ] || fail "no desktop shortcut in $DESKTOP"
"$PY" - "$PROGRAMS/Hearth.lnk" "$(winpath "$APP/Hearth")" <<'PYEOF' || fail "the shortcut does not point at $APP/Hearth"
import sys
from pathlib import Path
link, target = Path(sys.argv[1]).read_bytes(), sys.argv[2]
sys.exit(0 if target.encode("utf-16-le") in link or target.encode("latin-1") in link else 1)
PYEOF
[ "$(regval "$UNINSTALL_KEY" DisplayVersion)" = "$VERSION" ] || fail "the registry does not say $VERSION"
[ "$(regval "$UNINSTALL_KEY" 'Inno Setup: App Path')" = "$(winpath "$APP")" ] \
    || fail "the registry names another folder than $APP"
hearth_keys=$(wine reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null \
    | tr -d '\r' | grep -c 'DisplayName *REG_SZ *Hearth$' || true)
[ "$hearth_keys" = 1 ] || fail "$hearth_keys Hearth uninstall entries"
cmp -s "$DATA/models/tiny-llama/genai_config.json" \
    "$REPO/tests/fixtures/models/tiny-llama/genai_config.json" || fail "the offline model was not seeded"
UPGRADED=true

# -- 4. Uninstall silently ----------------------------------------------------------------------------
log "uninstalling silently"
wine "$APP/unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES /NORESTART 2>/dev/null
wineserver -w   # the uninstaller hands over to a copy of itself and returns at once
[ ! -e "$APP" ] || fail "left in $APP: $(find "$APP" | head -5 | tr '\n' ' ')"
[ ! -e "$PROGRAMS/Hearth.lnk" ] || fail "the Start-menu shortcut is left"
[ ! -e "$DESKTOP/Hearth.lnk" ] || fail "the desktop shortcut is left"
if wine reg query "$UNINSTALL_KEY" >/dev/null 2>&1; then fail "the uninstall key is left"; fi
[ -f "$DATA/conversations.sqlite3" ] && [ -f "$DATA/models/tiny-llama/genai_config.json" ] \
    || fail "the silent uninstall deleted the user's data"
DATA_KEPT=true
UNINSTALLED=true

# -- 5. Uninstall through the dialogs: the data prompt --------------------------------------------
wait_window() {  # wait_window TITLE-REGEX -> the id of a visible window with that title
    local id
    for _ in $(seq 120); do
        id=$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1)
        if [ -n "$id" ]; then echo "$id"; return 0; fi
        sleep 0.5
    done
    return 1
}
press() {  # press WINDOW KEY: focus it with a click (no window manager here), then type KEY
    xdotool mousemove --window "$1" 10 10 click 1 && sleep 0.3 && xdotool key "$2"
}
uninstall_interactively() {  # uninstall_interactively KEY: KEY answers the data prompt
    local pid id
    wine "$APP/unins000.exe" 2>/dev/null &
    pid=$!
    id=$(wait_window '^Hearth Uninstall$') || fail "no uninstall confirmation"
    press "$id" y                          # "completely remove Hearth?": Yes
    id=$(wait_window '^Uninstall$') || fail "the uninstaller did not ask about the user's data"
    press "$id" "$1"                       # "Also delete your conversations ...?"
    id=$(wait_window '^Hearth Uninstall$') || fail "no 'Hearth was removed' message"
    press "$id" Return
    wait "$pid" 2>/dev/null || true
    wineserver -w
}
for answer in Return y; do
    setup "$SETUP"
    [ -f "$APP/Hearth" ] || fail "the reinstall failed"
    log "uninstalling through the dialogs; the data prompt gets: $answer"
    uninstall_interactively "$answer"
    [ ! -e "$APP" ] || fail "left in $APP after the interactive uninstall"
    if [ "$answer" = Return ]; then
        [ -f "$DATA/conversations.sqlite3" ] || fail "the prompt's default deleted the user's data"
    else
        [ ! -e "$DATA" ] || fail "Yes did not delete $DATA"
    fi
done
if wine reg query "$UNINSTALL_KEY" >/dev/null 2>&1; then fail "the uninstall key is left"; fi
for link in "$PROGRAMS/Hearth.lnk" "$DESKTOP/Hearth.lnk"; do
    [ ! -e "$link" ] || fail "$link is left"
done
ASKED=true
log "passed"
