"""spd.py: an independent reader of sp's dataset file (sp-data(5)), written
from the format's documentation, for the tests to check what sp-pack wrote.

    python3 tests/tools/spd.py FILE            prints a JSON summary
"""
import json
import struct
import sys
import zlib

import numpy as np


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"sp-data\n":
        raise ValueError("bad magic")
    (version, hsize, count, classes, channels, height, width, encoding,
     flags) = struct.unpack_from("<IIQIIIIII", b, 8)
    mean = struct.unpack_from("<3f", b, 48)[:channels]
    std = struct.unpack_from("<3f", b, 60)[:channels]
    names_off, labels_off, index_off, records_off, fsize = struct.unpack_from("<5Q", b, 72)
    tables_crc, records_crc, _, header_crc = struct.unpack_from("<4I", b, 112)
    assert version == 1 and hsize == 128 and flags == 0
    assert zlib.crc32(b[:124]) == header_crc, "header crc"
    assert zlib.crc32(b[names_off:records_off]) == tables_crc, "tables crc"
    assert zlib.crc32(b[records_off:]) == records_crc, "records crc"
    assert fsize == len(b)
    names = b[names_off:labels_off].split(b"\0")[:classes]
    labels = np.frombuffer(b, "<u4", count, labels_off)
    index = np.frombuffer(b, "<u8", count + 1, index_off)
    assert index[0] == records_off and index[-1] == fsize
    return {
        "count": count, "classes": classes, "channels": channels,
        "height": height, "width": width,
        "encoding": {1: "raw", 2: "jpeg"}[encoding],
        "mean": list(mean), "std": list(std),
        "names": [n.decode() for n in names],
        "labels": labels,
        "record": lambda i: b[int(index[i]):int(index[i + 1])],
    }


if __name__ == "__main__":
    d = read(sys.argv[1])
    hist = np.bincount(d["labels"], minlength=d["classes"]).tolist()
    out = {k: d[k] for k in ("count", "classes", "channels", "height", "width",
                             "encoding", "mean", "std", "names")}
    out["histogram"] = hist
    print(json.dumps(out))
