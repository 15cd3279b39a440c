"""Load the settings; a wrong config file or variable becomes one line saying what to fix."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from config.errors import ConfigError
from config.settings import DEFAULT_CONFIG, Settings, Topic


def load_settings() -> Settings:
    """Return the settings, or raise ConfigError naming the file or variable, key and remedy."""
    path = Path(os.environ.get("DIGEST_CONFIG") or DEFAULT_CONFIG)
    text, data = _read(path)
    _check_keys(path, text, data)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_explain(path, text, exc)) from None
    except SettingsError as exc:  # an environment variable that is not valid JSON for its type
        field = re.search(r'field "(\w+)"', str(exc))
        env = f"DIGEST_{field[1].upper()}" if field else "a DIGEST_* variable"
        raise ConfigError(
            f"{env}={os.environ.get(env, '')!r} is not valid JSON for its "
            f"list or table ({_cause(exc)})"
        ) from None


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """Return the config file's text and table; a missing file is an error, not "no topics"."""
    if not path.is_file():
        raise ConfigError(
            f"DIGEST_CONFIG names {path}, which is not a file; point it at a "
            f"TOML file such as {DEFAULT_CONFIG}"
        )
    text = path.read_text(encoding="utf-8")
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 gives only the text: "Invalid value (at line 2, column 5)".
        found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}:{found[2]}:{found[3]}" if found else str(path)
        raise ConfigError(f"{where}: TOML syntax: {found[1] if found else exc}") from None


def _cause(exc: BaseException) -> str:
    return str(exc.__cause__ or exc.__context__ or "")


def _check_keys(path: Path, text: str, data: dict[str, Any]) -> None:
    """Raise ConfigError for the first key that is not a setting, at top level or in a topic."""
    for key in data:
        _known(path, text, key, Settings, "", (0, -1))
    for n, topic in enumerate(data.get("topics") or []):
        if isinstance(topic, dict):
            for key in topic:
                _known(path, text, key, Topic, f"topics[{n}].", _topic_span(text, n))


def _known(
    path: Path, text: str, key: str, model: type[BaseModel], prefix: str, span: tuple[int, int]
) -> None:
    """Raise ConfigError if `key` is not a field of `model`, naming the nearest that is."""
    fields = list(model.model_fields)
    if key in fields:
        return
    near = difflib.get_close_matches(key, fields, n=1)
    hint = f"did you mean {near[0]!r}?" if near else "known keys: " + ", ".join(fields)
    line = _line(text, key, span)
    where = f"{path}:{line}" if line else str(path)
    raise ConfigError(f"{where}: unknown key '{prefix}{key}'; {hint}")


def _topic_span(text: str, n: int) -> tuple[int, int]:
    """Return where the `n`-th [[topics]] table starts and ends (the whole text if absent)."""
    heads = [m.start() for m in re.finditer(r"^[ \t]*\[\[topics\]\]", text, re.M)]
    if n >= len(heads):
        return 0, len(text)
    return heads[n], heads[n + 1] if n + 1 < len(heads) else len(text)


def _line(text: str, key: str, span: tuple[int, int] = (0, -1)) -> int:
    """Return the line where `key = ` is first written within `span` (0: not found)."""
    end = len(text) if span[1] < 0 else span[1]
    found = re.compile(rf'^[ \t]*"?{re.escape(key)}"?[ \t]*=', re.M).search(text, span[0], end)
    return text.count("\n", 0, found.start()) + 1 if found else 0


def _explain(path: Path, text: str, exc: ValidationError) -> str:
    """Return the first validation error as one line: where, which key, what is allowed."""
    errors = exc.errors()
    err = errors[0]
    loc = [str(part) for part in err["loc"]]
    key = loc[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    env = f"DIGEST_{loc[0].upper()}"
    if env in os.environ and loc[0] != "topics":
        where = f"{env}={os.environ[env]!r}"
    else:
        line = _where(text, loc)
        where = f"{path}:{line}" if line else str(path)
    if err["type"] == "missing":
        return f"{where}: {key} is required and missing{more}"
    return f"{where}: {key} = {err['input']!r}: {err['msg']}{more}"


def check_db_path(path: Path) -> None:
    """Raise ConfigError unless the database at `path` can be opened or created there."""
    name = f"db_path (DIGEST_DB_PATH) {path}"
    if path.is_dir():
        raise ConfigError(f"{name} is a folder; name a file, such as {path / 'digest.duckdb'}")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{name} is not writable; change its permissions or the setting")
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{name} cannot be created: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"{name} cannot be created: {parent} is not writable")


def _where(text: str, loc: list[str]) -> int:
    """Return the line of the key at `loc` (a missing topic key: its [[topics]] line; 0: none)."""
    if loc[0] != "topics" or len(loc) < 2 or not loc[1].isdigit():
        return _line(text, loc[0])
    span = _topic_span(text, int(loc[1]))
    key_line = _line(text, loc[2], span) if len(loc) > 2 else 0
    return key_line or text.count("\n", 0, span[0]) + 1


@lru_cache
def get_settings() -> Settings:
    """Return the process's settings, loaded on first call (ConfigError says what is wrong)."""
    return load_settings()
