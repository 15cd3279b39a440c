"""The one Retry-After parser, and the Gemini transport reading the header through it."""

from __future__ import annotations

import time

import httpx
import pytest
from google.genai import errors as genai_errors

from tasks.llm.gemini import retry_delay
from tasks.retry_after import MAX_RETRY_AFTER, retry_after_seconds


def http_date(seconds_from_now: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + seconds_from_now))


def test_seconds_are_read_as_they_are():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("0.5") == 0.5


def test_an_http_date_is_the_time_left_until_it():
    assert 25 < retry_after_seconds(http_date(30)) <= 30


def test_a_past_date_or_a_negative_delay_means_no_wait():
    assert retry_after_seconds(http_date(-60)) == 0.0
    assert retry_after_seconds("-5") == 0.0


def test_a_date_without_a_zone_is_read_as_utc():
    naive = time.strftime("%a, %d %b %Y %H:%M:%S -0000", time.gmtime(time.time() + 30))
    assert 25 < retry_after_seconds(naive) <= 30


@pytest.mark.parametrize("value", [None, "", "soon", "Fri, 99 Foo 2026"])
def test_no_header_or_an_unreadable_one_means_no_wait(value):
    assert retry_after_seconds(value) == 0.0


def gemini_429(headers: dict[str, str], details: list | None = None) -> genai_errors.APIError:
    """Return the error google-genai raises for a 429 with these headers and details."""
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": details or []}}
    return genai_errors.APIError(429, body, response=httpx.Response(429, headers=headers))


def test_gemini_reads_a_retry_after_in_seconds_or_as_an_http_date():
    assert retry_delay(gemini_429({"Retry-After": "12"})) == 12.0
    assert 25 < retry_delay(gemini_429({"Retry-After": http_date(30)})) <= 30
    assert retry_delay(gemini_429({})) == 0.0


def test_gemini_prefers_retry_info_and_caps_the_header_like_the_other_transports():
    info = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "41s"}]
    assert retry_delay(gemini_429({"Retry-After": "3"}, info)) == 41.0
    assert retry_delay(gemini_429({"Retry-After": "86400"})) == MAX_RETRY_AFTER
