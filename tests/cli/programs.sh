#!/bin/sh
# Every program keeps the common contract: --help on stdout with exit 0,
# --version, a bad option is a usage error (exit 2, nothing on stdout), a
# man page whose synopsis and options agree with --help; and `make install`
# puts programs and man pages in place.
. "$(dirname "$0")/lib.sh"
MAN=$ROOT/man
for p in "$BIN"/sp-*; do
    [ -x "$p" ] || continue
    n=$(basename "$p")
    "$p" --help >"$T/help" 2>"$T/err"; rc=$?
    if [ $rc -eq 0 ] && head -n 1 "$T/help" | grep -q "^Usage: $n" && [ ! -s "$T/err" ]; then
        ok "$n --help"
    else
        fail "$n --help" "exit $rc: $(head -c 200 "$T/err")"
    fi
    if [ "$("$p" --version 2>&1)" = "$n $(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")" ]; then
        ok "$n --version"
    else
        fail "$n --version" "$("$p" --version 2>&1 | head -c 200)"
    fi
    expect_error "$n rejects an unknown option" 2 "$p" --no-such-option
    page=$MAN/man1/$n.1
    if [ ! -f "$page" ]; then
        fail "$n has a man page" "no $page"
        continue
    fi
    missing=""
    for opt in $(grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u); do
        grep -q -E "(Fl|,) +(\\\\)?-${opt#--}([^a-z0-9-]|\$)|\\\\-\\\\-${opt#--}([^a-z0-9-]|\$)" "$page" ||
            missing="$missing $opt"
    done
    if [ -z "$missing" ]; then ok "$n man page documents every option of --help"
    else fail "$n man page documents every option of --help" "missing:$missing"; fi
    if command -v man >/dev/null 2>&1; then
        w=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        if [ -z "$w" ]; then ok "$n man page renders cleanly"; else fail "$n man page renders cleanly" "$w"; fi
    fi
done

# make install, into a staging folder, from the programs already built:
# each is assumed up to date (-o), so that the install never rebuilds them
# with other flags than the caller's (a sanitizer build stays one)
keep=""
for p in "$BIN"/sp-*; do keep="$keep -o $p"; done
before=$(cat "$BIN"/sp-* | cksum)
make -s -C "$ROOT" install BINDIR="$BIN" BUILD="${SP_BUILD:-$ROOT/build}" $keep \
    PREFIX=/usr DESTDIR="$T/stage" >"$T/inst" 2>&1
missing=""
for p in "$BIN"/sp-*; do
    n=$(basename "$p")
    [ -x "$T/stage/usr/bin/$n" ] || missing="$missing bin/$n"
    [ -f "$T/stage/usr/share/man/man1/$n.1" ] || missing="$missing man1/$n.1"
done
for f in man5/sp-checkpoint.5 man5/sp-data.5 man7/sp.7; do
    [ -f "$T/stage/usr/share/man/$f" ] || missing="$missing $f"
done
if [ "$(cat "$BIN"/sp-* | cksum)" = "$before" ]; then ok "make install keeps the programs as built"
else fail "make install keeps the programs as built" "it rebuilt them: $(head -c 300 "$T/inst")"; fi
if [ -z "$missing" ]; then ok "make install puts programs and man pages in place"
else fail "make install puts programs and man pages in place" "missing:$missing $(head -c 300 "$T/inst")"; fi
finish
