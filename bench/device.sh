#!/usr/bin/env bash
# One GPU run of the benchmarks: speed (DOF, display, YUV against a copy), stream (decode +
# upload + conversion throughput, seeks), export and, when bench/interactive.py exists, the
# interactive benchmark; then a dated table of absolute figures with the issue's GPU targets
# (4K DOF < 2 ms, 1080p DOF < 0.6 ms, 4K preview at the clip's rate) marked met / not met,
# appended to docs/benchmarks.md. At most 5 minutes of wall time (each step has its own limit;
# --fast: about 2 minutes).
#
#   bash bench/device.sh [--fast | --smoke] [--no-docs]
#
# --smoke runs every step on tiny frames: a check of the script itself on a machine without a GPU.
# Exit status 1 when a step failed or ran out of time (the report says which), 2 when no Python
# with moderngl and PyAV or no GL context was found.
#
# On the project's device machine (see docs/benchmarks.md, "GPU runs"): the working tree is
# copied there without .venv, so the script installs carried wheels (.whl/*.whl, made by
# bench/device_prepare.sh) into a temporary folder and runs the system python3; it unpacks the
# carried GL loader packages (.gl/*.deb) first. Figures and the report go to $OUT when that is
# set (only $OUT comes back from that machine), and to bench-results/ otherwise.
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
FAST=0
DOCS=1
for arg in "$@"; do
    case "$arg" in
        --fast) FAST=1 ;;
        --smoke) FAST=2 ;;
        --no-docs) DOCS=0 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "bench/device.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done
START=$(date +%s)
RESULTS="${OUT:-$ROOT/bench-results}"
mkdir -p "$RESULTS"
LOG="$RESULTS/device_log.txt"
: > "$LOG"
say() { echo "device.sh: $*" | tee -a "$LOG"; }

# -- GL loaders and the NVIDIA EGL vendor, when carried (device machine) --------------------------
# Only where the NVIDIA driver is mounted (the device machine starts bare each time) or no EGL
# loader exists: never over a workstation's own system libraries.
if compgen -G ".gl/*.deb" > /dev/null && [ "$(id -u)" = 0 ] \
    && { [ -d /usr/local/nvidia ] || ! ldconfig -p | grep -q "libEGL.so.1"; }; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    say "unpacked $(ls .gl/*.deb | wc -l) GL loader packages from .gl/"
fi
NV_EGL=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$NV_EGL" ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES="$NV_EGL"
fi

# -- Python with moderngl and PyAV ----------------------------------------------------------------
PY="${PYTHON:-}"
if [ -z "$PY" ] && [ -x .venv/bin/python ] && .venv/bin/python -c "import moderngl, av" 2>/dev/null
then
    PY=.venv/bin/python
fi
if [ -z "$PY" ]; then
    PY=python3
    if compgen -G ".whl/*.whl" > /dev/null; then
        SITE="$(mktemp -d /tmp/rackfocus-site.XXXXXX)"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" \
            .whl/*.whl || { say "wheels in .whl/ did not install"; exit 2; }
        export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
        say "installed $(ls .whl/*.whl | wc -l) wheels from .whl/ for $("$PY" --version 2>&1)"
    fi
fi
if ! "$PY" -c "import moderngl, av, numpy" 2>>"$LOG"; then
    say "$PY lacks moderngl, av or numpy (run bench/device_prepare.sh and carry .whl)"
    exit 2
fi
export PYTHONUNBUFFERED=1
GL="$("$PY" -c "
from rackfocus_live.gpu.context import create_headless_context, describe
print(describe(create_headless_context()))" 2>>"$LOG")" || { say "no GL context"; exit 2; }
say "python: $PY; GL: $GL"
case "$GL" in
    *llvmpipe*|*softpipe*|*swrast*) say "software GL: these are not GPU figures" ;;
esac

# -- the benchmarks, each under its own limit -----------------------------------------------------
if [ "$FAST" = 2 ]; then
    SPEED=(--sizes 320x180 --presets draft --reps 2 --skip-plain)
    STREAM=(--frames 24 --sizes 320x180 --runs 1 --seeks 3 --skip-memory)
    EXPORT=(--size 320x180 --frames 12 --runs 1 --preset ultrafast --quality draft)
    LIMITS=(60 90 90 30)
elif [ "$FAST" = 1 ]; then
    SPEED=(--sizes 1920x1080,3840x2160 --presets default,draft --reps 10 --skip-plain)
    STREAM=(--frames 48 --sizes 3840x2160 --runs 1 --seeks 6 --skip-memory)
    EXPORT=(--size 1920x1080 --frames 24 --runs 1 --preset veryfast)
    LIMITS=(50 70 50 30)
else
    SPEED=(--sizes 640x360,1920x1080,3840x2160 --presets default,draft,high --reps 20)
    STREAM=(--frames 96 --sizes 3840x2160,1920x1080 --runs 2 --seeks 12 --skip-memory)
    EXPORT=(--size 3840x2160 --frames 48 --runs 1)
    LIMITS=(80 110 70 40)
fi
step() {  # name, limit in s, command...
    local name="$1" limit="$2"
    shift 2
    local t0
    t0=$(date +%s)
    say "$name: starting (limit ${limit} s)"
    timeout --kill-after=5 "$limit" "$@" > "$RESULTS/$name.txt" 2>&1
    local rc=$?
    echo "$name $rc $(( $(date +%s) - t0 ))" >> "$RESULTS/steps.txt"
    say "$name: exit $rc after $(( $(date +%s) - t0 )) s"
    tail -n 25 "$RESULTS/$name.txt"
}
: > "$RESULTS/steps.txt"
step speed "${LIMITS[0]}" "$PY" bench/speed.py "${SPEED[@]}" --json "$RESULTS/speed.json"
step stream "${LIMITS[1]}" "$PY" bench/stream.py "${STREAM[@]}" --json "$RESULTS/stream.json"
step export "${LIMITS[2]}" "$PY" bench/export.py "${EXPORT[@]}" --json "$RESULTS/export.json"
if [ -f bench/interactive.py ]; then
    if "$PY" bench/interactive.py --help 2>/dev/null | grep -q -- "--json"; then
        step interactive "${LIMITS[3]}" "$PY" bench/interactive.py --json \
            "$RESULTS/interactive.json"
    else
        step interactive "${LIMITS[3]}" "$PY" bench/interactive.py
    fi
else
    say "interactive: bench/interactive.py not in this tree, skipped"
    echo "interactive skipped 0" >> "$RESULTS/steps.txt"
fi

# -- the report -----------------------------------------------------------------------------------
MODE=$(case "$FAST" in 1) echo fast ;; 2) echo smoke ;; *) echo full ;; esac)
REPORT=(--results "$RESULTS" --mode "$MODE" --seconds "$(( $(date +%s) - START ))")
[ "$DOCS" = 1 ] && REPORT+=(--docs docs/benchmarks.md)
"$PY" bench/device_report.py "${REPORT[@]}" | tee "$RESULTS/report.md"
[ "$DOCS" = 1 ] && [ -n "${OUT:-}" ] && cp docs/benchmarks.md "$OUT/benchmarks.md"
say "done in $(( $(date +%s) - START )) s; figures in $RESULTS"
# Non-zero when a step failed or ran out of time (the report says which).
! awk '$2 != "0" && $2 != "skipped" { bad = 1 } END { exit !bad }' "$RESULTS/steps.txt"
