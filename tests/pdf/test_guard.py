"""The guarded child process: time, memory and crashes end as ExtractError, never a crash."""

from __future__ import annotations

import os
import signal
import time

import pytest

from fakes.corpus import make_bad_pdfs, sample_spec
from replay.pdfs import make_paper_pdf
from tasks.errors import ExtractError
from tasks.pdf.guard import extract_guarded, run_guarded


def sleep_forever() -> None:
    time.sleep(60)


def allocate(mb: int) -> int:
    return len(bytearray(mb * 1024 * 1024))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_good_paper_is_extracted_in_the_child(tmp_path):
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(make_paper_pdf(sample_spec(1))[0])
    extraction = extract_guarded(pdf, "2410.00001", 1, tmp_path / "figs", 4, 60, 2048, 300)
    assert extraction.sections and extraction.figures
    assert all((tmp_path / "figs" / f.path).is_file() for f in extraction.figures)


@pytest.mark.parametrize("kind", sorted(make_bad_pdfs()))
def test_every_bad_file_is_a_recorded_failure(tmp_path, kind):
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(make_bad_pdfs()[kind])
    with pytest.raises(ExtractError) as info:
        extract_guarded(pdf, "2410.00001", 1, tmp_path, 4, 60, 2048, 300)
    assert info.value.paper == "2410.00001v1" and info.value.message


def test_time_limit_kills_the_child():
    started = time.monotonic()
    with pytest.raises(ExtractError, match=r"longer than 0.5 s"):
        run_guarded(sleep_forever, (), "x", timeout=0.5, memory_mb=2048)
    assert time.monotonic() - started < 30


def test_memory_limit_is_a_failure_not_a_crash():
    assert run_guarded(allocate, (10,), "x", timeout=30, memory_mb=2048) == 10 * 1024 * 1024
    with pytest.raises(ExtractError, match="more than 1024 MB"):
        run_guarded(allocate, (3000,), "x", timeout=30, memory_mb=1024)


def test_a_crashing_reader_is_a_failure():
    with pytest.raises(ExtractError, match="crashed"):
        run_guarded(die, (), "x", timeout=30, memory_mb=2048)
