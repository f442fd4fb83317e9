#!/bin/sh
# layout.sh: the rules of the source tree that a reader relies on.
# - The library (common/) never prints or exits: only common/cli/ includes
#   the command-line header, no library file writes to stdout or stderr or
#   calls exit(), and only sp_oom (common/core/base.c) aborts.
# - Private headers end in _priv.h and live beside the module that owns
#   them; public ones are include/sp/NAME.h.
# - The #include graph of all headers has no cycle.
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1

leak=$(grep -rl '#include "sp/cli.h"' common | grep -v '^common/cli/')
[ -z "$leak" ] && ok "only common/cli includes sp/cli.h" \
    || fail "only common/cli includes sp/cli.h" "$(echo $leak)"

# printf-family calls on stdout/stderr, exit(), abort(): library code
# reports errors with sp_errorf and returns.
noisy=$(grep -rnE '\b(exit|_exit|abort)\s*\(|\b(stderr|stdout)\b|(^|[^a-z_])(printf|puts|putchar)\s*\(' \
        --include='*.c' --include='*.cu' common | grep -v '^common/cli/' \
        | grep -vE '^common/core/base\.c:[0-9]+:\s*(fprintf\(stderr, "sp: out of memory|abort\(\);)')
[ -z "$noisy" ] && ok "the library never prints or exits" \
    || fail "the library never prints or exits" "$(echo "$noisy" | head -n 3)"

# A planted offender must be found, so the check above can fail.
mkdir -p "$T/common/x"
printf '#include <stdlib.h>\nvoid f(void) { exit(1); }\n' >"$T/common/x/bad.c"
(cd "$T" && grep -rnE '\b(exit|_exit|abort)\s*\(' --include='*.c' common | grep -q bad.c) \
    && ok "the exit check finds a planted exit()" \
    || fail "the exit check finds a planted exit()" "grep missed it"

badpriv=$(find common -name '*.h' ! -name '*_priv.h')
[ -z "$badpriv" ] && ok "private headers are named *_priv.h" \
    || fail "private headers are named *_priv.h" "$(echo $badpriv)"

# Header include graph: repeatedly drop headers that include no remaining
# header; anything left is on a cycle.
headers=$(find include common -name '*.h' | sort)
edges="$T/edges"
: >"$edges"
for h in $headers; do
    dir=$(dirname "$h")
    grep -oE '#include "[^"]+"' "$h" | sed 's/#include "//; s/"$//' | while read -r inc; do
        for cand in "include/$inc" "common/$inc" "$dir/$inc"; do
            [ -f "$cand" ] && { echo "$h $cand"; break; }
        done
    done >>"$edges"
done
left=$headers
while :; do
    next=""
    for h in $left; do
        deps=$(awk -v h="$h" '$1 == h { print $2 }' "$edges")
        for d in $deps; do
            case " $(echo $left) " in *" $d "*) next="$next $h"; break ;; esac
        done
    done
    [ "$(echo $next)" = "$(echo $left)" ] && break
    left=$next
done
[ -z "$(echo $left)" ] && ok "no cycle among #includes" \
    || fail "no cycle among #includes" "$(echo $left)"
finish
