"""Test corpora of generated papers: varied specs, and PDFs that are not what they claim."""

from __future__ import annotations

import random

import pymupdf

from replay.paper_spec import FigureSpec, PaperSpec
from replay.pdf_layout import filler
from replay.pdfs import make_paper_pdf


def _handmade_pdf(pages: int) -> bytes:
    """Return a PDF of `pages` blank pages written by hand.

    PyMuPDF refuses to save a document without pages, and writing 2000 pages by hand is
    much faster than `new_page` in a loop.
    """
    kids = " ".join(f"{n} 0 R" for n in range(3, 3 + pages))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>"
    objs += [page] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_bad_pdfs() -> dict[str, bytes]:
    """Return PDFs that extraction must refuse or bound, keyed by what is wrong with them."""
    good, _ = make_paper_pdf(sample_spec(0))
    doc = pymupdf.open("pdf", good)
    encrypted = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner"
    )
    doc.close()
    garbage = random.Random(7).randbytes(4000)
    return {
        "encrypted": encrypted,
        "corrupt": b"%PDF-1.7\n" + garbage + b"\n%%EOF\n",
        "truncated": good[: len(good) // 2],
        "zero_pages": _handmade_pdf(0),
        "huge": _handmade_pdf(2000),
        "html": b"<!DOCTYPE html>\n<html><head><title>arXiv</title></head>"
        b"<body><p>Rate exceeded.</p></body></html>\n",
        "empty": b"",
    }


def sample_spec(seed: int) -> PaperSpec:
    """Return a varied spec for test corpora: layout, styles and figure kinds follow `seed`."""
    rng = random.Random(seed)
    kinds = ("png", "jpeg", "grid", "chart", "diagram", "plot")
    n = rng.randint(2, 4)
    figures = tuple(
        FigureSpec(
            kind=kinds[(seed + i) % len(kinds)],
            full_width=(i == 1 and seed % 2 == 0),
            caption_style=("Figure", "Fig.", "FIGURE")[(seed + i) % 3],
            section=min(4, i + 1),
        )
        for i in range(n)
    )
    two = seed % 3 != 1
    return PaperSpec(
        title=f"Scalable Diffusion Sampling via Learned Schedules {seed}",
        authors=("Alice Smith", "Bob Jones", "Carol Wu")[: 2 + seed % 2],
        affiliation="Department of Computer Science, Stanford University",
        affiliation2="Google DeepMind" if seed % 2 else "",
        email=("alice@cs.stanford.edu", "{alice,bob}@stanford.edu", "", "")[seed % 4],
        affiliations_inline=seed % 4 == 1,
        abstract=filler(rng, 5),
        two_column=two,
        pages=4 + seed % 3,
        figures=figures,
        table=seed % 2 == 1,
        heading_style=("numbered", "numbered_caps", "plain", "caps", "roman")[seed % 5],
        code_link="https://github.com/org/repo",
        project_page="https://alice.github.io/sched/" if seed % 3 == 0 else "",
        seed=seed,
    )
