import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("shipped_settings")


def test_calendar_for_the_reference_monday():
    result = runner.invoke(app, ["calendar", "--date", "2024-10-07"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2024-10-07 (Mon): batch 2024-10-07"
    assert "2024-10-03 14:00 → 2024-10-04 14:00 ET (Thu → Fri; EDT)" in lines[1]
    assert "2024-10-03 18:00 → 2024-10-04 18:00 UTC" in lines[2]
    assert "2024-10-06 20:00 ET (Sun; EDT) = 2024-10-07 00:00 UTC" in lines[3]
    assert "next batch:  2024-10-08 (Tue)" in lines[4]


def test_calendar_for_a_saturday_says_no_batch_and_when_the_next_is():
    result = runner.invoke(app, ["calendar", "--date", "2024-10-12"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "2024-10-12 (Sat): no batch (weekend: no announcement on Friday 2024-10-11)\n"
        "next batch: 2024-10-14 (Mon)\n"
    )
    assert "2024-10-10 14:00 → 2024-10-11 14:00 ET" in result.output
    assert "2024-10-13 20:00 ET (Sun; EDT) = 2024-10-14 00:00 UTC" in result.output


def test_calendar_for_a_holiday_uses_the_configured_list():
    result = runner.invoke(app, ["calendar", "--date", "2024-11-29"])
    assert "no batch (holiday: no announcement on Thursday 2024-11-28)" in result.output
    assert "2024-11-27 14:00 → 2024-11-29 14:00 ET (Wed → Fri; EST)" in result.output


def test_calendar_rejects_a_malformed_date():
    result = runner.invoke(app, ["calendar", "--date", "07/10/2024"])
    assert result.exit_code == 2
