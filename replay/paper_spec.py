"""The specification of a generated paper and the truth of what was placed where."""

from __future__ import annotations

from dataclasses import dataclass, field

PAGE_W, PAGE_H = 612.0, 792.0
TOP, BOTTOM = 72.0, 720.0
ONE_COL = ((72.0, 540.0),)
TWO_COL = ((54.0, 297.0), (315.0, 558.0))
BODY_FONT, BOLD_FONT = "tiro", "tibo"
SECTIONS = ("Introduction", "Related Work", "Method", "Experiments", "Conclusion")
SECTION_KEYS = ("introduction", "related_work", "method", "experiments", "conclusion")
ROMAN = ("I", "II", "III", "IV", "V", "VI")
WORDS = (
    "diffusion model sampling denoising score latent prior training objective network "
    "generative image video distribution noise schedule guidance conditional encoder decoder "
    "transformer attention benchmark baseline accuracy robust efficient we propose show that "
    "the of a to in and our method results improves over prior work across datasets quality "
    "fidelity inference steps variance estimate loss gradient optimal learned representation"
).split()


@dataclass(frozen=True)
class FigureSpec:
    """One figure: `kind` is png, jpeg, grid (several rasters), chart or diagram (vector)."""

    kind: str = "png"
    full_width: bool = False
    caption_style: str = "Figure"  # "Figure" -> "Figure k:", "Fig." -> "Fig. k.", "FIGURE"
    section: int = 0  # index into SECTIONS after whose first paragraph the figure goes
    caption: str = ""  # the caption's text after its label; generated words when empty


@dataclass(frozen=True)
class PaperSpec:
    """What to put in a generated paper."""

    title: str
    authors: tuple[str, ...]
    affiliation: str
    abstract: str
    affiliation2: str = ""
    email: str = ""
    affiliations_inline: bool = False  # both affiliations on one line: "¹Univ A  ²Company B"
    two_column: bool = True
    pages: int = 4
    figures: tuple[FigureSpec, ...] = ()
    table: bool = False
    logo: bool = True
    stamp: bool = True
    heading_style: str = "numbered"  # numbered | numbered_caps | plain | caps | roman
    code_link: str = ""
    project_page: str = ""
    seed: int = 0
    # Prose per section (Introduction .. Conclusion) instead of generated filler words.
    section_prose: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placed:
    """Where something landed: 1-based page, bbox in PDF points, caption if any."""

    page: int
    bbox: tuple[float, float, float, float]
    caption: str = ""
    kind: str = ""


@dataclass
class PdfTruth:
    """Ground truth of a generated PDF for the extractor's tests."""

    pages: int = 0
    figures: list[Placed] = field(default_factory=list)
    tables: list[Placed] = field(default_factory=list)
    logos: list[Placed] = field(default_factory=list)
    stamp: Placed | None = None
    sections: list[str] = field(default_factory=list)
    section_text: dict[str, str] = field(default_factory=dict)
    affiliation: str = ""
    links: list[str] = field(default_factory=list)
