"""Issue 9's fault table: each fault injected into a real small day and counted (`make faults`).

Every case runs the daily-digest flow under the session's Prefect harness on a small day (three
kept papers and one rejected paper of 2024-10-07) against the fake arXiv and Gemini servers,
with one fault injected. Cases with `heal` then mend the world and run the day again, as the
next scheduled run would. Each final state is compared with a clean run of the same day:

- lost: a clean row (papers, selections, extractions, figures, summaries; tokens aside) that is
  missing or different, unless a failure recorded for that paper explains it (a broken PDF has
  no extraction, and its summary comes from the abstract); or a clean post's paper missing
  from the post;
- duplicated: a repeated primary key, a row the clean run does not have, a paper twice in the
  post;
- visible: where the fault shows: the run log's retry line, the run report (TopicResult) and
  the post, or the failed run's state.

The same runs feed the secrets test: a canary key must appear in none of their records.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest

from config.settings import Settings
from fakes import gemini_server as gm
from fakes.corpus import make_bad_pdfs
from flows.demo import SAMPLE, pdf_factory
from replay import arxiv_server as ax
from replay.arxiv_api import ATOM_TYPE, FEED_HEAD, answer_query, now_stamp
from tasks.llm.quota import reset_quotas
from tasks.record import store
from tests.conftest import TABLES
from tests.env import settings_env

DAY = date(2024, 10, 7)
TOPIC = "Diffusion Models"
KEPT = ("2410.03665", "2410.03463", "2410.03456")
IDS = (*KEPT, "2410.03901")  # the last is off-topic ("heat diffusion"): fetched, not kept
TARGET = "2410.03463"  # the paper whose PDF is broken in the PDF cases
CANARY = "canary-key-7c3b2a91"
SERVER_DELAY = 22  # seconds: past Prefect's default start-up limit of 20 s
LOG_SIGNS = {
    "Starting temporary server": f"run log: waited {SERVER_DELAY} s+ for the temporary server",
    "was killed by signal": "run log: Dask restarted the worker",
}
# Table -> primary key columns; token counts and cost vary with repairs and are not content.
TABLES_PK = {
    "papers": ("arxiv_id", "version"),
    "selections": ("topic", "day", "arxiv_id"),
    "extractions": ("arxiv_id", "version"),
    "figures": ("arxiv_id", "version", "idx"),
    "summaries": ("arxiv_id", "version", "language"),
}
NOT_CONTENT = {"prompt_tokens", "output_tokens", "cost_usd", "created_at", "calls"}
# Which recorded failures of a paper excuse a table's row being absent or different.
EXCUSED_BY = {
    "papers": set(),
    "selections": set(),
    "extractions": {"download", "extract"},
    "figures": {"download", "extract"},
    "summaries": {"download", "extract", "summarize"},
}


@cache
def all_entries() -> list[dict]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]


def entries() -> list[dict]:
    """Return the small day's papers."""
    return [p for p in all_entries() if p["arxiv_id"] in IDS]


@cache
def good_pdf(arxiv_id: str, version: int) -> bytes | None:
    return pdf_factory(all_entries())(arxiv_id, version)


@cache
def bad_pdfs() -> dict[str, bytes]:
    return make_bad_pdfs()


def empty_page() -> bytes:
    """Return an Atom page that claims results but holds none (arXiv does this under load)."""
    head = FEED_HEAD.format(query="empty", now=now_stamp(), per_page=2000, total=5, start=0)
    return (head + "</feed>\n").encode()


def truncated_feed() -> bytes:
    """Return an Atom page cut off in the middle of an entry."""
    _, body = answer_query(entries(), {"search_query": "cat:cs.CV", "max_results": "10"})
    return body[: len(body) // 2]


def per_day_quota() -> gm.Fault:
    """Return Gemini's 429 for a spent daily quota (a QuotaFailure naming a PerDay quota)."""
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/"
                    "generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                }
            ],
        }
    ]
    error = {"code": 429, "message": gm.QUOTA_MESSAGE, "status": "RESOURCE_EXHAUSTED"}
    return gm.Fault(status=429, body={"error": {**error, "details": details}})


VALID = gm.default_summary({})


@dataclass
class World:
    """What one case runs against; `undo` mends what `arm` did that outlives the run."""

    arxiv: ax.ArxivServer
    gemini: gm.FakeGemini
    data: Path
    pdfs: dict[str, bytes] = field(default_factory=dict)
    undo: list[Callable[[], Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


class CannotRun(Exception):
    """This sandbox cannot stage the fault (the table says why)."""


@dataclass(frozen=True)
class Case:
    """One fault: how to inject it, where it must show, and how to heal before a second run.

    `shows` is `retry` (cured by Prefect's retries within the run), `repair` (the one repair
    request to the model), `failure` or `waiting` (recorded, in the run report and the post),
    `state` (the run fails fast, its state says why; the next run recovers), `open` (the run
    ends Failed, the day stays open; the next run publishes it), `licence` (the post comes out
    with licences unknown), `log` (a line of the run's log shows it) or `lock` (the store
    waits for the other process's lock).
    """

    name: str
    arm: Callable[[World], Any]
    shows: str
    sign: str
    heal: Callable[[World], Any] | None = None
    env: dict[str, str] = field(default_factory=dict)  # settings of this case alone
    runner: str = "flow"  # flow: in this process; cli: `arxiv-digest run` in its own process


def api(*faults: ax.Reply) -> Callable[[World], Any]:
    return lambda w: w.arxiv.inject("/api", *faults)


def llm(*faults: gm.Fault) -> Callable[[World], Any]:
    return lambda w: w.gemini.inject(*faults)


def bad_pdf(kind: str) -> Callable[[World], Any]:
    return lambda w: w.pdfs.update({TARGET: bad_pdfs()[kind]})


def mend_pdfs(world: World) -> None:
    world.pdfs.clear()


def nothing(world: World) -> None:
    """The fault was one-off; the next run simply runs."""


def lock_database(world: World) -> None:
    """Have another process take DuckDB's lock while the licence lookup is answered.

    The lookup is the day's last request before the run's reads and first store, so they meet
    the lock: its answer waits half a second, the other process locks in that time and holds
    the file for three seconds, well past the second the store waits before saying so.
    """
    db = world.data / "digest.duckdb"
    with store.connect(db):  # an existing record, as a backfill beside the run would hold
        pass
    code = (
        "import duckdb, sys, time\n"
        "sys.stdin.readline()\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('locked', flush=True)\n"
        "time.sleep(3.0)\n"
        "con.close()\n"
        "print(time.time(), flush=True)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    world.arxiv.inject("/oai", ax.slow(0.5))

    def lock_at_lookup() -> None:
        deadline = time.monotonic() + 60
        while world.arxiv.count("oai") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.write(b"go\n")
        holder.stdin.flush()
        world.notes["locked"] = holder.stdout.readline().strip() == b"locked"
        world.notes["released"] = float(holder.stdout.readline())
        holder.wait(timeout=30)

    waiter = threading.Thread(target=lock_at_lookup, daemon=True)
    waiter.start()
    world.undo.append(lambda: waiter.join(timeout=90))


def empty_api(world: World) -> None:
    """Have the API answer no paper at all (totalResults 0), as it does while it lags."""
    world.notes["entries"], world.arxiv.entries = world.arxiv.entries, []


def api_back(world: World) -> None:
    world.arxiv.entries = world.notes.pop("entries")


def oai_down(world: World) -> None:
    """Answer every OAI-PMH request with a 503, all day."""
    world.arxiv.inject("/oai", *[ax.unavailable()] * 40)


def oai_back(world: World) -> None:
    world.arxiv._faults.pop("/oai", None)


def kill_a_worker(world: World) -> None:
    """SIGKILL the Dask worker process that downloads the target PDF, while it downloads."""
    import psutil

    world.arxiv.inject(f"/pdf/{TARGET}", ax.slow(1.0))
    port = int(world.arxiv.url.rsplit(":", 1)[1])

    def kill_the_downloader() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(TARGET in p for p in world.arxiv.paths):
                break
            time.sleep(0.01)
        pids = {
            c.pid
            for c in psutil.net_connections("tcp")
            if c.raddr and c.raddr.port == port and c.pid and c.pid != os.getpid()
        }
        for pid in pids:  # the workers with a request to the fake arXiv in flight
            psutil.Process(pid).kill()
        world.notes["killed"] = sorted(pids)

    killer = threading.Thread(target=kill_the_downloader, daemon=True)
    killer.start()
    world.undo.append(lambda: killer.join(timeout=90))


def slow_server(world: World) -> None:
    """Delay the temporary Prefect server's start past Prefect's own 20 s limit."""
    site = world.data.parent / "slow-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import os, time\n"
        "if os.environ.get('PREFECT__SERVER_EPHEMERAL') == '1':\n"
        f"    time.sleep({SERVER_DELAY})\n",
        encoding="utf-8",
    )
    world.notes["pythonpath"] = str(site)


def fill_disk(world: World) -> None:
    """Put the figure directory on a 4 KiB tmpfs, so writing a figure fails with ENOSPC."""
    figures = world.data / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(figures)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CannotRun(f"mount tmpfs: {done.stderr.strip() or done.returncode} (needs root)")
    world.undo.append(lambda: subprocess.run(["umount", "-l", str(figures)], check=False))


def free_disk(world: World) -> None:
    subprocess.run(["umount", str(world.data / "figures")], check=True)


CASES = [
    Case("arXiv 429 + Retry-After", api(ax.rate_limited("1")), "retry", "HTTP 429; Retry-After 1"),
    Case("arXiv 503", api(ax.unavailable()), "retry", "HTTP 503"),
    Case("arXiv timeout", api(ax.slow(3)), "retry", "did not answer within"),
    Case("arXiv 'Rate exceeded.' body", api(ax.rate_exceeded()), "retry", "Rate exceeded."),
    Case("arXiv empty page", api(ax.Reply(200, empty_page(), ATOM_TYPE)), "retry", "empty page"),
    Case(
        "arXiv truncated XML",
        api(ax.Reply(200, truncated_feed(), ATOM_TYPE)),
        "retry",
        "without an Atom feed",
    ),
    Case(
        "arXiv 400",
        api(ax.error_feed("incorrect id format for 2410.0366")),
        "state",
        "HTTP 400",
        heal=nothing,
    ),
    Case("PDF corrupt", bad_pdf("corrupt"), "failure", "2410.03463v1 extract"),
    Case("PDF encrypted", bad_pdf("encrypted"), "failure", "encrypted"),
    Case("PDF is an HTML page", bad_pdf("html"), "failure", "HTML page", heal=mend_pdfs),
    Case("PDF with zero pages", bad_pdf("zero_pages"), "failure", "no pages"),
    Case("PDF huge (2000 pages)", bad_pdf("huge"), "failure", "over the cap"),
    Case("Gemini 429 per minute", llm(gm.rate_limited("0.1s")), "retry", "429"),
    Case("Gemini 429 per day", llm(per_day_quota()), "waiting", "daily quota", heal=nothing),
    Case("Gemini 500", llm(gm.server_error()), "retry", "500"),
    Case("Gemini timeout", llm(gm.delay(3)), "retry", "Gemini request failed"),
    Case("Gemini invalid JSON", llm(gm.answer("Sure! {summary: oops")), "repair", "rejected"),
    Case("Gemini truncated JSON", llm(gm.answer(VALID[: len(VALID) // 2])), "repair", "rejected"),
    Case(
        "Gemini schema-violating JSON",
        llm(gm.answer('{"one_line": "只有一句", "takeaways": 3}')),
        "repair",
        "rejected",
    ),
    Case(
        "Gemini placeholder text",
        llm(gm.answer(VALID.replace("：针对", "：论文链接地址，针对"))),
        "repair",
        "placeholder",
    ),
    Case(
        "Gemini 400 echoing the key",
        llm(gm.client_error(400, f"API key {CANARY} not valid")),
        "failure",
        "API key *** not valid",
        heal=nothing,
    ),
    Case(
        "API answers empty pages for the day",
        empty_api,
        "open",
        "listing not available yet",
        heal=api_back,
    ),
    Case(
        "OAI-PMH down all day",
        oai_down,
        "licence",
        "figures are withheld until a run can look it up",
        heal=oai_back,
        env={"DIGEST_FIGURE_POLICY": "licensed"},
    ),
    Case(
        "temporary server slow to start",
        slow_server,
        "log",
        "Starting temporary server",
        runner="cli",
    ),
    Case(
        "Dask worker killed mid-task",
        kill_a_worker,
        "log",
        "was killed by signal",
        heal=nothing,
        env={"DIGEST_TASK_RUNNER": "dask", "DIGEST_DASK_WORKERS": "2", "DIGEST_ARXIV_TIMEOUT": "5"},
    ),
    Case(
        "DuckDB locked by another process",
        lock_database,
        "lock",
        "is locked by another process; waiting",
    ),
    Case("disk full writing a figure", fill_disk, "failure", "No space left", heal=free_disk),
]


class Capture(logging.Handler):
    """Keep every log record of the suite, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(created).3f %(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


# Loggers captured at DEBUG; the rest at INFO, as Prefect logs by default. Not everything at
# DEBUG: the Prefect client's websocket and HTTP traces would slow every run several-fold.
DEBUG_LOGGERS = ("tasks", "flows", "google_genai", "httpx", "httpx2", "urllib3", "arxiv")


@contextmanager
def capturing() -> Iterator[Capture]:
    """Capture the suite's logging: INFO and up, and DEBUG of our code and the HTTP clients."""
    handler, root = Capture(), logging.getLogger()
    loggers = [root, *map(logging.getLogger, DEBUG_LOGGERS)]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.INFO if logger is root else logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def world_env(arxiv: ax.ArxivServer, gemini: gm.FakeGemini, data: Path) -> dict[str, str]:
    return {
        **arxiv.env(),
        "DIGEST_ARXIV_MIN_INTERVAL": "0.02",
        "DIGEST_ARXIV_TIMEOUT": "1",
        "DIGEST_GEMINI_BASE_URL": gemini.url,
        "GEMINI_API_KEY": CANARY,
        "DIGEST_LLM_RPM": "0",
        "DIGEST_LLM_RPD": "0",
        "DIGEST_LLM_TIMEOUT": "1",
        "DIGEST_RETRY_DELAYS": "[0.1, 0.1, 0.1]",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_FIGURE_POLICY": "always",
        "DIGEST_MAX_FIGURES": "1",
        # The relevance judge would take the first Gemini answer, and with it the injected fault.
        "DIGEST_LLM_JUDGE": "false",
    }


@dataclass
class Run:
    """One flow run of the day."""

    flow_run_id: Any
    completed: bool
    message: str
    failures: list[str]
    waiting: list[str]
    post: str
    log: list[str]
    api_requests: int
    seconds: float = 0.0
    licences_unknown: int = 0


@dataclass
class Outcome:
    """One case's row of the table, with what the secrets test reads."""

    case: str
    runs: list[Run] = field(default_factory=list)
    survived: bool = False
    lost: int = 0
    duplicated: int = 0
    visible: str = ""
    unconsumed: int = 0
    not_run: str = ""
    data: Path | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def run_day(world: World, capture: Capture) -> Run:
    """Run daily-digest for the small day, as a fresh process would (fresh settings, quotas)."""
    from flows.daily_digest import daily_digest

    with settings_env():
        reset_quotas()
        start, api_before = len(capture.lines), world.arxiv.count("api")
        began = time.monotonic()
        state = daily_digest(day=DAY, topics=[TOPIC], llm="gemini", return_state=True)
        value = state.result(raise_on_failure=False)
    topic = value[0] if state.is_completed() else None
    post = Path(topic.post).read_text(encoding="utf-8") if topic and topic.post else ""
    return Run(
        state.state_details.flow_run_id,
        state.is_completed(),
        f"{state.message} {value!r}",
        topic.failures if topic else [],
        topic.waiting if topic else [],
        post,
        capture.lines[start:],
        world.arxiv.count("api") - api_before,
        time.monotonic() - began,
        topic.licences_unknown if topic else 0,
    )


def run_command(world: World, capture: Capture) -> Run:
    """Run `arxiv-digest run` in its own process with no Prefect server: it starts its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PYTHONPATH": world.notes["pythonpath"],
        "PREFECT_HOME": str(world.data / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    (world.data / "prefect").mkdir(parents=True, exist_ok=True)
    api_before, began = world.arxiv.count("api"), time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            "--date",
            str(DAY),
            "--topic",
            TOPIC,
            "--llm",
            "gemini",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    posts = list((world.data / "posts").glob("*.md"))
    log = (done.stdout + done.stderr).splitlines()
    capture.lines.extend(log)  # the canary test reads these too
    return Run(
        None,
        done.returncode == 0,
        done.stdout[-500:] + done.stderr[-500:],
        [],
        [],
        posts[0].read_text(encoding="utf-8") if posts else "",
        log,
        world.arxiv.count("api") - api_before,
        time.monotonic() - began,
    )


RUNNERS = {"flow": run_day, "cli": run_command}


def run_case(case: Case, root: Path, capture: Capture) -> tuple[Outcome, dict, str]:
    """Run one case; return its outcome (lost and duplicated still to count), rows and post."""
    outcome = Outcome(case.name, data=root / re.sub(r"\W+", "-", case.name.lower()).strip("-"))
    pdfs: dict[str, bytes] = {}

    def serve(arxiv_id, version):
        return pdfs.get(arxiv_id) or good_pdf(arxiv_id, version)

    with ax.ArxivServer(entries(), serve) as arxiv, gm.FakeGemini() as gemini:
        world = World(arxiv, gemini, outcome.data, pdfs)
        runner = RUNNERS[case.runner]
        with settings_env(world_env(arxiv, gemini, world.data) | case.env):
            try:
                case.arm(world)
                outcome.runs.append(runner(world, capture))
                if case.heal:
                    case.heal(world)
                    outcome.runs.append(runner(world, capture))
            except CannotRun as exc:
                outcome.not_run = str(exc)
            finally:
                for undo in world.undo:
                    undo()
        outcome.unconsumed = sum(map(len, arxiv._faults.values())) + len(gemini._faults)
        outcome.notes = world.notes
    if outcome.not_run:
        return outcome, {}, ""
    return outcome, dump(world.data / "digest.duckdb"), outcome.runs[-1].post


def dump(db: Path) -> dict[str, Any]:
    """Return {table: {primary key: content}} plus repeated keys and recorded failures."""
    rows: dict[str, Any] = {"_repeated": 0}
    if not db.exists():  # the run stored nothing: every clean row counts as lost
        return rows | {table: {} for table in TABLES_PK} | {"_failed": set()}
    with duckdb.connect(str(db), read_only=True) as con:
        for table, pk in TABLES_PK.items():
            cur = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            found: dict[tuple, tuple] = {}
            for row in cur.fetchall():
                record = dict(zip(names, row, strict=True))
                key = tuple(str(record[c]) for c in pk)
                rows["_repeated"] += key in found
                found[key] = tuple(str(v) for c, v in record.items() if c not in NOT_CONTENT)
            rows[table] = found
        failed = con.execute("SELECT arxiv_id, stage FROM failures").fetchall()
    rows["_failed"] = {(arxiv_id, stage) for arxiv_id, stage in failed}
    return rows


def headings(post: str) -> list[str]:
    return re.findall(r"^## (.+)$", post, re.MULTILINE)


def count(outcome: Outcome, rows: dict, post: str, clean: dict, clean_post: str) -> None:
    """Fill in lost and duplicated against the clean run."""
    failed: set = rows["_failed"]
    for table, pk in TABLES_PK.items():
        id_at = pk.index("arxiv_id")
        for key, content in clean[table].items():
            if rows[table].get(key) == content:
                continue
            if not any((key[id_at], stage) in failed for stage in EXCUSED_BY[table]):
                outcome.lost += 1
        outcome.duplicated += len(set(rows[table]) - set(clean[table]))
    outcome.lost += len(set(headings(clean_post)) - set(headings(post)))
    outcome.duplicated += rows["_repeated"] + len(headings(post)) - len(set(headings(post)))


def visible(case: Case, first: Run, notes: dict[str, Any]) -> str:
    """Return where the fault showed in the first run, or '' if it did not."""
    if case.shows == "lock":
        waited = notes.get("locked") and any(case.sign in ln for ln in first.log)
        return "run log: the store waited for the lock" if waited else ""
    if case.shows == "retry" and any("Retry 1/" in ln and case.sign in ln for ln in first.log):
        return "run log: retried"
    if case.shows == "repair" and any(
        "answer rejected" in ln and case.sign in ln for ln in first.log
    ):
        return "run log: repaired"
    if case.shows == "log" and any(case.sign in ln for ln in first.log):
        return LOG_SIGNS[case.sign]
    if case.shows == "licence" and first.completed and first.licences_unknown:
        return "report + post: licences unknown" if case.sign in first.post else ""
    if case.shows == "open" and not first.completed and case.sign in first.message:
        return "run state: Failed, day left open"
    reported = first.failures if case.shows == "failure" else first.waiting
    shown = "\n".join([*first.failures, first.post])
    if case.shows in ("failure", "waiting") and reported and case.sign in shown:
        return f"report + post: {case.shows}"
    if case.shows == "state" and not first.completed and case.sign in first.message:
        return "run state: failed fast"
    return ""


@pytest.fixture(scope="module")
def suite(prefect_harness, tmp_path_factory, request) -> Iterator[dict[str, Any]]:
    """Run the clean day and every case; hand the table to the terminal summary."""
    root = tmp_path_factory.mktemp("faults")
    with capturing() as capture:
        clean_outcome, clean, clean_post = run_case(Case("clean", nothing, "", ""), root, capture)
        assert clean_outcome.runs[0].completed and clean_post, clean_outcome.runs[0].message
        assert len(headings(clean_post)) == len(KEPT) and len(clean["summaries"]) == len(KEPT)
        outcomes = []
        for case in CASES:
            outcome, rows, post = run_case(case, root, capture)
            if not outcome.not_run:
                count(outcome, rows, post, clean, clean_post)
                last = outcome.runs[-1]
                outcome.survived = last.completed and bool(last.post)
                outcome.visible = visible(case, outcome.runs[0], outcome.notes)
            outcomes.append(outcome)
    request.config.stash.setdefault(TABLES, []).append(table(outcomes))
    yield {"outcomes": outcomes, "clean": clean_outcome, "log": capture.lines}


def table(outcomes: list[Outcome]) -> str:
    head = ("fault", "runs", "survived", "rows lost", "rows duplicated", "visible in run report")
    rows = [
        (o.case, "-", "not run", "-", "-", o.not_run)
        if o.not_run
        else (
            o.case,
            str(len(o.runs)),
            "yes" if o.survived else "NO",
            str(o.lost),
            str(o.duplicated),
            o.visible or "NOT SHOWN",
        )
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    title = f"fault injection: daily-digest on {DAY}, {len(KEPT)} papers kept of {len(IDS)}"
    return "\n".join([title, "-" * len(lines[0]), *lines])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_is_survived_without_loss_or_duplicates_and_shows(suite, case):
    outcome = next(o for o in suite["outcomes"] if o.case == case.name)
    if outcome.not_run:
        pytest.skip(outcome.not_run)
    assert outcome.unconsumed == 0, "the injected fault was never hit"
    assert outcome.survived, outcome.runs[-1].message
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert outcome.visible, [ln for ln in outcome.runs[0].log if "WARNING" in ln or "Retry" in ln]


def test_a_400_is_not_retried(suite):
    outcome = next(o for o in suite["outcomes"] if o.case == "arXiv 400")
    assert outcome.runs[0].api_requests == 1


def test_the_canary_key_leaks_nowhere(suite):
    """Logs (captured and read back from Prefect), parameters, results, DuckDB, posts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    runs = [r for o in [suite["clean"], *suite["outcomes"]] for r in o.runs]
    assert not [ln for ln in suite["log"] if CANARY in ln]
    assert any("API key *** not valid" in ln for ln in suite["log"])  # the echo was scrubbed
    APILogHandler().flush()
    ids = [r.flow_run_id for r in runs if r.flow_run_id]  # a command's own server is gone
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
        params = [client.read_flow_run(i).parameters for i in ids]
    assert len(logs) > len(runs)
    assert not [log.message for log in logs if CANARY in log.message]
    assert params and not [p for p in params if CANARY in json.dumps(p, default=str)]
    for outcome in [suite["clean"], *suite["outcomes"]]:
        if outcome.data and outcome.data.exists():
            for path in outcome.data.rglob("*"):
                if path.is_file():
                    assert CANARY.encode() not in path.read_bytes(), path


def test_the_daily_budget_counts_every_run_of_the_day(prefect_harness, tmp_path):
    """Past `llm_budget_usd` the papers wait; a second run the same day calls nothing."""
    prices = json.dumps({Settings().llm_model: [1_000_000.0, 0.0]})  # $1 per prompt token
    with (
        capturing() as capture,
        ax.ArxivServer(entries(), good_pdf) as arxiv,
        gm.FakeGemini() as gemini,
    ):
        world = World(arxiv, gemini, tmp_path)
        env = {
            **world_env(arxiv, gemini, tmp_path),
            "DIGEST_LLM_PRICES": prices,
            "DIGEST_LLM_BUDGET_USD": "1",
            "DIGEST_LLM_CONCURRENCY": "1",
        }
        calls = []
        runs = []
        for budget in ("1", "1", "1000000000"):
            env["DIGEST_LLM_BUDGET_USD"] = budget
            before = gemini.count("generateContent")
            with settings_env(env):
                runs.append(run_day(world, capture))
            calls.append(gemini.count("generateContent") - before)
    assert calls == [1, 0, len(KEPT) - 1]
    assert len(runs[0].waiting) == len(runs[1].waiting) == len(KEPT) - 1
    assert "daily LLM budget of $1.00 is spent" in runs[1].post
    assert runs[2].waiting == [] and runs[2].failures == []
