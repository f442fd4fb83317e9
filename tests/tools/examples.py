"""examples.py: the examples of the documentation, one file per block.

    python3 tests/tools/examples.py ROOT OUT

Reads ROOT/README.md and the EXAMPLES section of every man page under
ROOT/man, and writes OUT/DOC/NN.sh (a shell example), OUT/DOC/NN.py (a
Python one: its first line is an import) or OUT/DOC/NN.skip (one that is
not run; the file holds why), numbered in document order, DOC being the
file's name (README.md, sp-init.1, ...).

README.md: an indented code block is an example when its first word is a
command (sp-*, make, python3, scripts/...); listings of files are not.
Man pages: each .Bd -literal block and each .Dl line of EXAMPLES, with the
roff escapes undone and a leading "$ " prompt dropped.
A block that cannot run in the test suite is marked on the line before it
(blank lines between are allowed), with the reason:
    README.md:  <!-- example: not run (REASON) -->
    man page:   .\\" example: not run (REASON)
"""
import os
import re
import sys

COMMAND_RE = re.compile(r"^(sp-[a-z-]+|make|python3|/usr/bin/python3|scripts/[a-z-]+)(\s|$)")
MARK_RE = re.compile(r"example: not run \((.*)\)")


def readme_blocks(text):
    lines = text.splitlines()
    blocks, i, mark = [], 0, None
    while i < len(lines):
        m = MARK_RE.search(lines[i])
        if m and lines[i].lstrip().startswith("<!--"):
            mark = m.group(1)
        if lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or
                                      (not lines[j].strip() and j + 1 < len(lines) and
                                       lines[j + 1].startswith("    "))):
                j += 1
            body = "\n".join(l[4:] for l in lines[i:j])
            if COMMAND_RE.match(body):
                blocks.append((body, mark))
            mark = None
            i = j
            continue
        if lines[i].strip() and not lines[i].lstrip().startswith("<!--"):
            mark = None
        i += 1
    return blocks


def unroff(line):
    line = line.replace("\\e", "\\").replace("\\&", "").replace("\\-", "-")
    line = line.replace("\\(aq", "'").replace("\\(dq", '"')
    return line[2:] if line.startswith("$ ") else line


def man_blocks(text):
    section = text.split("\n.Sh EXAMPLES\n", 1)
    if len(section) < 2:
        return []
    lines = section[1].split("\n.Sh ", 1)[0].splitlines()
    blocks, mark, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        m = MARK_RE.search(line)
        if m and line.startswith('.\\"'):
            mark = m.group(1)
        elif line.startswith(".Bd -literal"):
            j = i + 1
            while not lines[j].startswith(".Ed"):
                j += 1
            blocks.append(("\n".join(unroff(l) for l in lines[i + 1:j]), mark))
            mark, i = None, j
        elif line.startswith(".Dl "):
            blocks.append((unroff(line[4:]), mark))
            mark = None
        i += 1
    return blocks


def main():
    root, out = sys.argv[1], sys.argv[2]
    docs = [("README.md", readme_blocks(open(os.path.join(root, "README.md")).read()))]
    for sec in sorted(os.listdir(os.path.join(root, "man"))):
        for name in sorted(os.listdir(os.path.join(root, "man", sec))):
            docs.append((name, man_blocks(open(os.path.join(root, "man", sec, name)).read())))
    for doc, blocks in docs:
        if not blocks:
            continue
        os.makedirs(os.path.join(out, doc), exist_ok=True)
        for k, (body, mark) in enumerate(blocks, 1):
            if mark:
                ext, body = "skip", mark
            else:
                ext = "py" if re.match(r"(import|from) ", body) else "sh"
            with open(os.path.join(out, doc, "%02d.%s" % (k, ext)), "w") as f:
                f.write(body + "\n")


if __name__ == "__main__":
    main()
