"""A local HTTP server that speaks the Gemini REST protocol as google-genai calls it.

`POST /{api_version}/models/{model}:generateContent` and `GET /{api_version}/models` (the
recorded models.list, or the `served` names) are served; given `served`, another model is
answered 404 NOT_FOUND as a shut-down one is. Answers come from a
`responder(request_json) -> str`; injected faults (429 with RetryInfo, 5xx, a canned answer, a
delay) are consumed one per request, in order, before the responder is asked. Given `judge`
verdicts, the fake answers relevance-judge prompts itself (see `judge_answer`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from fakes.local_server import LocalServer, QuietHandler
from fakes.recorded import recorded

Responder = Callable[[dict[str, Any]], str]
# The judge's verdict per paper id ("2410.03665v1"): relevant or not; None leaves the id out.
JudgeVerdicts = Mapping[str, bool | None] | Callable[[str], bool | None]

_PATH = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):(?P<method>\w+)$")
_JUDGED_PAPER = re.compile(r'<paper id="([^"]+)">')  # config/prompts/judge.md's paper tag

QUOTA_MESSAGE = "Resource has been exhausted (e.g. check quota)."


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour: an error status, a canned answer text, or a delay first."""

    status: int = 200
    body: dict[str, Any] | None = None
    text: str | None = None
    delay: float = 0.0
    fixture: str = ""  # a recorded answer of tests/fixtures/llm/, its text the responder's


@dataclass(frozen=True)
class Request:
    """A request the fake received."""

    method: str
    api_version: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt_text(self) -> str:
        """Return every text part of the request (system instruction and contents)."""
        return "\n".join(_texts(self.body))

    @property
    def judged_ids(self) -> list[str]:
        """Return the paper ids a judge prompt asks about; none for other prompts."""
        return judged_ids(self.body)


def rate_limited(retry_delay: str = "2s") -> Fault:
    """Return a 429 RESOURCE_EXHAUSTED fault carrying a google.rpc.RetryInfo detail."""
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}]
    error = {"code": 429, "message": QUOTA_MESSAGE, "status": "RESOURCE_EXHAUSTED"}
    return Fault(status=429, body={"error": {**error, "details": details}})


def server_error(status: int = 500) -> Fault:
    """Return a 5xx fault with Google's error body."""
    error = {"code": status, "message": "An internal error has occurred.", "status": "INTERNAL"}
    return Fault(status=status, body={"error": error})


def client_error(status: int = 400, message: str = "API key not valid.") -> Fault:
    """Return a 4xx fault such as a bad key or a bad request."""
    error = {"code": status, "message": message, "status": "INVALID_ARGUMENT"}
    return Fault(status=status, body={"error": error})


def replay(name: str) -> Fault:
    """Return a fault that answers with the recorded shape `name` (tests/fixtures/llm/)."""
    return Fault(fixture=name)


def answer(text: str) -> Fault:
    """Return a fault that answers `text` (invalid JSON, placeholders, ...) instead."""
    return Fault(text=text)


def delay(seconds: float) -> Fault:
    """Return a fault that waits `seconds` before answering normally."""
    return Fault(delay=seconds)


def judged_ids(request_json: dict[str, Any]) -> list[str]:
    """Return the paper ids a judge prompt asks about, in order; none for other prompts."""
    # The turns only: the system instruction shows the tag itself, as <paper id="...">.
    turns = {"contents": request_json.get("contents", [])}
    return list(dict.fromkeys(_JUDGED_PAPER.findall("\n".join(_texts(turns)))))


def judge_answer(request_json: dict[str, Any], verdicts: JudgeVerdicts) -> str:
    """Return the judge's JSON answer: one verdict per paper id, from a dict or a rule.

    An id the dict lacks, or judged None, is left out of the answer, as a faulty model does.
    """
    decide = verdicts if callable(verdicts) else verdicts.get
    decided = [(i, decide(i)) for i in judged_ids(request_json)]
    return json.dumps(
        {
            "verdicts": [
                {
                    "id": i,
                    "relevant": relevant,
                    "confidence": 0.9 if relevant else 0.8,
                    "reason": f"the fake judge {'keeps' if relevant else 'drops'} {i}",
                }
                for i, relevant in decided
                if relevant is not None
            ]
        }
    )


def default_summary(request_json: dict[str, Any]) -> str:
    """Return a valid Chinese PaperSummary JSON about the title found in the request."""
    match = re.search(r"^Title: (.+)$", "\n".join(_texts(request_json)), re.MULTILINE)
    # Only the title's first word: a whole English title would make the prose not Chinese.
    name = match.group(1).split()[0] if match else "本文"
    summary = {
        "one_line": f"{name}：针对第一人称运动估计提出新的扩散模型方法，并在多个基准上领先。",
        "takeaways": [
            "提出了一种新的条件扩散模型框架。",
            "设计了时空不变性准则以提升估计精度。",
            "在公开基准上显著降低了误差。",
        ],
        "analysis": {
            "title_translation": f"{name}：在自我感知世界中估计身体与手部运动",
            "keywords": ["扩散模型", "条件生成", "姿态估计"],
            "background": "头戴设备的普及使得从第一人称数据估计人体运动成为重要问题。",
            "prior_work": "以往方法主要关注场景重建，忽视了佩戴者自身的动作，且误差较大。",
            "method": "作者提出以头部运动为条件的扩散模型，并结合时空不变性进行参数化。",
            "performance": "在多个数据集上，身体估计误差降低百分之十八，手部误差降低百分之四十。",
            "methodology": [
                "采集头戴设备的定位姿态与图像。",
                "以头部运动为条件训练扩散模型。",
                "利用身体估计结果约束手部参数。",
            ],
            "significance": "该工作为增强现实与机器人中的人体理解提供了可靠的基础。",
            "innovation": "首次提出面向头部运动条件的不变性参数化方法。",
            "performance_assessment": "实验结果全面且显著优于现有基线方法。",
            "workload": "作者构建了完整的系统并进行了大量对比与消融实验。",
        },
    }
    return json.dumps(summary, ensure_ascii=False)


class FakeGemini(LocalServer):
    """Run the fake on 127.0.0.1 on a free port; use as a context manager, read `.url`."""

    def __init__(
        self,
        responder: Responder = default_summary,
        model_version: str | None = None,
        latency: float = 0.0,
        judge: JudgeVerdicts | None = None,
        served: list[str] | None = None,
    ):
        self.responder = responder
        # The models listed and answered; None lists the recorded list and answers any model.
        self.served = served
        self.listed: list[Request] = []
        # Without verdicts the responder answers judge prompts too.
        self.judge = judge
        self.model_version = model_version  # None: the model asked for, as Google answers
        # Seconds every answer takes, as a real model's generation does (bench/day.py).
        self.latency = latency
        super().__init__(_handler_for(self))

    def count(self, method: str) -> int:
        """Return how many requests called `method` (e.g. "generateContent")."""
        return sum(1 for request in self.requests if request.method == method)

    def _record(self, request: Request) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            return self._faults.popleft() if self._faults else None

    def _respond(self, request: Request) -> tuple[int, dict[str, Any]]:
        fault = self._record(request) or Fault()
        if fault.delay or self.latency:
            # An Event, not time.sleep, so closing the server cuts the wait short.
            self._closing.wait(fault.delay + self.latency)
        if self.served is not None and request.model not in self.served:
            return recorded("gemini_not_found", model=request.model)
        if fault.status != 200:
            return fault.status, fault.body or {}
        if fault.fixture:
            text = self.responder(request.body)
            return recorded(fault.fixture, text=text, model=request.model)
        if fault.text is not None:
            text = fault.text
        elif self.judge is not None and request.judged_ids:
            text = judge_answer(request.body, self.judge)
        else:
            text = self.responder(request.body)
        return 200, self._success(request, text)

    def _success(self, request: Request, text: str) -> dict[str, Any]:
        prompt_tokens = max(1, len(request.prompt_text) // 4)
        output_tokens = max(1, len(text) // 4)
        return {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": prompt_tokens + output_tokens,
            },
            "modelVersion": self.model_version or request.model,
            "responseId": f"fake-{len(self.requests)}",
        }

    def _models(self, request: Request) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.listed.append(request)  # apart from the calls, which tests count
        status, body = recorded("gemini_models_list")
        if self.served is not None:
            known = {m["name"]: m for m in body["models"]}
            template = body["models"][0]
            body["models"] = [
                known.get(f"models/{name}", {**template, "name": f"models/{name}"})
                for name in self.served
            ]
        return status, body


def _texts(body: dict[str, Any]) -> list[str]:
    contents = list(body.get("contents", []))
    if "systemInstruction" in body:
        contents.insert(0, body["systemInstruction"])
    return [
        part["text"] for content in contents for part in content.get("parts", []) if "text" in part
    ]


def _handler_for(fake: FakeGemini) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to `fake`."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            version = path.strip("/").split("/")[0]
            if path != f"/{version}/models":
                self._send(404, {"error": {"code": 404, "message": f"no route {self.path}"}})
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            self._send(*fake._models(Request("list", version, "", headers, {})))

        def do_POST(self) -> None:
            match = _PATH.match(self.path.split("?", 1)[0])
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            if not match:
                self._send(404, {"error": {"code": 404, "message": f"no route {self.path}"}})
                return
            request = Request(
                method=match["method"],
                api_version=match["version"],
                model=match["model"],
                headers={key.lower(): value for key, value in self.headers.items()},
                body=json.loads(raw or b"{}"),
            )
            self._send(*fake._respond(request))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.reply(status, data, {"Content-Type": "application/json; charset=UTF-8"})

    return Handler
