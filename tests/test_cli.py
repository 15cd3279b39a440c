"""The command line: what a person sees for good and bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.fakes.pdfs import make_bad_pdfs, make_paper_pdf, sample_spec

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("shipped_settings")


def test_extract_shows_what_was_found_and_writes_figures(tmp_path):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(make_paper_pdf(sample_spec(2))[0])
    result = runner.invoke(app, ["extract", str(pdf), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "introduction" in result.output and "Stanford University" in result.output
    assert "figures: 2 written" in result.output
    assert len(list((tmp_path / "out").glob("*.png"))) == 2


def test_extract_of_a_bad_file_is_one_line(tmp_path):
    pdf = tmp_path / "bad.pdf"
    pdf.write_bytes(make_bad_pdfs()["html"])
    result = runner.invoke(app, ["extract", str(pdf)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"error: {pdf}: not a PDF")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--date", "2024-10-07", "--llm", "gemini"], "GEMINI_API_KEY is not set"),
        (["run", "--date", "2024-10-07", "--topic", "Nope"], "unknown topic 'Nope'"),
        (["run", "--date", "2024-10-07", "--llm", "gpt"], "not one of auto, gemini"),
        (["render", "--start", "2024-10-08", "--end", "2024-10-07"], "start <= end"),
    ],
)
def test_bad_input_fails_at_once_with_one_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_malformed_date_is_refused():
    result = runner.invoke(app, ["run", "--date", "07/10/2024"])
    assert result.exit_code == 2 and "Invalid value" in result.output
