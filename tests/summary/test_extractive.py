"""The extractive summarizer: each slot from its own section, no sentence twice, gaps said."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.domain import Extraction, Paper
from tasks.post.render import render_post
from tasks.record.views import PaperView
from tasks.relevance.keywords import Selection
from tasks.summary.checks import check_summary
from tasks.summary.extractive import NOT_STATED, ExtractiveSummarizer, split_sentences
from tasks.summary.schema import PaperSummary, SummaryRecord
from tests.summary.test_summarizer import make_paper

ABSTRACT = (
    "Counting objects in crowded images is hard because objects appear at many scales. "
    "We propose an aggregation module built from dilated convolutions for a multicolumn "
    "network. Our experiments show that the network outperforms the state of the art on "
    "four benchmark datasets."
)
SECTIONS = {
    "abstract": ABSTRACT,
    "introduction": (
        "Learning to count the objects in an image is a deceptively difficult problem with many "
        "applications, such as surveillance and traffic monitoring. The objects to be counted "
        "vary widely in appearance, size and shape, and labeled training data is sparse. "
        "However, existing density-map regressors struggle when perspective changes the scale "
        "of objects across the image. We propose the aggregated multicolumn dilated network, "
        "the first counting network to aggregate multiscale features with dilations."
    ),
    "related_work": (
        "Early counting methods detect every object and suffer from heavy occlusion. Density "
        "regression avoids detection but previous models are limited to a single scale."
    ),
    "method": (
        "Our network consists of three columns with different filter sizes. First, each column "
        "extracts features from the whole image at its own scale. Then an aggregator of "
        "dilated convolutions merges the columns into one density map. Finally, we train the "
        "whole network end to end with a pixel-wise Euclidean loss."
    ),
    "experiments": (
        "We evaluate on UCF50, ShanghaiTech, UCSD and WorldExpo benchmarks. The network reaches "
        "a mean absolute error of 64.4 on ShanghaiTech, improving on the best prior result by "
        "12%. Ablations show that the aggregator matters more than the number of columns."
    ),
    "conclusion": (
        "We presented a counting network whose aggregator handles perspective without any "
        "annotation of it. This work enables counting in scenes where the camera geometry is "
        "unknown and opens future research on scale-aware density estimation."
    ),
}


def extraction(sections: dict[str, str] = SECTIONS) -> Extraction:
    return Extraction(arxiv_id="2410.03665", version=1, pages=10, sections=sections)


def post(tmp_path, p: Paper, record: SummaryRecord, ex: Extraction, language: str) -> str:
    view = PaperView(p, Selection(p.arxiv_id, p.version, "Counting", True, 3.0), ex, record, ())
    out = tmp_path / language
    day = date(2024, 10, 7)
    return render_post(
        "Counting", "counting", language, day, [view], {}, out, tmp_path / "figs"
    ).text


def paper():
    return make_paper(abstract=ABSTRACT, title="Improving Counting with Dilated Aggregation")


def summarize(ex: Extraction | None) -> PaperSummary:
    return ExtractiveSummarizer().summarize(paper(), ex, "zh").summary


def analysis_sentences(summary: PaperSummary) -> list[str]:
    a = summary.analysis
    slots = [a.background, a.prior_work, a.method, a.performance, *a.methodology]
    slots += [a.significance, a.innovation, a.performance_assessment, a.workload]
    return [s for text in slots if text != NOT_STATED for s in split_sentences(text)]


def sentences_of(*keys: str) -> set[str]:
    return {s for key in keys for s in split_sentences(SECTIONS[key])}


@pytest.mark.parametrize("ex", [extraction(), None], ids=["sections", "abstract-only"])
def test_no_sentence_is_used_twice(ex):
    summary = summarize(ex)
    used = analysis_sentences(summary)

    assert len(used) == len(set(used))
    assert summary.one_line not in used
    if ex:  # a three-sentence abstract alone cannot fill both without reuse
        assert not set(summary.takeaways) & set(used)
    assert len(set(summary.takeaways)) == len(summary.takeaways) >= 3


def test_each_slot_comes_from_the_section_it_names():
    a = summarize(extraction()).analysis

    assert set(split_sentences(a.background)) <= sentences_of("introduction")
    assert a.background.startswith("Learning to count the objects")  # the opening sentence
    assert set(split_sentences(a.prior_work)) <= sentences_of("related_work", "introduction")
    assert set(split_sentences(a.method)) | set(a.methodology) <= sentences_of("method")
    assert a.methodology[0].startswith("First, each column")
    assert set(split_sentences(a.performance)) <= sentences_of("experiments")
    assert "64.4" in a.performance + a.performance_assessment
    assert set(split_sentences(a.significance)) <= sentences_of("conclusion")


def test_prior_work_falls_back_to_the_introductions_prior_methods():
    sections = {key: text for key, text in SECTIONS.items() if key != "related_work"}

    a = summarize(extraction(sections)).analysis

    assert a.prior_work.startswith("However, existing density-map regressors struggle")


def test_a_missing_section_says_not_stated_and_the_post_says_it_in_its_language(tmp_path):
    sections = {key: text for key, text in SECTIONS.items() if key != "conclusion"}
    abstract = "Counting objects in crowded images is hard. We study it on four datasets."
    p = make_paper(abstract=abstract, title="Improving Counting with Dilated Aggregation")

    record = ExtractiveSummarizer().summarize(p, extraction(sections), "zh")

    assert record.summary.analysis.significance == NOT_STATED
    for language, said in (("zh", "工作意义：未提及"), ("en", "Significance：not stated")):
        text = post(tmp_path, p, record, extraction(sections), language)
        assert said in text and NOT_STATED not in text


def test_abstract_only_fills_slots_by_cue_and_says_the_rest_are_missing():
    a = summarize(None).analysis

    assert "outperforms the state of the art" in a.performance
    assert a.background.startswith("Counting objects in crowded images")
    assert a.significance == NOT_STATED  # nothing in the abstract about it, and no repeat
    assert set(a.methodology) == {NOT_STATED}


def test_the_title_is_not_passed_off_as_a_translation(tmp_path):
    record = ExtractiveSummarizer().summarize(paper(), extraction(), "zh")
    text = post(tmp_path, paper(), record, extraction(), "zh")

    assert record.summary.analysis.title_translation == paper().title
    assert "**标题**：Improving Counting with Dilated Aggregation\n" in text
    assert "标题及中文翻译" not in text
    problems = check_summary(record.summary, paper(), "en")
    assert [p for p in problems if "copies the abstract" not in p] == []


def test_the_version_is_bumped_so_old_extracts_are_redone():
    assert ExtractiveSummarizer().model == "extractive-v2"
