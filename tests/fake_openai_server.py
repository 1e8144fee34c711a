"""A fake OpenAI-compatible server on 127.0.0.1 for OpenAIJudge tests, scripted per prompt.

Named fake on purpose: it returns log-probs the test chose, never a model's. It speaks
/v1/chat/completions, /v1/completions and vLLM's /tokenize and /detokenize over a tiny
vocabulary, and answers each request by the first Reply whose `match` is in the prompt.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VOCAB = {"Yes": 10, " Yes": 11, "yes": 12, "\nYes": 13, "No": 20, " No": 21, "no": 22}
TOKEN_LOGPROBS = {10: -2.0, 11: -1.0, 12: -4.0, 13: -5.0, 20: -1.5, 21: -0.7, 22: -3.0}
TOP = [(" No", -0.7), (" Yes", -1.0), ("No", -1.5), ("Yes", -2.0), ("no", -3.0), ("Maybe", -3.5)]


@dataclass
class Reply:
    match: str = ""  # applies to prompts containing this; "" matches every prompt
    status: int = 200  # error status to answer with
    times: int | None = None  # error this many times then succeed; None: always
    retry_after: str | None = None
    sleep_s: float = 0.0
    answer: str = "Yes"
    answer_for: Callable[[str], str] | None = None  # the answer text from the prompt
    top: list[tuple[str, float]] = field(default_factory=lambda: list(TOP))
    token_logprobs: dict[int, float] = field(default_factory=lambda: dict(TOKEN_LOGPROBS))
    logprobs: bool = True  # False: the endpoint returns no log-probs at all
    vllm_fields: bool = True  # honour logprob_token_ids and return_tokens_as_token_ids
    echo_headers: bool = False  # error bodies repeat the request headers (a careless proxy)
    refuse_response_format: bool = False  # 400 to any request with response_format
    refuse_logprobs: bool = False  # 400 to any request asking for log-probs
    seen: int = 0


class FakeOpenAIServer:
    def __init__(self, tokenizer_endpoints: bool = True) -> None:
        self.replies: list[Reply] = []
        self.tokenizer_endpoints = tokenizer_endpoints
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def on(self, reply: Reply) -> Reply:
        self.replies.append(reply)
        return reply

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body, _ in self.requests if p == path]

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def respond(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append((path, body, headers))
        if path in ("/tokenize", "/detokenize"):
            if not self.tokenizer_endpoints:
                return 404, {"detail": "Not Found"}, {}
            if path == "/tokenize":
                text = body["prompt"]
                tokens = [VOCAB[text]] if text in VOCAB else [1000 + ord(c) for c in text]
                return 200, {"count": len(tokens), "max_model_len": 1024, "tokens": tokens}, {}
            names = {i: t for t, i in VOCAB.items()}
            text = "".join(names[i] if i in names else chr(i - 1000) for i in body["tokens"])
            return 200, {"prompt": text}, {}
        chat = path == "/v1/chat/completions"
        prompt = body["messages"][0]["content"] if chat else body["prompt"]
        reply = next((r for r in self.replies if r.match in prompt), Reply())
        with self._lock:
            reply.seen += 1
            erring = reply.status != 200 and (reply.times is None or reply.seen <= reply.times)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(reply.sleep_s)
        finally:
            with self._lock:
                self.in_flight -= 1
        asks_logprobs = bool(body.get("logprobs") or body.get("top_logprobs"))
        if reply.refuse_response_format and "response_format" in body:
            error = {"message": "response_format is not supported by this model", "code": 400}
            return 400, {"error": error}, {}
        if reply.refuse_logprobs and asks_logprobs:
            return 400, {"error": {"message": "logprobs are not supported", "code": 400}}, {}
        if erring:
            message = f"scripted failure {reply.status}"
            if reply.echo_headers:
                message += f"; request headers: {headers}"
            extra = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
            error = {"message": message, "type": "fake", "code": reply.status}
            return reply.status, {"error": error}, extra
        quiet = dataclasses.replace(reply, logprobs=False) if reply.refuse_logprobs else reply
        return 200, _completion(body, prompt, quiet, chat), {}


def _completion(body: dict[str, Any], prompt: str, reply: Reply, chat: bool) -> dict[str, Any]:
    as_ids = reply.vllm_fields and body.get("logprob_token_ids")
    if as_ids:
        top = [(f"token_id:{i}", reply.token_logprobs.get(i, -30.0)) for i in as_ids]
    else:
        top = reply.top[: int(body.get("top_logprobs") or body.get("logprobs") or 0)]
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 1}
    usage["total_tokens"] = usage["prompt_tokens"] + 1
    head = {"id": "fake", "created": 0, "model": body["model"], "usage": usage}
    chosen = max(top, key=lambda t: t[1]) if top else (reply.answer, -0.1)
    if chat:
        logprobs = {
            "content": [
                {
                    "token": chosen[0],
                    "logprob": chosen[1],
                    "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in top],
                }
            ]
        }
        message = {"role": "assistant", "content": _answer(reply, prompt)}
        choice = {"index": 0, "message": message, "finish_reason": _finish(body)}
        choice["logprobs"] = logprobs if reply.logprobs else None
        return {**head, "object": "chat.completion", "choices": [choice]}
    completion_logprobs = {
        "tokens": [chosen[0]],
        "token_logprobs": [chosen[1]],
        "text_offset": [0],
        "top_logprobs": [dict(top)],
    }
    choice = {"index": 0, "text": _answer(reply, prompt), "finish_reason": _finish(body)}
    choice["logprobs"] = completion_logprobs if reply.logprobs else None
    return {**head, "object": "text_completion", "choices": [choice]}


def _finish(body: dict[str, Any]) -> str:
    """One-token label reads stop at their length; generations at their end."""
    return "length" if body.get("max_tokens") == 1 else "stop"


def _answer(reply: Reply, prompt: str) -> str:
    return reply.answer_for(prompt) if reply.answer_for is not None else reply.answer


def _handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, payload, headers = server.respond(
                self.path, body, {k.lower(): v for k, v in self.headers.items()}
            )
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def fake_judge_job(data: str, out: str, server_url: str, **judge: Any) -> dict[str, Any]:
    """A one-question checklist job whose judge is the fake server (openai backend)."""
    return {
        "name": "fake-judge",
        "input": {"path": data, "id_column": "id"},
        "output": {"path": out},
        "judge": {
            "backend": "openai",
            "model": "fake",
            "base_url": server_url,
            "tokenizer": "server",
            "chat_template": "never",
            **judge,
        },
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "q",
                    "target_column": "response",
                    "primary_metric": "normalized",
                    "checklist": [{"question": "Is it good?"}],
                }
            ]
        },
    }
