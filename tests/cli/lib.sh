# lib.sh: helpers for the command-line tests.  Source it; it sets BIN,
# FIX (tests/fixtures), T (a private temporary folder, removed at exit) and
# prints TAP-like "ok"/"not ok" lines that tests/run counts.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SP_BIN:-$ROOT/bin}
FIX=$ROOT/tests/fixtures
SHARED=$ROOT/../shared
[ -d "$SHARED" ] || SHARED=$ROOT/shared
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
_failed=0
# Debian's python3 (with numpy, torch, onnx, cv2) before any other on PATH
PATH=$BIN:/usr/bin:$PATH

ok()   { echo "ok $1"; }
fail() { echo "not ok $1 - $2"; _failed=1; }
check() { # check NAME COMMAND...: passes when the command succeeds
    name=$1; shift
    if "$@" >"$T/.out" 2>"$T/.err"; then ok "$name"; else fail "$name" "$(head -c 300 "$T/.err")"; fi
}
# expect_error NAME STATUS COMMAND...: the command must exit with STATUS, print
# nothing on stdout, and one line on stderr that starts with the program name.
expect_error() {
    name=$1 want=$2; shift 2
    "$@" >"$T/.out" 2>"$T/.err"; rc=$?
    prog=$(basename "$1")
    if [ "$rc" -ne "$want" ]; then fail "$name" "exit $rc, expected $want: $(head -c 300 "$T/.err")"
    elif [ -s "$T/.out" ]; then fail "$name" "wrote to stdout"
    elif ! head -n 1 "$T/.err" | grep -q "^$prog: "; then fail "$name" "stderr: $(head -c 300 "$T/.err")"
    else ok "$name"; fi
}
# find_python MODULE...: prints the first python3 that imports every module
# (nothing when none does), so checks needing them can be skipped.
find_python() {
    _mods=$(echo "$@" | sed 's/ /, /g')
    for _p in python3 /usr/bin/python3; do
        if "$_p" -c "import $_mods" 2>/dev/null; then echo "$_p"; return 0; fi
    done
    return 0
}
# py_check PRELUDE NAME PYTHON-CODE [ARGS]: runs PRELUDE then the code in
# $PY with sys, numpy as np and tests/tools/spd.py imported and argv set;
# passes when it prints "ok".
py_check() {
    _pre=$1 name=$2 code=$3; shift 3
    out=$(PYTHONPATH=$ROOT/tests/tools $PY -c "import sys, numpy as np, spd
$_pre
$code" "$@" 2>&1)
    if [ "$out" = ok ]; then ok "$name"; else fail "$name" "$(echo "$out" | tail -n 3)"; fi
}
finish() { exit $_failed; }
