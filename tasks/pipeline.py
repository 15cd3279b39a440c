"""A small scheduler for per-paper pipelines: steps declared as data, each with its own limit.

Each paper goes through the steps in turn (download → extract → summarize); a step's result
is the next step's input, and a failed step hands `None` to the step its `otherwise` names
(a paper whose PDF failed is still summarized from its abstract). At most `limit` runs of a
step are in flight: the task runner's queue is first in, first out and its workers are few,
so a step with more runs submitted than it can use would hold workers the next download
needs. Submitting is the caller's (`Step.submit` returns any future with
`add_done_callback`); `run` yields every finished run, in the order they finish.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class Future(Protocol):
    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


@dataclass(frozen=True)
class Step(Generic[T]):
    """One step of the pipeline: how to start a run, how many at once, where to go next."""

    name: str
    submit: Callable[[T, Any], Future]  # (item, the previous step's result) -> future
    limit: int
    then: str | None = None  # the step that takes this one's result
    otherwise: str | None = None  # the step that takes the item, with None, when this fails


@dataclass(frozen=True)
class Done(Generic[T]):
    """A finished run: its step and item, whether it succeeded, and its result or error."""

    step: str
    item: T
    ok: bool
    value: Any


Outcome = Callable[[Any], tuple[bool, Any]]  # future -> (succeeded, result or error)


def run(
    steps: Sequence[Step[T]],
    items: Iterable[T],
    outcome: Outcome,
    started: Callable[[], object] | None = None,
) -> Iterator[Done[T]]:
    """Run every item through `steps` (from the first), yielding each run as it finishes.

    `started`, if given, is called once the first runs are submitted.
    """
    by_name = {step.name: step for step in steps}
    for step in steps:
        for target in (step.then, step.otherwise):
            if target is not None and target not in by_name:
                raise ValueError(f"step {step.name!r} leads to unknown step {target!r}")
    ready: dict[str, deque[tuple[T, Any]]] = {step.name: deque() for step in steps}
    ready[steps[0].name].extend((item, None) for item in items)
    running = dict.fromkeys(by_name, 0)
    finished: queue.Queue[Any] = queue.Queue()
    pending: dict[int, tuple[Any, str, T]] = {}

    def pump() -> None:
        for step in steps:
            while ready[step.name] and running[step.name] < step.limit:
                item, value = ready[step.name].popleft()
                future = step.submit(item, value)
                running[step.name] += 1
                pending[id(future)] = (future, step.name, item)
                future.add_done_callback(finished.put)

    pump()
    if started:
        started()
    while pending:
        future, name, item = pending.pop(id(finished.get()))
        running[name] -= 1
        ok, value = outcome(future)
        yield Done(name, item, ok, value)
        target = by_name[name].then if ok else by_name[name].otherwise
        if target is not None:
            ready[target].append((item, value if ok else None))
        pump()


def prefect_outcome(future: Any) -> tuple[bool, Any]:
    """Return a finished Prefect future's outcome: (True, result) or (False, its exception)."""
    future.wait()
    state = future.state
    if state.is_completed():
        return True, future.result()
    return False, state.result(raise_on_failure=False)
