# lib.sh: what the bench scripts share, sourced from the repository root:
# the build directory, the Python that has PyTorch, idle OpenMP threads
# that sleep (on both sides, unless OMP_WAIT_POLICY is set), a scratch
# directory removed on exit, bench_cc, which builds one bench program, and
# bench_bin, which builds sp's programs the script runs from bin/.
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # PY is for the scripts that source this
PY=${PYTHON:-/usr/bin/python3}
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

# bench_cc NAME [CFLAGS...]: $BUILD/bench/NAME from bench/NAME.c and libsp.a
bench_cc() {
    name=$1
    shift
    make -s BUILD="$BUILD" "$BUILD/libsp.a" >&2
    mkdir -p "$BUILD/bench"
    # shellcheck disable=SC2016  # $(LDLIBS) is make's
    libs=$(make -s --no-print-directory --eval 'print-libs: ; @echo $(LDLIBS)' print-libs)
    # shellcheck disable=SC2086  # $libs is a list of flags
    cc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -Iinclude "$@" -o "$BUILD/bench/$name" \
        "bench/$name.c" "$BUILD/libsp.a" $libs
}

# bench_bin PROG...: bin/PROG, built or brought up to date
bench_bin() {
    for p; do set -- "$@" "bin/$p"; shift; done
    make -s BUILD="$BUILD" "$@" >&2
}
