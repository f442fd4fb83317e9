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
finish() { exit $_failed; }
