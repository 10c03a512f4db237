"""The documents the tests and the benchmarks send are what they claim to be."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from harness.documents import jpeg_bytes, pdf_of_size, png_bytes


@pytest.mark.parametrize("size", [700, 4096, 5 * 1024 * 1024])
def test_a_pdf_has_exactly_the_size_asked_and_a_valid_structure(size: int) -> None:
    document = pdf_of_size(size)

    assert len(document) == size
    assert document.startswith(b"%PDF-1.4\n")
    assert document.rstrip().endswith(b"%%EOF")
    xref = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert document[xref:].startswith(b"xref\n")


def test_a_pdf_too_small_to_be_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        pdf_of_size(100)


@pytest.mark.parametrize(("make", "kind"), [(png_bytes, "PNG"), (jpeg_bytes, "JPEG")])
def test_the_images_open(make: Callable[[], bytes], kind: str) -> None:
    assert Image.open(io.BytesIO(make())).format == kind
