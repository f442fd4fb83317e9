#!/bin/sh
# One option vocabulary: the table in sp(7) against every program's --help
# and man page (tests/tools/options.py), no short form standing for two
# long options; the check itself fails on a doctored table.
. "$(dirname "$0")/lib.sh"
PY3=$(find_python re)
CHECK=$ROOT/tests/tools/options.py

run_check() { "$PY3" "$CHECK" "$BIN" "$1" 2>&1; }

out=$(run_check "$ROOT/man/man7/sp.7")
if [ "$out" = ok ]; then ok options_table; else fail options_table "$(echo "$out" | head -n 5)"; fi

# The same check on copies of the pages with one thing wrong.
mkdir -p "$T/man/man7" && cp -r "$ROOT/man/man1" "$T/man/"
doctor() { # doctor NAME SED-EXPRESSION WANT: the check must fail, saying WANT
    sed "$2" "$ROOT/man/man7/sp.7" >"$T/man/man7/sp.7"
    out=$(run_check "$T/man/man7/sp.7")
    if [ "$out" != ok ] && echo "$out" | grep -qF -- "$3"; then ok "$1"; else fail "$1" "$out"; fi
}
doctor options_wrong_short 's/^\.It Fl j Ta Fl -json/.It Fl J Ta Fl -json/' \
    "sp-eval: --json is -j in --help, -J in the table"
doctor options_clash 's/^\.It \\& Ta Fl -baseline/.It Fl b Ta Fl -baseline/' \
    "-b is both --batch and --baseline"
doctor options_missing '/Fl -norm-from/d' "sp-import --help has --norm-from"
doctor options_extra 's/^\(\.It .* Fl -logits Ta\) eval/\1 eval flops/' \
    "the table lists --logits for sp-flops"

# Spellings that once meant something else are refused, not misread.
expect_error options_old_pack_j 2 sp-pack -j 2 /nonexistent
expect_error options_old_flops_b 2 sp-flops -b x.spk
expect_error options_old_inspect_r 2 sp-inspect -r 0
finish
