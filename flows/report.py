"""What a daily run shows in the Prefect UI: post preview, papers, decisions, post link, progress.

The content is built by plain functions from DuckDB (the durable record), so the UI shows the
same thing the post does; `publish` and `Progress` are the only calls into Prefect.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, cast
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

from tasks.record import history, store, views
from tasks.record.views import PaperView


def artifact_key(*parts: str) -> str:
    """Return an artifact key (lowercase letters, digits and dashes, as Prefect requires)."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def paper_rows(views: list[PaperView]) -> list[dict[str, Any]]:
    """Return one table row per selected paper: id, why kept, stage statuses, tokens, title."""
    # The title goes last: the Prefect UI sizes columns to their text, so a long title in
    # second place pushes every other column off a 1400 px screen.
    return [
        {
            "id": v.paper.key,
            "score": round(v.selection.score, 2),
            "step": v.selection.step,
            **history.stage_statuses(
                v.extraction is not None,
                v.summary is not None,
                {f.stage: f.status for f in v.failures},
            ),
            "tokens": (v.summary.prompt_tokens + v.summary.output_tokens) if v.summary else 0,
            "model": (v.summary.served_model or v.summary.model) if v.summary else "",
            "failure": "; ".join(f"{f.stage}: {f.reason}" for f in v.failures),
            "reason": history.explain(
                v.selection.reason, v.selection.matched, v.selection.excluded
            ),
            "title": v.paper.title,
        }
        for v in views
    ]


def decision_rows(decisions: list[history.Decision]) -> list[dict[str, Any]]:
    """Return one table row per selection decision, kept or dropped, with its step and reason."""
    return [
        {
            "id": d.key,
            "kept": d.kept,
            "step": d.step,
            "score": round(d.score, 2),
            "confidence": d.confidence,
            "reason": d.why,
            "title": d.title,  # last, as in the papers table
        }
        for d in decisions
    ]


def preview(
    topic: str,
    day: date,
    post_text: str,
    rows: list[dict[str, Any]],
    decisions: list[history.Decision] | None = None,
    figures: Path | None = None,
    reused: int = 0,
) -> str:
    """Return the Markdown artifact: counts, failures with reasons, then the post's body."""
    failed = [r for r in rows if r["failure"]]
    tokens = sum(r["tokens"] for r in rows)
    lines = [
        f"# {topic}, {day.isoformat()}",
        "",
        f"{len(rows)} papers, {len(failed)} with failures, {tokens} LLM tokens.",
    ]
    if reused:
        lines += ["", reuse_line(reused, len(rows) - reused, models(rows))]
    if decisions:
        counts = history.decision_counts(decisions)
        lines += ["", f"Selection: {counts}. The decisions table gives each one's reason."]
    if failed:
        lines += ["", "## Failures", ""]
        lines += [f"- `{r['id']}` {r['failure']}" for r in failed]
    text, images = without_images(body(post_text))
    if images:
        where = f"the files are in `{figures}`" if figures else "the post file shows them"
        lines += ["", f"{images} figures left out of this preview ({where})."]
    lines += ["", "---", "", text]
    return "\n".join(lines)


# The post's image paths are relative to its Hexo asset folder (or the blog's root), which
# the Prefect UI resolves against its own pages: every image would show broken.
IMAGE = re.compile(r"<img\b[^>]*>|!\[[^\]]*\]\([^)]*\)")
SOURCE = re.compile(r"""\bsrc=["']([^"']*)|\]\(\s*<?([^)\s>]*)""")


def without_images(text: str) -> tuple[str, int]:
    """Return `text` with each image replaced by "[figure: <file name>]", and their count."""

    def mention(image: re.Match[str]) -> str:
        found = SOURCE.search(image.group(0))
        path = next(filter(None, found.groups()), "") if found else ""
        return f"[figure: {path.rsplit('/', 1)[-1] or 'image'}]"

    return IMAGE.subn(mention, text)


def reuse_line(reused: int, processed: int, model: str) -> str:
    """Return how many papers a run took from DuckDB instead of processing them again."""
    by = f" (already summarized by {model})" if model else ""
    return f"{reused} papers reused from DuckDB{by}, {processed} processed in this run."


def models(rows: list[dict[str, Any]]) -> str:
    """Return the models that summarized the table's papers, comma-separated."""
    return ", ".join(sorted({r["model"] for r in rows if r["model"]}))


def body(post_text: str) -> str:
    """Return a post without its YAML front matter."""
    if post_text.startswith("---\n"):
        end = post_text.find("\n---\n", 4)
        if end != -1:
            return post_text[end + 5 :].lstrip("\n")
    return post_text


# For tasks that only read DuckDB: nothing to cache; store.connect waits out another
# process's lock itself.
DB_READ: dict[str, Any] = {"cache_policy": NO_CACHE}


@task(name="report", task_run_name="report-{slug}-{day}", **DB_READ)
def publish(
    db_path: Path,
    topic: str,
    slug: str,
    language: str,
    day: date,
    post: Path | None,
    reused: int = 0,
) -> None:
    """Create the run's artifacts: post preview, paper table, decision table, post link.

    Without a post (no paper kept) only the decision table, which says why none was.
    `reused` kept papers came from DuckDB, already summarized: the preview and the paper
    table say so, or a rerun that reused them all would look like one that did nothing.
    """
    with store.connect(db_path, read_only=True) as con:
        rows = paper_rows(views.load_day(con, topic, day, language))
        decisions = history.decisions(con, topic, day)
    stem = f"{slug}-{day.isoformat()}"
    # Its own table rather than rows in the papers table: a day has hundreds of dropped
    # papers, which would bury the kept ones and their stage statuses.
    create_table_artifact(
        decision_rows(decisions),
        key=artifact_key("decisions", slug),
        description=f"Every selection decision, kept first, with its step and reason, {stem}",
    )
    if post is None:
        return
    assets = post.with_suffix("")  # Hexo's post_asset_folder, where bare image names point
    figures = assets.resolve() if assets.is_dir() else None
    create_markdown_artifact(
        preview(topic, day, post.read_text(encoding="utf-8"), rows, decisions, figures, reused),
        key=artifact_key("post", slug),
        description=f"The {topic} post for {day}",
    )
    reuse = f"; {reuse_line(reused, len(rows) - reused, models(rows))}" if reused else ""
    create_table_artifact(
        rows, key=artifact_key("papers", slug), description=f"Selected papers, {stem}{reuse}"
    )
    create_link_artifact(
        post.resolve().as_uri(),
        link_text=str(post),
        key=artifact_key("post-file", slug),
        description=f"The post file, {stem}",
    )


class Progress:
    """A progress artifact advanced one step at a time."""

    def __init__(self, total: int, description: str, *key: str, reused: int = 0, model: str = ""):
        # Nothing to do (every paper reused from DuckDB) is a finished bar, not an empty one,
        # and its text says where the papers came from.
        self.total, self.done = total, 0
        self.description = description
        self.reused, self.model = reused, model
        created = create_progress_artifact(
            0.0 if total else 100.0, key=artifact_key("progress", *key), description=self._text()
        )
        self.id = cast(UUID, created)  # called from a flow's sync code: the id, not a coroutine

    def _text(self) -> str:
        text = f"{self.description}: {self.done} of {self.total}"
        if self.reused:
            text += f"; {reuse_line(self.reused, self.total, self.model)}"
        return text

    def advance(self) -> None:
        """Count one more step done."""
        self.done += 1
        share = 100.0 * self.done / self.total if self.total else 100.0
        update_progress_artifact(self.id, share, description=self._text())
