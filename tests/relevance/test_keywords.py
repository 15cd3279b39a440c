from tasks.relevance.keywords import score_paper, select_papers
from tests.factories import paper

INCLUDE = ["diffusion model", "latent diffusion", "dit", "diffusion"]
EXCLUDE = ["heat diffusion", "diffusion equation"]


def test_title_weighs_more_than_abstract_and_phrases_are_kept():
    score, matched, excluded = score_paper(paper(), INCLUDE, EXCLUDE)
    assert matched == ("diffusion model", "latent diffusion", "diffusion")
    assert score == 2 + 1 + 1 + 3  # title: diffusion model, diffusion; abstract: all three
    assert excluded == ()


def test_physical_diffusion_is_dropped_with_its_reason():
    p = paper(
        title="Heat diffusion in porous media",
        abstract="We solve the diffusion equation for heat diffusion in rock.",
    )
    [decision] = select_papers([p], "Diffusion Models", INCLUDE, EXCLUDE)
    assert not decision.kept and decision.score == 0
    assert decision.excluded == ("heat diffusion", "diffusion equation")


def test_exclusion_does_not_hide_a_real_match():
    p = paper(title="Diffusion models for the diffusion equation", abstract="")
    score, matched, excluded = score_paper(p, INCLUDE, EXCLUDE)
    assert "diffusion model" in matched and excluded == ("diffusion equation",)
    assert score > 0


def test_words_match_whole_and_hyphens_count_as_spaces():
    assert score_paper(paper(title="Edit anything", abstract=""), ["dit"], [])[0] == 0
    assert score_paper(paper(title="Scaling DiT", abstract=""), ["dit"], [])[0] == 2
    hyphen = paper(title="A diffusion-model prior", abstract="")
    assert score_paper(hyphen, ["diffusion model"], [])[1] == ("diffusion model",)


def test_min_score_decides():
    p = paper(title="Robots", abstract="A note on diffusion.")
    assert select_papers([p], "t", INCLUDE, EXCLUDE, min_score=1)[0].kept
    assert not select_papers([p], "t", INCLUDE, EXCLUDE, min_score=2)[0].kept
