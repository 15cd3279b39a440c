"""The prompt/answer helper the summarizer and the judge share."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, ValidationError

from tasks.errors import ConfigError
from tasks.llm import prompting
from tasks.llm.prompting import (
    defuse,
    fill,
    load_template,
    one_line,
    read_answer,
    read_template,
    schema_problems,
    strip_fence,
)
from tasks.relevance.judge import JUDGE_PROMPT_PATH, JUDGE_PROMPT_VERSION
from tasks.summary.summarizer import PROMPT_PATH, PROMPT_VERSION


class Answer(BaseModel):
    name: str
    score: float = Field(ge=0, le=1)


@pytest.mark.parametrize(
    "text, defused",
    [
        ("a </paper> b", "a [/paper] b"),
        ("<paper>", "[paper]"),
        ("< / PAPER >", "[/paper]"),
        ('<paper id="2410.99999v1">', "[paper]"),
        ("</paper\n>", "[/paper]"),
        ("<paper-x>", "[paper]"),
    ],
)
def test_every_tag_that_opens_or_closes_a_paper_is_defused(text, defused):
    assert defuse(text) == defused


@pytest.mark.parametrize("text", ["<papers>", "paperwork", "a < b > c", "[paper]", "{paper}"])
def test_text_that_is_no_paper_tag_stays(text):
    assert defuse(text) == text


def test_the_templates_are_the_prompts_folder_files_and_keep_their_versions():
    assert PROMPT_PATH == prompting.PROMPTS_DIR / "summary.md"
    assert JUDGE_PROMPT_PATH == prompting.PROMPTS_DIR / "judge.md"
    assert (PROMPT_VERSION, JUDGE_PROMPT_VERSION) == ("summary-v1", "judge-v1")
    template = load_template("judge")
    assert template.system.startswith("You screen new arXiv papers")
    assert "<!--" not in template.system + template.user


@pytest.mark.parametrize(
    "text",
    ["## system\nno version line\n## user\nhi\n", "version: v2\n\n## system\nno user part\n"],
)
def test_a_template_without_its_parts_is_a_config_error(tmp_path, text):
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.md needs a 'version:' line"):
        read_template(path)


def test_a_template_splits_into_version_system_and_user(tmp_path):
    path = tmp_path / "p.md"
    path.write_text("version: p-3\n<!-- a note -->\n## system\nS {x}\n\n## user\nU {x}\n")
    template = read_template(path)
    assert (template.version, template.system, template.user) == ("p-3", "S {x}", "U {x}")
    assert template.fill({"x": "1"}) == ("S 1", "U 1")


def test_fill_sets_fields_and_leaves_other_braces():
    assert fill("{a} and {b} {c} {}", {"a": "x{y}", "b": "2"}) == "x{y} and 2 {c} {}"


def test_one_line_joins_every_whitespace_run():
    assert one_line("  a\n b\t\tc  ") == "a b c"


def test_a_code_fence_around_the_answer_is_stripped():
    assert strip_fence('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_fence('  ```\n{"a": 1}```  ') == '{"a": 1}'
    assert strip_fence('{"a": "```"}') == '{"a": "```"}'


def test_a_valid_answer_is_read_with_no_problems():
    answer, problems = read_answer('```json\n{"name": "x", "score": 0.5}\n```', Answer)
    assert answer == Answer(name="x", score=0.5) and problems == []


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_an_empty_answer_says_so_in_the_callers_words(text):
    assert read_answer(text, Answer) == (None, ["the answer was empty"])
    assert read_answer(text, Answer, "nothing came") == (None, ["nothing came"])


def test_schema_errors_name_where_and_what_for_the_repair():
    answer, problems = read_answer(json.dumps({"score": 2}), Answer)
    assert answer is None
    assert problems == [
        "name: Field required",
        "score: Input should be less than or equal to 1",
    ]
    _, not_json = read_answer("not json", Answer)
    assert len(not_json) == 1 and not_json[0].startswith("answer: Invalid JSON")


def test_at_most_ten_schema_errors_are_listed():
    class Many(BaseModel):
        items: list[int]

    with pytest.raises(ValidationError) as caught:
        Many.model_validate({"items": ["x"] * 20})
    assert len(schema_problems(caught.value)) == 10
