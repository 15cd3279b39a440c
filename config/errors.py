"""The base of every error the project raises, and the one for wrong settings.

They live in `config` so the settings can raise them without importing the stages;
`tasks.errors` holds the rest and re-exports these two.
"""

from __future__ import annotations


class DigestError(Exception):
    """Base error; `transient` says whether retrying may help."""

    transient = False

    def __init__(self, message: str, paper: str = ""):
        super().__init__(message, paper)
        self.message = message
        self.paper = paper

    def __str__(self) -> str:
        return f"{self.paper}: {self.message}" if self.paper else self.message


class ConfigError(DigestError):
    """Settings or CLI input are wrong; the message says what to change."""
