"""What a daily run shows in the Prefect UI: post preview, paper table, post link, progress.

The content is built by plain functions from DuckDB (the durable record), so the UI shows the
same thing the post does; `publish` and `Progress` are the only calls into Prefect.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from tasks import history, store
from tasks.store import PaperView


def artifact_key(*parts: str) -> str:
    """Return an artifact key (lowercase letters, digits and dashes, as Prefect requires)."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def paper_rows(views: list[PaperView]) -> list[dict[str, Any]]:
    """Return one table row per selected paper: id, title, score, stage statuses, tokens."""
    return [
        {
            "id": v.paper.key,
            "title": v.paper.title,
            "score": round(v.selection.score, 2),
            **history.stage_statuses(
                v.extraction is not None,
                v.summary is not None,
                {f.stage: f.reason for f in v.failures},
            ),
            "tokens": (v.summary.prompt_tokens + v.summary.output_tokens) if v.summary else 0,
            "failure": "; ".join(f"{f.stage}: {f.reason}" for f in v.failures),
        }
        for v in views
    ]


def preview(topic: str, day: date, post_text: str, rows: list[dict[str, Any]]) -> str:
    """Return the Markdown artifact: counts, failures with reasons, then the post's body."""
    failed = [r for r in rows if r["failure"]]
    tokens = sum(r["tokens"] for r in rows)
    lines = [
        f"# {topic}, {day.isoformat()}",
        "",
        f"{len(rows)} papers, {len(failed)} with failures, {tokens} LLM tokens.",
    ]
    if failed:
        lines += ["", "## Failures", ""]
        lines += [f"- `{r['id']}` {r['failure']}" for r in failed]
    lines += ["", "---", "", body(post_text)]
    return "\n".join(lines)


def body(post_text: str) -> str:
    """Return a post without its YAML front matter."""
    if post_text.startswith("---\n"):
        end = post_text.find("\n---\n", 4)
        if end != -1:
            return post_text[end + 5 :].lstrip("\n")
    return post_text


# For tasks that only read DuckDB: nothing to cache; store.connect waits out another
# process's lock itself.
DB_READ: dict[str, Any] = dict(cache_policy=NO_CACHE)


@task(name="report", task_run_name="report-{slug}-{day}", **DB_READ)
def publish(db_path: Path, topic: str, slug: str, language: str, day: date, post: Path) -> None:
    """Create the run's post preview, paper table and post link artifacts."""
    with store.connect(db_path) as con:
        rows = paper_rows(store.load_day(con, topic, day, language))
    stem = f"{slug}-{day.isoformat()}"
    create_markdown_artifact(
        preview(topic, day, post.read_text(encoding="utf-8"), rows),
        key=artifact_key("post", slug),
        description=f"The {topic} post for {day}",
    )
    create_table_artifact(
        rows, key=artifact_key("papers", slug), description=f"Selected papers, {stem}"
    )
    create_link_artifact(
        post.resolve().as_uri(),
        link_text=str(post),
        key=artifact_key("post-file", slug),
        description=f"The post file, {stem}",
    )


class Progress:
    """A progress artifact advanced one step at a time."""

    def __init__(self, total: int, description: str, *key: str):
        self.total, self.done = max(total, 1), 0
        self.description = description
        self.id: UUID = create_progress_artifact(
            0.0, key=artifact_key("progress", *key), description=self._text()
        )

    def _text(self) -> str:
        return f"{self.description}: {self.done} of {self.total}"

    def advance(self) -> None:
        """Count one more step done."""
        self.done += 1
        update_progress_artifact(self.id, 100.0 * self.done / self.total, description=self._text())
