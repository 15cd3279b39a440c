"""The drawn things on a PDF page: image placements and vector paths, with their boxes."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf

from tasks.pdf.lines import Box

MIN_IMAGE_PT = 12.0  # bullets and inline icons are smaller than this in both directions
IMAGE_KINDS = {"fill-image", "fill-imgmask"}
PATH_KINDS = {"fill-path", "stroke-path", "fill-shade"}


@dataclass(frozen=True)
class Graphic:
    """An image placement or a vector path on a page."""

    bbox: Box
    image: bool = False


def union(boxes: list[Box]) -> Box:
    """Return the bounding box of boxes, counting zero-height rules (PyMuPDF's `|` drops them)."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def page_graphics(page: pymupdf.Page) -> list[Graphic]:
    """Return the page's images and vector paths, clipped to the page, backgrounds left out.

    The bbox log is read from the page's drawing commands without decoding any image, which
    `get_image_info(xrefs=True)` and `get_drawings()` would do at many times the cost.
    """
    px0, py0, px1, py1 = page_box = tuple(page.rect)
    full = 0.8 * area(page_box)
    found = []
    for kind, rect in page.get_bboxlog():
        image = kind in IMAGE_KINDS
        if not image and kind not in PATH_KINDS:
            continue
        if image:  # clipped to the page; one wholly outside has no area and is dropped
            box = (max(rect[0], px0), max(rect[1], py0), min(rect[2], px1), min(rect[3], py1))
        else:
            box = tuple(rect)
        if image and (area(box) <= 0 or max(box[2] - box[0], box[3] - box[1]) < MIN_IMAGE_PT):
            continue
        # A full-page fill is a background, not part of a figure.
        if area(box) < full:
            found.append(Graphic(box, image))
    return found
