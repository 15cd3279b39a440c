"""The command line: what a person sees for good and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.corpus import make_bad_pdfs, sample_spec
from flows.cli import app
from replay.pdfs import make_paper_pdf

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
        (
            ["render", "--start", "2024-10-08", "--end", "2024-10-07"],
            "--start 2024-10-08 is after --end 2024-10-07",
        ),
        (
            ["backfill", "--start", "2024-10-09", "--end", "2024-10-07"],
            "--start 2024-10-09 is after --end 2024-10-07",
        ),
        (["backfill", "--start", "2024-10-09"], "give --start D and --end D"),
    ],
)
def test_bad_input_fails_at_once_with_one_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert args[0] != "backfill" or "--date" not in result.output
    assert "Traceback" not in result.output


def test_a_malformed_date_is_refused():
    result = runner.invoke(app, ["run", "--date", "07/10/2024"])
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_extract_json_is_one_object_and_names_figures_once(tmp_path):
    import json

    pdf = tmp_path / "2409.18881v2.pdf"
    pdf.write_bytes(make_paper_pdf(sample_spec(2))[0])
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", str(pdf), "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert set(got) == {"pages", "sections", "affiliation", "links", "figures", "seconds"}
    assert got["affiliation"].endswith("Stanford University") and "introduction" in got["sections"]
    assert [f["page"] for f in got["figures"]] == sorted(f["page"] for f in got["figures"])
    for k, fig in enumerate(got["figures"], 1):
        assert fig["file"] == str(out / f"2409.18881v2-fig{k}.png") and len(fig["bbox"]) == 4
        assert Path(fig["file"]).exists() and fig["caption"].startswith(("Fig", "FIG"))


def test_extract_without_out_writes_nothing_into_the_working_folder(tmp_path, monkeypatch):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(make_paper_pdf(sample_spec(2))[0])
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["extract", str(pdf)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper.pdf"]
    assert "arxiv-digest-extract" in result.output
