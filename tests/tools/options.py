"""The option vocabulary: the table in sp(7) and the options of every program's --help.

    python3 tests/tools/options.py BIN MAN7     checks them against each other
                                                and against each man1 page
    python3 tests/tools/options.py BIN          prints the table's mdoc rows

A --help line that names an option starts with "-x, --name" or "    --name".
A row of the table in sp(7), section OPTIONS, is
    .It Fl x Ta Fl -name Ta program program ...
with "\\&" in place of "Fl x" for an option without a short form and the
programs named without their "sp-" prefix, or "all".  Each long option has one short
form at most, each short form one long option, in every program alike.
"""
import os
import re
import subprocess
import sys

HELP_RE = re.compile(r"^\s+(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)")
ROW_RE = re.compile(r"^\.It (?:Fl ([A-Za-z])|\\&) Ta Fl -([a-z][a-z0-9-]*) Ta (.*)$")


def from_help(bindir):
    """{(program, long): short or None} from every program's --help."""
    opts = {}
    for prog in sorted(os.listdir(bindir)):
        if not prog.startswith("sp-"):
            continue
        out = subprocess.run([os.path.join(bindir, prog), "--help"], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            m = HELP_RE.match(line)
            if m:
                opts[(prog[3:], m.group(2))] = m.group(1)
    return opts


def from_table(man7, programs):
    """{(program, long): short or None} from the rows of sp(7)'s table
    ("all": every one of programs)."""
    text = open(man7).read()
    section = text.split("\n.Sh OPTIONS\n", 1)[1].split("\n.Sh ", 1)[0]
    opts, shorts, longs = {}, {}, set()
    for line in section.splitlines():
        m = ROW_RE.match(line)
        if not m:
            continue
        short, name, progs = m.groups()
        assert name not in longs, "--%s has two rows" % name
        longs.add(name)
        if short:
            assert short not in shorts, "-%s is both --%s and --%s" % (short, shorts[short], name)
            shorts[short] = name
        for p in programs if progs == "all" else progs.split():
            opts[(p, name)] = short
    return opts


SHORT_RE = re.compile(r"^\.It Fl ([A-Za-z]) ,")
LONG_RE = re.compile(r"(?:Fl |, )-([a-z][a-z0-9-]*)")


def man_mismatches(man1, helped):
    """Options whose short form in a program's man page differs from --help
    (an .It line may describe several: ".It Fl -mean Ar V , Fl -std Ar V")."""
    bad = []
    for (prog, name), short in sorted(helped.items()):
        path = os.path.join(man1, "sp-%s.1" % prog)
        items = [l for l in open(path).read().splitlines() if l.startswith(".It Fl ")]
        found = [SHORT_RE.match(l) for l in items if name in LONG_RE.findall(l)]
        if not found:
            bad.append("sp-%s(1) does not describe --%s" % (prog, name))
        elif (found[0].group(1) if found[0] else None) != short:
            bad.append("sp-%s(1): --%s has another short form than in its --help" % (prog, name))
    return bad


def rows(opts):
    by_name = {}
    for (prog, name), short in opts.items():
        s, progs = by_name.setdefault(name, [short, []])
        assert s == short, "--%s is -%s in one program and -%s in another" % (name, s, short)
        progs.append(prog)
    for name in sorted(by_name, key=lambda n: (by_name[n][0] is None, (by_name[n][0] or "").lower(), n)):
        short, progs = by_name[name]
        every = len(progs) == len({p for p, _ in opts})
        print(".It %s Ta Fl -%s Ta %s" % ("Fl " + short if short else "\\&", name,
                                         "all" if every else " ".join(sorted(progs))))


def main():
    helped = from_help(sys.argv[1])
    if len(sys.argv) < 3:
        rows(helped)
        return
    table = from_table(sys.argv[2], sorted({p for p, _ in helped}))
    bad = []
    for key in sorted(set(helped) | set(table)):
        prog, name = key
        if key not in table:
            bad.append("sp-%s --help has --%s, the table does not list it for sp-%s" % (prog, name, prog))
        elif key not in helped:
            bad.append("the table lists --%s for sp-%s, its --help does not" % (name, prog))
        elif helped[key] != table[key]:
            bad.append("sp-%s: --%s is -%s in --help, -%s in the table" % (prog, name, helped[key], table[key]))
    bad += man_mismatches(os.path.join(os.path.dirname(sys.argv[2]), "..", "man1"), helped)
    print("\n".join(bad) if bad else "ok")


if __name__ == "__main__":
    main()
