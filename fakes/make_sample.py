"""Build config/sample/2024-10-07.json from the reference post plus synthetic distractors.

Run from the project root: `uv run python -m fakes.make_sample REFERENCE_POST.md`, with
the path of the real 2024-10-07 post it was made from (kept outside this repository). Only
regenerating the sample needs it; the tests read config/sample/2024-10-07.json. Timestamps,
categories and licences are synthetic; see config/sample/README.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "config" / "sample" / "2024-10-07.json"
BY = "http://creativecommons.org/licenses/by/4.0/"
ARXIV = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"

# Synthetic submission times (published, updated-if-revised), inside the 2024-10-07 window.
TIMES = {
    "2410.03665": ("2024-10-04T17:59:00Z", None),
    "2410.03640": ("2024-10-04T14:22:37Z", None),
    "2410.03558": ("2024-10-04T09:15:02Z", None),
    "2410.03463": ("2024-10-04T05:47:51Z", None),
    "2410.03456": ("2024-10-04T05:30:19Z", None),
    "2410.03368": ("2024-10-04T03:05:44Z", None),
    "2410.03355": ("2024-10-04T02:41:08Z", None),
    "2410.03190": ("2024-10-03T21:12:26Z", None),
    "2410.02369": ("2024-10-03T10:31:20Z", "2024-10-04T08:12:45Z"),
    "2410.01723": ("2024-10-02T14:05:11Z", "2024-10-03T22:40:03Z"),
    "2410.01366": ("2024-10-03T18:04:53Z", None),
    "2409.18881": ("2024-09-27T15:53:02Z", "2024-10-04T12:18:30Z"),
}
# Plausible categories, primary first.
CATEGORIES = {
    "2410.03665": "cs.CV",
    "2410.03640": "cs.LG cs.CR cs.CV",
    "2410.03558": "cs.CV",
    "2410.03463": "cs.LG cs.CV eess.IV",
    "2410.03456": "cs.CV",
    "2410.03368": "cs.LG cs.AI",
    "2410.03355": "cs.CV cs.AI cs.LG",
    "2410.03190": "cs.CV cs.LG",
    "2410.02369": "cs.CV",
    "2410.01723": "cs.CV cs.LG",
    "2410.01366": "cs.CV",
    "2409.18881": "cs.CV cs.CR",
}
# The first author's affiliation as the post states it ("" where it states none).
AFFILIATIONS = {
    "2410.03665": "University of California, Berkeley",
    "2410.03640": "University of Southern California",
    "2410.03558": "Institute of Information Engineering, Chinese Academy of Sciences",
    "2410.03463": "California Institute of Technology",
    "2410.03456": "",
    "2410.03368": "EURECOM",
    "2410.03355": "KAIST",
    "2410.03190": "Purdue University",
    "2410.02369": "Zhejiang University",
    "2410.01723": "SenseTime Research",
    "2410.01366": "CyberAgent",
    "2409.18881": "University of Campinas",
}
CC_BY_PAPERS = {"2410.03665", "2410.03640", "2410.03463", "2410.03368", "2410.02369", "2410.01366"}

SYNTHETIC = [
    (
        "2410.03901",
        "distractor",
        "2024-10-04T11:20:05Z",
        ["physics.flu-dyn", "cs.LG"],
        "Physics-Informed Neural Operators for Heat Diffusion in Porous Media",
        "We learn solution operators for heat diffusion in porous media from sparse sensor data. "
        "The network respects the diffusion equation and recovers the effective diffusion "
        "coefficient of sandstone samples to within two percent of laboratory values.",
    ),
    (
        "2410.03902",
        "distractor",
        "2024-10-04T07:02:41Z",
        ["cs.RO", "cs.LG"],
        "Tactile-Guided Insertion for Contact-Rich Robotic Assembly",
        "We present a tactile policy for peg-in-hole assembly on a low-cost arm. Fusing wrist "
        "force readings with fingertip tactile images, it reaches a 96% success rate on unseen "
        "parts and recovers from jams without human help.",
    ),
    (
        "2410.03903",
        "distractor",
        "2024-10-04T01:33:12Z",
        ["cs.CL"],
        "Retrieval Helps Low-Resource Machine Translation More Than Scale",
        "For twelve low-resource language pairs, retrieving a handful of parallel sentences at "
        "inference time improves BLEU by 4.1 points on average, more than tripling the model's "
        "size does. We release the retrieval index and the evaluation scripts.",
    ),
    (
        "2410.03904",
        "distractor",
        "2024-10-03T23:48:30Z",
        ["cs.LG", "stat.ML"],
        "Sharper Generalization Bounds for Two-Layer Networks via Margin Stability",
        "We prove margin-based generalization bounds for two-layer ReLU networks that scale with "
        "the stability of the margin under weight perturbation rather than with the width, and "
        "show on small benchmarks that the bounds track the test error.",
    ),
    (
        "2410.03905",
        "distractor",
        "2024-10-03T20:15:55Z",
        ["cs.CV"],
        "Label-Efficient Object Detection with Box-Level Active Learning",
        "We select single boxes rather than whole images for annotation. On COCO and a drone "
        "dataset, box-level active learning matches full supervision with 30% of the labels.",
    ),
    (
        "2410.03906",
        "distractor",
        "2024-10-04T15:40:09Z",
        ["cs.AI"],
        "Planning with Language Agents under Partial Observability",
        "Language-model agents plan poorly when the world is only partly visible. We pair them "
        "with a belief tracker that keeps explicit hypotheses and raise task success on three "
        "text-based household benchmarks from 41% to 63%.",
    ),
    (
        "2410.03907",
        "distractor",
        "2024-10-04T04:26:17Z",
        ["cs.SI", "cs.LG"],
        "Modelling Information Diffusion on Social Graphs with Temporal Point Processes",
        "We model information diffusion in online social networks with a graph-coupled Hawkes "
        "process. On two large retweet cascades it predicts final cascade size better than "
        "neural baselines while remaining interpretable.",
    ),
    (
        "2410.03908",
        "distractor",
        "2024-10-04T16:58:44Z",
        ["eess.AS", "cs.CL", "cs.SD"],
        "Streaming Speech Recognition with Chunked Attention and Lookahead",
        "We train a streaming speech recognizer whose attention sees fixed chunks plus a short "
        "lookahead. It halves latency at a 0.3-point word error rate cost on LibriSpeech.",
    ),
    (
        "2410.03909",
        "outside_window",
        "2024-10-03T17:58:00Z",
        ["cs.CV"],
        "Fast Sampling of Latent Diffusion Models with Adaptive Step Schedules",
        "We schedule the sampling steps of latent diffusion models from the local curvature of "
        "the probability-flow trajectory, reaching the quality of 50-step samplers in 12 steps. "
        "Submitted one minute before the 2024-10-07 batch's window opens.",
    ),
    (
        "2410.03910",
        "outside_window",
        "2024-10-04T18:01:00Z",
        ["cs.CV", "cs.LG"],
        "Video Diffusion Models for Long-Horizon Weather Nowcasting",
        "A video diffusion model conditioned on radar sequences produces sharp six-hour "
        "precipitation forecasts. Submitted one minute after the 2024-10-07 batch's window closes.",
    ),
]


def normalise(text: str) -> str:
    return " ".join(text.split())


def reference_papers(text: str) -> list[dict]:
    """Parse title, authors, abstract, id, version and comment of each post entry."""
    pattern = re.compile(
        r"^## (?P<title>[^\n]+)\n\n\*\*Authors:(?P<authors>[^*]+)\*\*\n\n(?P<abstract>.+?)\n\n"
        r"\[PDF\]\(http://arxiv\.org/abs/(?P<id>[\d.]+)v(?P<version>\d+)\)(?P<comment>[^\n]*)",
        re.MULTILINE | re.DOTALL,
    )
    papers = []
    for match in pattern.finditer(text):
        arxiv_id = match["id"]
        published, updated = TIMES[arxiv_id]
        categories = CATEGORIES[arxiv_id].split()
        papers.append(
            {
                "arxiv_id": arxiv_id,
                "version": int(match["version"]),
                "title": normalise(match["title"]),
                "authors": [normalise(a) for a in match["authors"].split(",")],
                "abstract": normalise(match["abstract"]),
                "comment": normalise(match["comment"]),
                "published": published,
                "updated": updated or published,
                "categories": categories,
                "primary_category": categories[0],
                "licence": BY if arxiv_id in CC_BY_PAPERS else ARXIV,
                "affiliation": AFFILIATIONS[arxiv_id],
                "role": "reference",
            }
        )
    return papers


def synthetic_papers() -> list[dict]:
    return [
        {
            "arxiv_id": arxiv_id,
            "version": 1,
            "title": title,
            "authors": ["A. Synthetic", "B. Example"],
            "abstract": abstract,
            "comment": "",
            "published": stamp,
            "updated": stamp,
            "categories": categories,
            "primary_category": categories[0],
            "licence": ARXIV,
            "affiliation": "",
            "role": role,
        }
        for arxiv_id, role, stamp, categories, title, abstract in SYNTHETIC
    ]


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        raise SystemExit(
            "usage: python -m fakes.make_sample REFERENCE_POST.md (the real "
            "2024-10-07 Diffusion Models post the sample is made from)"
        )
    papers = reference_papers(Path(sys.argv[1]).read_text(encoding="utf-8"))
    if len(papers) != len(TIMES):
        raise SystemExit(f"parsed {len(papers)} reference papers, expected {len(TIMES)}")
    sample = {
        "day": "2024-10-07",
        "window": {"start": "2024-10-03T18:00:00Z", "end": "2024-10-04T18:00:00Z"},
        "papers": papers + synthetic_papers(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(sample, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(sample['papers'])} papers to {OUT}")


if __name__ == "__main__":
    main()
