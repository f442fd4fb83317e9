"""poison.py: sets element 0 of one tensor of an sp checkpoint to NaN (or
the given value) and fixes the data CRC in its metadata, so that only the
value is wrong (standard library only).

    python3 tests/tools/poison.py IN OUT TENSOR [VALUE]
"""
import json
import struct
import sys
import zlib


def main(src, dst, name, value="nan"):
    with open(src, "rb") as f:
        b = bytearray(f.read())
    (n,) = struct.unpack_from("<Q", b, 0)
    header = json.loads(b[8:8 + n])
    start = 8 + n + header[name]["data_offsets"][0]
    struct.pack_into("<f", b, start, float(value))
    crc = "%08x" % zlib.crc32(bytes(b[8 + n:]))
    old = header["__metadata__"]["crc32"]
    text = b[8:8 + n].replace(b'"crc32":"%s"' % old.encode(), b'"crc32":"%s"' % crc.encode())
    assert len(text) == n
    b[8:8 + n] = text
    with open(dst, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    main(*sys.argv[1:])
