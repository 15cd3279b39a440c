"""Read the Retry-After header (RFC 9110 section 10.2.3): delay-seconds or an HTTP date.

arXiv and the LLM endpoints both send it; one parser serves both, so neither side imports the
other's transport.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A Retry-After beyond this is more likely a bug than a plan; Prefect's retries take over.
MAX_RETRY_AFTER = 600.0


def retry_after_seconds(value: str | None) -> float:
    """Return the delay a Retry-After header asks for (seconds or HTTP date), 0 if none."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
