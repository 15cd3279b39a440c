"""Save a found figure as an image file: the embedded raster's bytes, or a render of its box."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pymupdf

from tasks.domain import Figure
from tasks.pdf.figures import Region
from tasks.pdf.lines import Box

WEB_IMAGE_EXTS = {"png", "jpeg", "jpg"}
RENDER_ZOOM = 2.0
TRIM_KEEP = 3.0  # points of white kept around a trimmed figure
MAX_RENDER_PX = 1600  # a full-page figure at zoom 2 would be 1700 px wide: no post needs more
# zlib level 3 writes a figure in half the time MuPDF's PNG writer takes, 2.5% larger.
PNG_LEVEL = 3
PNG_COLOR_TYPES = {1: 0, 3: 2}  # gray, RGB: a rendered crop has no alpha
WHITE_RUN = re.compile(rb"\xff*")


@dataclass(frozen=True)
class Image:
    """The bytes to save for a figure, with their format and pixel size."""

    data: bytes
    ext: str
    width: int
    height: int
    bbox: tuple[float, float, float, float] | None = None  # the page area shown, when trimmed


def figure_image(doc: pymupdf.Document, region: Region) -> Image:
    """Return the figure's image: one embedded raster keeps its bytes, else render the clip."""
    return _embedded(doc, region) or _rendered(doc, region)


def write_figure(region: Region, image: Image, index: int, stem: str, figure_dir: Path) -> Figure:
    """Write the image as the paper's figure `index` and return its record."""
    name = f"{stem}-fig{index}.{image.ext}"
    (figure_dir / name).write_bytes(image.data)
    return Figure(
        index=index,
        page=region.page,
        bbox=cast(Box, tuple(round(v, 2) for v in image.bbox or region.bbox)),
        caption=region.caption,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(image.data).hexdigest(),
        path=name,
    )


def _embedded(doc: pymupdf.Document, region: Region) -> Image | None:
    images = [g for g in region.graphics if g.image]
    if len(images) != 1:
        return None
    frame = pymupdf.Rect(images[0].bbox) + (-2, -2, 2, 2)  # noqa: RUF005 (Rect adds a tuple per side)
    if any(not frame.contains(pymupdf.Rect(g.bbox)) for g in region.graphics):
        return None
    if not frame.contains(pymupdf.Rect(region.bbox)):  # labels around the picture
        return None
    xref = _xref_at(doc[region.page - 1], images[0].bbox)
    # Only a JPEG's bytes can be kept as they are; any other image would be decoded and
    # encoded again at full size, which costs more than rendering the crop at post size.
    if not xref or not doc.xref_get_key(xref, "Filter")[1].rstrip("]").endswith("/DCTDecode"):
        return None
    info = doc.extract_image(xref)
    # Soft masks and JPX/JBIG2 would not show as they do in the PDF.
    if not info or info.get("smask") or info["ext"] not in WEB_IMAGE_EXTS:
        return None
    if info.get("colorspace") not in (1, 3):  # gray or RGB; CMYK images need converting
        return None
    return Image(info["image"], info["ext"], info["width"], info["height"])


def _xref_at(page: pymupdf.Page, box: tuple) -> int:
    """Return the xref of the one image drawn at `box`, or 0 when it cannot be told apart.

    Matched by pixel size against the page's image list: asking MuPDF for xrefs directly
    decodes and hashes every image on the page.
    """
    placed = [i for i in page.get_image_info() if _same_box(i["bbox"], box)]
    if len(placed) != 1:
        return 0
    size = (placed[0]["width"], placed[0]["height"])
    xrefs = {item[0] for item in page.get_images(full=True) if (item[2], item[3]) == size}
    return xrefs.pop() if len(xrefs) == 1 else 0


def _same_box(a: tuple, b: tuple) -> bool:
    return all(abs(x - y) < 1.0 for x, y in zip(pymupdf.Rect(a) & pymupdf.Rect(b), b, strict=True))


def _rendered(doc: pymupdf.Document, region: Region) -> Image:
    clip = pymupdf.Rect(region.bbox)
    zoom = min(RENDER_ZOOM, MAX_RENDER_PX / max(clip.width, clip.height, 1.0))
    pix = doc[region.page - 1].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False)
    inked = _inked(pix, round(TRIM_KEEP * zoom))
    if inked is None or inked == pix.irect:
        return Image(_png(pix), "png", pix.width, pix.height)
    # Drawings clipped away still count in a graphic's box: what shows is the white-free part.
    trimmed = pymupdf.Pixmap(pix.colorspace, inked, False)
    trimmed.copy(pix, inked)
    box = tuple(v / zoom for v in (inked.x0, inked.y0, inked.x1, inked.y1))
    return Image(_png(trimmed), "png", trimmed.width, trimmed.height, box)


def _png(pix: pymupdf.Pixmap) -> bytes:
    """Return the pixmap as PNG bytes: unfiltered rows, deflated at PNG_LEVEL."""
    width, stride, samples = pix.width * pix.n, pix.stride, pix.samples
    rows = b"".join(b"\0" + samples[r * stride : r * stride + width] for r in range(pix.height))
    header = struct.pack(">IIBBBBB", pix.width, pix.height, 8, PNG_COLOR_TYPES[pix.n], 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows, PNG_LEVEL)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _inked(pix: pymupdf.Pixmap, keep: int) -> pymupdf.IRect | None:
    """Return the pixmap's area without its pure-white margins (keeping `keep` px), or None.

    A row's white lead is matched in place, so a blank row is never copied.
    """
    stride, width = pix.stride, pix.width * pix.n
    samples = pix.samples
    inked, leads, ends = [], [], []
    for r in range(pix.height):
        start = r * stride
        run = WHITE_RUN.match(samples, start, start + width)
        assert run is not None  # \xff* matches, if only the empty string
        lead = run.end() - start
        if lead == width:
            continue
        inked.append(r)
        leads.append(lead)
        ends.append(len(samples[start + lead : start + width].rstrip(b"\xff")) + lead)
    if not inked:
        return None
    left, right = min(leads) // pix.n, max(ends) // pix.n
    x0, y0 = pix.x + max(left - keep, 0), pix.y + max(inked[0] - keep, 0)
    x1 = pix.x + min(right + keep, pix.width)
    y1 = pix.y + min(inked[-1] + 1 + keep, pix.height)
    return pymupdf.IRect(x0, y0, x1, y1)
