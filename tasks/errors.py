"""The few exception types the stages raise; all picklable for Prefect states."""

from __future__ import annotations

from config.errors import ConfigError as ConfigError
from config.errors import DigestError as DigestError


class TransientError(DigestError):
    """A failure worth retrying: 429, 5xx, timeouts, throttled bodies."""

    transient = True

    def __init__(self, message: str, paper: str = "", retry_after: float = 0.0):
        super().__init__(message, paper)
        self.args = (message, paper, retry_after)
        self.retry_after = retry_after


class FetchError(DigestError):
    """arXiv refused or answered something unusable (not retried)."""


class ListingUnavailable(FetchError):
    """arXiv listed no paper for a batch that should exist: not a finished day.

    Its API lags the announcement and answers empty pages under load, so the day stays open
    and the next run (or backfill) asks again.
    """


class ExtractError(DigestError):
    """A PDF could not be downloaded, validated or read."""


class SummaryError(DigestError):
    """The LLM gave no valid summary for a paper."""


class JudgeError(DigestError):
    """The relevance judge gave no valid verdict for a batch; `paper` names its papers."""


class QuotaExhausted(DigestError):
    """The LLM's daily quota or the budget is used up: the paper waits for the next run."""


class DayIncomplete(DigestError):
    """A run could not finish its day (arXiv listed nothing yet); `results` says per topic."""

    def __init__(self, message: str, results: list | None = None):
        super().__init__(message)
        self.args = (message, results)
        self.results = results or []


def is_transient(exc: BaseException) -> bool:
    """Return True for errors that a retry may cure."""
    return isinstance(exc, TransientError)


class LLMConfigError(ConfigError):
    """The LLM service refuses the settings: a model it does not serve, a bad key, no access.

    No paper can succeed then, so the flow lets it propagate and the run stops on one line.
    """
