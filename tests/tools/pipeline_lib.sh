# pipeline_lib.sh: helpers for the pipeline tests (tests/cli/pipeline_*.sh).
# Source it after lib.sh.  Every pipeline runs with the programs of $BIN,
# its stages in $T/NAME, and its make output in $T/NAME.out.

export OMP_WAIT_POLICY=passive    # other builds and tests share the cores
PIPES=$ROOT/pipelines
RSVG=$(command -v rsvg-convert || true)

# need_pipeline_tools: says why the test cannot run (a SKIP line) and fails
# when a program, make or bash is missing.
need_pipeline_tools() {
    for p in sp-pack sp-init sp-import sp-export sp-train-mask sp-compress sp-finetune \
             sp-eval sp-flops sp-inspect sp-report; do
        if [ ! -x "$BIN/$p" ]; then
            echo "ok $(basename "$0" .sh): $p not built, nothing to check # SKIP"
            return 1
        fi
    done
    for p in make bash; do
        command -v $p >/dev/null 2>&1 || { echo "ok $(basename "$0" .sh): no $p # SKIP"; return 1; }
    done
    return 0
}

# pipe NAME [VAR=VALUE...]: runs pipelines/NAME.mk into $T/NAME (or OUT=...),
# output in $T/NAME.out; its status is make's.
pipe() {
    _n=$1 _t0=$(date +%s); shift
    make --no-print-directory -f "$PIPES/$_n.mk" SP_BIN="$BIN" OUT="$T/$_n" JOBS=1 "$@" \
        >"$T/$_n.out" 2>&1
    _rc=$?
    echo "# $_n: make took $(( $(date +%s) - _t0 )) s"
    return $_rc
}

# commands NAME: the sp programs the last run of NAME started (or, under
# make -n, would start), one per line, from the commands make echoed.
commands() {
    sed -n 's/^\(sp-[a-z-]*\) .*/\1/p; s/^t0=[^;]*; \(sp-eval\) .*/\1/p' "$T/$1.out"
}

# check_report NAME OUT: the report of a finished pipeline is complete:
# numbers in its summary (top-1 before and after, a FLOPs drop, images/s),
# every picture drawn by rsvg-convert, in its own file and inline in the
# HTML page; and a second make has nothing to do.
check_report() {
    _n=$1 _o=$2; shift 2
    _md=$_o/report/report.md _html=$_o/report/report.html
    if [ ! -s "$_md" ] || [ ! -s "$_html" ]; then
        fail "${_n}_report" "no report: $(tail -n 5 "$T/$_n.out")"
        return
    fi
    _num='[0-9][0-9,]*(\.[0-9]+)?'
    if grep -qE "^\| top-1 accuracy, % \| $_num \| $_num \| [+-]$_num points \|$" "$_md" &&
       grep -qE "^\| FLOPs \(thop convention\) \| $_num \| $_num \| -$_num % \|$" "$_md" &&
       grep -qE "^\| inference, images/s \| $_num \| $_num \| ${_num}x speed-up \|$" "$_md" &&
       grep -qE '^\| [0-9]+ \| [^|]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+ \|$' "$_md" &&
       [ "$(grep -c '<svg ' "$_html")" -eq "$(ls "$_o"/report/*.svg | wc -l)" ]
    then ok "${_n}_report"
    else fail "${_n}_report" "$(head -n 12 "$_md")"; fi
    # the FLOPs went down
    if grep -qE "^\| FLOPs \(thop convention\) \| .* \| -0\.00 % \|$" "$_md"
    then fail "${_n}_flops_drop" "no FLOPs removed"; else ok "${_n}_flops_drop"; fi
    if [ -z "$RSVG" ]; then
        echo "ok ${_n}_pictures: rsvg-convert missing (librsvg2-bin) # SKIP"
    else
        # each picture file, and the page's own copies cut out of the HTML
        rm -rf "$T/png" && mkdir -p "$T/png"
        awk -v d="$T/png" '/^<svg /{f=d "/inline" ++k ".svg"} f{print > f} /^<\/svg>/{close(f); f=""}' \
            "$_html"
        _bad=""
        for _s in "$_o"/report/*.svg "$T"/png/inline*.svg; do
            _p=$T/png/$(basename "$_s" .svg).png
            "$RSVG" "$_s" -o "$_p" 2>>"$T/rsvg.err" || _bad="$_bad $(basename "$_s")"
        done
        _bad="$_bad$(pngs_drawn "$T"/png/*.png)"
        if [ -z "$_bad" ]; then ok "${_n}_pictures"
        else fail "${_n}_pictures" "not drawn:$_bad $(head -c 300 "$T/rsvg.err")"; fi
    fi
    if make --no-print-directory -q -f "$PIPES/$_n.mk" SP_BIN="$BIN" OUT="$_o" JOBS=1 "$@" \
        "$_o/report/report.html" >/dev/null 2>&1
    then ok "${_n}_up_to_date"
    else fail "${_n}_up_to_date" "$(make -n -f "$PIPES/$_n.mk" SP_BIN="$BIN" OUT="$_o" "$@" \
        "$_o/report/report.html" 2>&1 | head -c 300)"; fi
}

# pngs_drawn FILE...: prints " NAME" for each file that is not a PNG with
# something drawn on it (with PIL: more than a few colours; without, a PNG
# signature and some size).
pngs_drawn() {
    for _f in "$@"; do
        if [ ! -s "$_f" ] || [ "$(wc -c <"$_f")" -lt 1000 ] ||
            [ "$(head -c 8 "$_f" | od -An -c | tr -d ' ')" != '211PNG\r\n032\n' ]
        then printf ' %s' "$(basename "$_f")"; fi
    done
    [ -z "$PYPIL" ] && return 0
    $PYPIL -c 'import sys, os
from PIL import Image
for f in sys.argv[1:]:
    im = Image.open(f).convert("RGB")
    if len(im.getcolors(1 << 20) or range(99)) <= 8:
        sys.stdout.write(" " + os.path.basename(f))' "$@" 2>&1
}
PYPIL=$(find_python PIL)
