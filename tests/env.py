"""Run a block under a changed environment with settings loaded from it, then undo both."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import pytest

from config.loading import get_settings


@contextmanager
def settings_env(values: Mapping[str, str] = {}, drop: Iterable[str] = ()) -> Iterator[None]:
    """Unset `drop`, set `values` and load the settings afresh; on leaving, put back the rest.

    get_settings() keeps its first load for the whole process, so a changed environment shows
    only once its cache is cleared, and a load left in it would leak into the next test: the
    cache is cleared on entering and again once the environment is as it was. With no
    arguments, the block just gets fresh settings.
    """
    patch = pytest.MonkeyPatch()
    try:
        for name in drop:
            patch.delenv(name, raising=False)
        for name, value in values.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield
    finally:
        patch.undo()
        get_settings.cache_clear()
