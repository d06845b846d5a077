#!/usr/bin/env bash
# Shared set-up for scripts/run and scripts/test: system GL packages (when missing), venv, pip.
# Sourced, not executed: it exports VENV and PY for the caller.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RACKFOCUS_VENV:-$ROOT/.venv}"

# Debian packages for headless GL (Mesa EGL + llvmpipe) and a virtual display (Xvfb) for the
# window smoke test. Checked by library/binary presence so a machine that has them is untouched.
missing_debs() {
    local need=()
    # ldconfig's list is read once into a variable and searched there: piping it into
    # `grep -q` under `set -o pipefail` fails at random (grep exits at the first match, ldconfig
    # then dies of SIGPIPE and the pipeline reports a failure for a library that is there).
    local libs
    libs="$(ldconfig -p 2>/dev/null || true)"
    has_lib() { [[ "$libs" == *"$1"* ]]; }
    has_lib 'libEGL.so.1' || need+=(libegl1)
    has_lib 'libEGL_mesa.so.0' || need+=(libegl-mesa0)
    [ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/aarch64-linux-gnu/dri/swrast_dri.so ] \
        || ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || need+=(libgl1-mesa-dri)
    has_lib 'libGL.so.1' || need+=(libgl1)
    command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
    has_lib 'libxkbcommon.so.0' || need+=(libxkbcommon0)
    has_lib 'libXrandr.so.2' || need+=(libxrandr2)
    has_lib 'libXcursor.so.1' || need+=(libxcursor1)
    has_lib 'libXi.so.6' || need+=(libxi6)
    has_lib 'libXinerama.so.1' || need+=(libxinerama1)
    # The app's native file dialog (portable-file-dialogs) shells out to zenity; only the app
    # needs it (scripts/run sets RACKFOCUS_APP=1), and drag-and-drop works without it.
    if [ "${RACKFOCUS_APP:-0}" = "1" ]; then command -v zenity >/dev/null 2>&1 || need+=(zenity); fi
    echo "${need[@]:-}"
}

DEBS="$(missing_debs)"
if [ -n "${DEBS// /}" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing headless GL packages: $DEBS" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $DEBS >/dev/null
    else
        echo "setup: missing system packages: $DEBS" >&2
        echo "setup: install them with: sudo apt-get install $DEBS" >&2
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    PYTHON="${PYTHON:-python3}"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "setup: Python >= 3.11 is required ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
# Re-install only when pyproject.toml changed since the last successful install.
STAMP="$VENV/.rackfocus-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    "$PY" -m pip install -q --upgrade pip >/dev/null
    "$PY" -m pip install -q -e "$ROOT[dev]"
    touch "$STAMP"
fi
export VENV PY ROOT
