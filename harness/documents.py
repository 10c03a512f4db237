"""Documents a customer might send, made in memory: for the tests and the benchmarks."""

from __future__ import annotations

import io

from PIL import Image


def pdf_of_size(size: int) -> bytes:
    """A well-formed one-page PDF of exactly `size` bytes (at least 600): the page's content
    stream is padded with a PDF comment, and the cross-reference table points at every object."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>",
    ]

    def assemble(padding: int) -> bytes:
        stream = b"%" + b"0" * padding + b"\n"
        body = [*objects, b"<</Length %d>>\nstream\n" % len(stream) + stream + b"endstream"]
        out = bytearray(b"%PDF-1.4\n")
        offsets = []
        for number, content in enumerate(body, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + content + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(body) + 1, xref)
        return bytes(out)

    bare = len(assemble(0))
    if size < bare + 16:
        raise ValueError(f"a PDF needs at least {bare + 16} bytes")
    # The lengths and offsets are written in decimal: adjust until the size is exact.
    padding = size - bare
    document = assemble(padding)
    while len(document) != size:
        padding += size - len(document)
        document = assemble(padding)
    return document


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    """A small valid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 40, height: int = 30) -> bytes:
    """A small valid JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()
