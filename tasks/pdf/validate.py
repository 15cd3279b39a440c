"""Whether bytes are one whole PDF: the one check downloads and extraction both make."""

from __future__ import annotations

from tasks.errors import ExtractError

# Readers look for `%%EOF` on the file's last line (PDF 1.7, 7.5.5); arXiv's PDFs end 6 bytes
# after it. A kibibyte leaves room for trailing padding while a cut-off file has none there,
# and MuPDF would otherwise repair it silently and show whatever pages survived.
EOF_WINDOW = 1024


def check_pdf(data: bytes, paper: str = "", max_bytes: int | None = None) -> None:
    """Raise ExtractError unless `data` is one whole PDF (of at most `max_bytes`)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ExtractError(f"PDF is larger than the {_mb(max_bytes)} cap (pdf_max_mb)", paper)
    if data.lstrip()[:5] != b"%PDF-":
        if b"<html" in data[:1024].lower():
            raise ExtractError(
                "not a PDF but an HTML page (what arXiv sends when it refuses)", paper
            )
        raise ExtractError(f"not a PDF: it starts with {data[:16]!r}", paper)
    if b"%%EOF" not in data[-EOF_WINDOW:]:
        raise ExtractError(f"PDF is truncated: no %%EOF in its last {EOF_WINDOW} bytes", paper)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:g} MB"
