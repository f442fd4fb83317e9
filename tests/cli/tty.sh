#!/bin/sh
# A terminal on standard input is refused with one sentence by every program
# that reads a binary checkpoint there, as a terminal on standard output
# already is: none waits silently for input typed at the keyboard.  The
# terminal is simulated with script(1), which runs the command on a
# pseudo-terminal.
. "$(dirname "$0")/lib.sh"

if ! command -v script >/dev/null 2>&1; then
    echo "ok tty: script(1) missing # SKIP"
    finish
fi

# on_tty NAME COMMAND: run COMMAND (a shell string) with a terminal on stdin;
# passes when it exits 2 at once saying it refuses to read from a terminal.
on_tty() {
    name=$1 cmd=$2
    timeout 20 script -qec "$cmd; echo \"exit \$?\"" /dev/null </dev/null >"$T/out" 2>&1
    tr -d '\r' <"$T/out" >"$T/tty"
    prog=${cmd%% *}
    if grep -q "^$prog: refusing to read binary data from a terminal; name a FILE or use a pipe$" "$T/tty" &&
       grep -q "^exit 2$" "$T/tty"; then ok "$name"
    else fail "$name" "$(head -c 300 "$T/tty")"; fi
}

cd "$T" || exit 1
sp-init --arch resnet20 -o r20.spk
on_tty tty_flops "sp-flops"
on_tty tty_inspect "sp-inspect"
on_tty tty_eval "sp-eval --data absent.spd"
on_tty tty_import "sp-import -o out.spk"
on_tty tty_export "sp-export --format onnx -o out.onnx"
on_tty tty_compress "sp-compress -o out.spk"
on_tty tty_select "sp-select --by l1 --block 0 --rate 0.5 -o out.spk"
on_tty tty_finetune "sp-finetune --data absent.spd --val absent.spd -o out.spk"
on_tty tty_train_mask "sp-train-mask --block 0 --data absent.spd --val absent.spd -o out.spk"
on_tty tty_flops_baseline "sp-flops --baseline - r20.spk"
check tty_nothing_written sh -c '! ls "$1"/out.* 2>/dev/null' sh "$T"

# A pipe or a file on stdin is read as before.
check tty_pipe_still_read sh -c 'sp-init --arch resnet20 | sp-flops | grep -q "^params  *269,722"'
check tty_file_operand_on_tty sh -c "timeout 20 script -qec 'sp-flops r20.spk' /dev/null </dev/null | grep -q '^params  *269,722'"
finish
