#!/usr/bin/env python3
"""spk_diff.py A.spk B.spk [BOUND]: the largest difference between the F32
tensors of two checkpoints, relative to the largest magnitude of each tensor
in A; prints it with the worst tensor's name and exits 1 when it exceeds
BOUND (default 1e-4), when the two do not hold the same tensors, when any
other tensor (I64 counters) differs, or when the training's outcome in the
metadata (best epoch, kept channels) differs.  Reads the safetensors layout
(sp-checkpoint(5))."""
import json
import struct
import sys

import numpy as np


def tensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out, exact = {}, {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        if t["dtype"] == "F32":
            out[name] = np.frombuffer(data[lo:hi], dtype="<f4")
        else:
            exact[name] = data[lo:hi]
    return out, exact, header.get("__metadata__", {})


OUTCOME = ("train.best_epoch", "stage.kept", "stage.block")


def main():
    (a, ea, ma), (b, eb, mb) = tensors(sys.argv[1]), tensors(sys.argv[2])
    bound = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
    if ea != eb:
        print("the integer tensors differ", file=sys.stderr)
        return 1
    for key in OUTCOME:
        if ma.get(key) != mb.get(key):
            print("%s differs: %s and %s" % (key, ma.get(key), mb.get(key)), file=sys.stderr)
            return 1
    if set(a) != set(b):
        print("the checkpoints hold different tensors: %s" % sorted(set(a) ^ set(b))[:5])
        return 1
    worst, where = 0.0, ""
    for name in a:
        scale = max(float(np.abs(a[name]).max(initial=0.0)), 1e-12)
        d = float(np.abs(a[name].astype(np.float64) - b[name]).max(initial=0.0)) / scale
        if not d <= worst:
            worst, where = d, name
    print("largest relative difference %.3g (%s), bound %.0e" % (worst, where, bound),
          file=sys.stderr if worst > bound else sys.stdout)
    return 0 if worst <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
