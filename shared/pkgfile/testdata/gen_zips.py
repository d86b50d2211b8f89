#!/usr/bin/env python3
"""Writes the ZIP fixtures of zipread_test.go with Python's zipfile, the
library WAPT builds packages with (run: python3 gen_zips.py)."""
import io
import random
import zipfile

CONTROL = b"""package           : python-pkg
version           : 1.0-1
architecture      : all
section           : base
priority          : optional
"""
rnd = random.Random(7)
DATA = bytes(rnd.getrandbits(8) for _ in range(3000))
TEXT = b"une ligne de texte\n" * 200
DT = (2024, 5, 17, 10, 30, 0)


def add(z, name, data, compress, **kw):
    info = zipfile.ZipInfo(name, DT)
    info.compress_type = compress
    info.external_attr = 0o100644 << 16
    with z.open(info, "w", **kw) as f:
        f.write(data)


def members(z):
    add(z, "WAPT/control", CONTROL, zipfile.ZIP_DEFLATED)
    add(z, "setup.py", b"def install():\n    pass\n", zipfile.ZIP_STORED)
    z.mkdir("sub") if hasattr(z, "mkdir") else None
    add(z, "sub/data.bin", DATA, zipfile.ZIP_STORED)
    add(z, "sub/text.txt", TEXT, zipfile.ZIP_DEFLATED, force_zip64=True)
    add(z, "sub/été.txt", b"accents", zipfile.ZIP_DEFLATED)


class Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


with zipfile.ZipFile("python_seekable.zip", "w") as z:
    members(z)

u = Unseekable()
with zipfile.ZipFile(u, "w") as z:
    members(z)
with open("python_stream.zip", "wb") as f:
    f.write(u.buf)
