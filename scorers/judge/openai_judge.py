"""A log-prob judge behind an OpenAI-compatible HTTP endpoint (a vLLM server, or any other).

Same protocol and same numbers as VllmJudge: one user chat message (or the raw prompt on
/v1/completions with chat_template="never"), max_tokens=1, temperature 0, and the label
probabilities read from the first token's log-probs. How they are read (logprob_mode):

- "token_ids": vLLM's `logprob_token_ids` request field, the exact log-prob of every label
  token whatever its rank. The ids come from the model's tokenizer, loaded locally
  (`tokenizer`, default the model name; "server" skips it) or else from the server's
  /tokenize and /detokenize.
- "top_k": `top_logprobs` entries whose text is a label's spelling (any endpoint).
- "auto": token ids when they can be found, top-k when the server has no tokenizer endpoints
  or ignores the vLLM fields.

One probe request up front finds which of these the endpoint gives (EndpointPath): one that
returns no log-probs at all is asked for none, and its answers are read from text (no
confidence, the seed's fallback to binary yes/no). JSON answers (batch mode, reasoning,
use_logprobs: false) are generated under vLLM's regex grammar on a vLLM server, else asked
for with `response_format` (json_schema), else, when the provider refuses that, with the
schema in the prompt (openai_generation reads them back). Each prompt is one request with its
own retries, so a bad prompt fails alone. The API key is read from the environment variable
`api_key_env` and never appears in a repr, log, reason or result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Literal, TypeVar

import openai

from scorers.judge.api_key import read_api_key
from scorers.judge.endpoint_path import EndpointPath
from scorers.judge.generation import Generated, GenerationRequest, value_prefix_token_ids
from scorers.judge.http_retry import RequestFailed, RetryPolicy, call_with_retries
from scorers.judge.json_answer import refuses_response_format, with_schema
from scorers.judge.labels import YES_NO, LabelSet, label_token_ids
from scorers.judge.openai_generation import read_generation
from scorers.judge.openai_reading import (
    FirstToken,
    first_token,
    has_token_ids,
    read_text,
    read_token_ids,
    read_top_k,
)
from scorers.judge.result import JudgeResult
from scorers.judge.server_label_tokens import server_label_token_ids

log = logging.getLogger(__name__)

LogprobMode = Literal["auto", "token_ids", "top_k"]
Answer = TypeVar("Answer", JudgeResult, Generated)
SERVER_TOKENIZER = "server"
PROBE_PROMPT = "Is the sky blue on a clear day? Answer with Yes or No."
PROBE_RETRY = RetryPolicy(max_retries=2, backoff_base_s=0.5, backoff_max_s=2.0)


class OpenAIJudge:
    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str | None = None,
        max_concurrency: int = 8,
        max_retries: int = 5,
        timeout_s: float = 60.0,
        chat_template: Literal["auto", "never"] = "auto",
        tokenizer: str | None = None,
        logprob_mode: LogprobMode = "auto",
        top_logprobs: int = 20,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        chat_template_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.logprob_mode = logprob_mode
        self.top_logprobs = top_logprobs
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.retry = RetryPolicy(max_retries, backoff_base_s, backoff_max_s)
        key = read_api_key(api_key_env)
        self._redact = _Redactor(key if api_key_env else "")
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout_s, max_retries=0
        )
        self.tokenizer: Any = None
        if logprob_mode != "top_k" and tokenizer != SERVER_TOKENIZER:
            self.tokenizer = _load_tokenizer(tokenizer or model, required=tokenizer is not None)
        self.use_chat_template = chat_template == "auto" and (
            self.tokenizer is None or bool(getattr(self.tokenizer, "chat_template", None))
        )
        self._label_ids: dict[LabelSet, tuple[tuple[int, ...], ...] | None] = {}
        self._value_ids: dict[tuple[str, ...], tuple[tuple[int, ...], ...] | None] = {}
        self._path: EndpointPath | None = None
        self._path_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"OpenAIJudge(model={self.model!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.api_key_env!r}, logprob_mode={self.logprob_mode!r})"
        )

    def close(self) -> None:
        """Close the HTTP client's connections. Also done on `with` exit and, as a fallback for
        judge actors that Ray tears down without a call, when the judge is garbage-collected."""
        self._client.close()

    def __enter__(self) -> OpenAIJudge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        client = getattr(self, "_client", None)  # absent when __init__ raised before it
        if client is None:
            return
        with contextlib.suppress(Exception):  # a finaliser never raises (interpreter shutdown)
            client.close()

    def label_ids(self, label_set: LabelSet) -> tuple[tuple[int, ...], ...] | None:
        """Token ids per label for `logprob_token_ids`; None when reading the top-k."""
        if label_set not in self._label_ids:
            self._label_ids[label_set] = self._find_label_ids(label_set)
        return self._label_ids[label_set]

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        if not prompts:
            return []
        path = self.path()
        ids = self.label_ids(label_set) if path.logprobs in ("token_ids", "unknown") else None
        logprobs = path.logprobs != "none"
        return self._each(prompts, lambda p: self._judge_one(p, label_set, ids, logprobs))

    def generate(
        self, requests: Sequence[GenerationRequest], values: tuple[str, ...]
    ) -> list[Generated]:
        """JSON answers, one per request in order, read as the engine's (GeneratingJudge)."""
        if not requests:
            return []
        self.path()
        ids = self.value_ids(values)
        return self._each(requests, lambda r: self._generate_one(r, values, ids))

    def _each(self, items: Sequence[Any], one: Any) -> list[Any]:
        workers = min(self.max_concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-judge") as pool:
            return list(pool.map(one, items))

    def path(self) -> EndpointPath:
        """How this endpoint is read, from one probe request the first time it is asked."""
        with self._path_lock:
            if self._path is None:
                self._path = self._probe()
                log.info("judge endpoint %s: %s", self.base_url, self._path.describe())
            return self._path

    def _probe(self) -> EndpointPath:
        path = self._probe_once()
        if self.logprob_mode == "token_ids" and path.logprobs in ("top_k", "none"):
            raise ValueError(
                f"judge endpoint {self.base_url} does not honour logprob_token_ids (it reads "
                f"as {path.logprobs!r}); use logprob_mode 'auto' or 'top_k'"
            )
        return path

    def _probe_once(self) -> EndpointPath:
        """Ask once with vLLM's token-id fields (when the label ids are known), then with
        plain log-probs, then with none, as long as the endpoint refuses a parameter."""
        ids = self.label_ids(YES_NO)
        tries = [(True, ids), (True, None), (False, None)]
        for logprobs, asked_ids in tries if ids is not None else tries[1:]:
            try:
                response = call_with_retries(
                    functools.partial(
                        self._create, PROBE_PROMPT, 1, logprobs, _id_fields(asked_ids)
                    ),
                    PROBE_RETRY,
                    self.timeout_s,
                )
            except RequestFailed as exc:
                if logprobs and exc.status == 400:
                    continue  # a parameter refused: ask with less
                return EndpointPath("unknown", "json_schema", self._redact(exc.reason))
            except Exception as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}")
                return EndpointPath("unknown", "json_schema", reason)
            step = first_token(response, self.use_chat_template)
            if step.logprobs is None:
                return EndpointPath("none", "json_schema")
            if asked_ids is not None and has_token_ids(step.logprobs):
                return EndpointPath("token_ids", "regex")
            return EndpointPath("top_k", "json_schema")
        return EndpointPath("none", "json_schema")

    def _schema_refused(self, reason: str) -> None:
        with self._path_lock:
            assert self._path is not None
            if self._path.structured != "prompt":
                log.warning(
                    "judge endpoint %s refuses response_format (%s): the JSON schema goes in "
                    "the prompt and replies are parsed",
                    self.base_url,
                    reason,
                )
                self._path = dataclasses.replace(self._path, structured="prompt")

    def value_ids(self, values: tuple[str, ...]) -> tuple[tuple[int, ...], ...] | None:
        """Token ids starting each answer value, read by id on a vLLM server; None without a
        local tokenizer (the top-k tokens' text is read instead)."""
        if values not in self._value_ids:
            tok = self.tokenizer
            use_ids = tok is not None and self.path().logprobs == "token_ids"
            self._value_ids[values] = (
                value_prefix_token_ids(tok.get_vocab(), self._decode, values) if use_ids else None
            )
        return self._value_ids[values]

    def _decode(self, token_id: int) -> str:
        return str(self.tokenizer.decode([token_id], skip_special_tokens=True))

    def _generate_one(
        self,
        request: GenerationRequest,
        values: tuple[str, ...],
        ids: tuple[tuple[int, ...], ...] | None,
    ) -> Generated:
        return self._answer(
            lambda: self._generation_call(request, ids),
            lambda response: read_generation(
                response, self.use_chat_template, values, ids, self._decode
            ),
            Generated.failed,
        )

    def _judge_one(
        self,
        prompt: str,
        label_set: LabelSet,
        ids: tuple[tuple[int, ...], ...] | None,
        logprobs: bool,
    ) -> JudgeResult:
        return self._answer(
            lambda: self._create(prompt, 1, logprobs, _id_fields(ids if logprobs else None)),
            lambda response: self._read(
                first_token(response, self.use_chat_template), label_set, ids
            ),
            JudgeResult.failed,
        )

    def _answer(
        self,
        call: Callable[[], Any],
        read: Callable[[Any], Answer],
        failed: Callable[[str], Answer],
    ) -> Answer:
        """One request with its retries, read; a failure or a malformed response fails this
        request only, and no reason carries the API key."""
        try:
            result = read(call_with_retries(call, self.retry, self.timeout_s))
        except RequestFailed as exc:
            result = failed(exc.reason)
        except Exception as exc:
            result = failed(f"unreadable response: {type(exc).__name__}: {exc}")
        if result.error is not None:
            result = dataclasses.replace(result, error=self._redact(result.error))
        return result

    def _generation_call(
        self, request: GenerationRequest, ids: tuple[tuple[int, ...], ...] | None
    ) -> Any:
        path = self.path()
        logprobs = path.logprobs != "none"
        if path.structured == "regex":
            extra = {"structured_outputs": {"regex": request.regex}}
            extra.update((logprobs and _id_fields(ids)) or {})
            return self._create(request.prompt, request.max_tokens, logprobs, extra)
        if request.schema is None:
            raise RequestFailed("this request has no JSON schema to send a non-vLLM endpoint")
        if path.structured == "json_schema":
            response_format = _response_format(request.schema)
            try:
                return self._create(
                    request.prompt, request.max_tokens, logprobs, None, response_format
                )
            except openai.APIStatusError as exc:
                if not refuses_response_format(exc.status_code, exc.message):
                    raise
                self._schema_refused(self._redact(exc.message))
        prompt = with_schema(request.prompt, request.schema)
        return self._create(prompt, request.max_tokens, logprobs, None)

    def _read(
        self, step: FirstToken, label_set: LabelSet, ids: tuple[tuple[int, ...], ...] | None
    ) -> JudgeResult:
        if step.logprobs is None:
            return read_text(step, label_set)
        if ids is None:
            return read_top_k(step, label_set)
        if has_token_ids(step.logprobs):
            return read_token_ids(step, ids)
        if self.logprob_mode == "token_ids":
            return JudgeResult.failed(
                "endpoint ignored logprob_token_ids (not a vLLM server?); use logprob_mode='top_k'",
                step.prompt_tokens,
            )
        return read_top_k(step, label_set)

    def _create(
        self,
        prompt: str,
        max_tokens: int,
        logprobs: bool,
        extra: dict[str, Any] | None,
        response_format: dict[str, Any] | None = None,
    ) -> Any:
        """One greedy request: a user chat message, or the raw prompt on /v1/completions."""
        common: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": 0.0,
        }
        if self.use_chat_template:
            if logprobs:
                common.update(logprobs=True, top_logprobs=self.top_logprobs)
            if response_format is not None:
                common["response_format"] = response_format
            if self.chat_template_kwargs:  # vLLM's server renders its template with them
                extra = {**(extra or {}), "chat_template_kwargs": self.chat_template_kwargs}
            return self._client.chat.completions.create(
                messages=[{"role": "user", "content": prompt}], extra_body=extra, **common
            )
        if logprobs:
            common["logprobs"] = self.top_logprobs
        if response_format is not None:
            extra = {**(extra or {}), "response_format": response_format}
        return self._client.completions.create(prompt=prompt, extra_body=extra, **common)

    def _find_label_ids(self, label_set: LabelSet) -> tuple[tuple[int, ...], ...] | None:
        if self.logprob_mode == "top_k":
            return None
        if self.tokenizer is not None:
            tok = self.tokenizer
            return label_token_ids(tok.get_vocab(), lambda i: tok.decode([i]), label_set)
        try:
            return server_label_token_ids(self._post_at_root, self.model, label_set)
        except RequestFailed as exc:
            reason = self._redact(exc.reason)
        except (KeyError, TypeError, AttributeError) as exc:
            reason = f"unexpected /tokenize or /detokenize response ({type(exc).__name__})"
        if self.logprob_mode == "token_ids":
            raise ValueError(f"server cannot tokenize the labels: {reason}")
        log.warning("server cannot tokenize the labels (%s); reading the top-k", reason)
        return None

    def _post_at_root(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the server root (vLLM's /tokenize is not under /v1)."""
        root = self.base_url.removesuffix("/v1")
        return call_with_retries(
            lambda: self._client.post(root + path, cast_to=object, body=body),
            self.retry,
            self.timeout_s,
        )


def _id_fields(ids: tuple[tuple[int, ...], ...] | None) -> dict[str, Any] | None:
    """vLLM's request fields for the exact log-prob of each of these token ids."""
    if ids is None:
        return None
    return {
        "logprob_token_ids": [t for label in ids for t in label],
        "return_tokens_as_token_ids": True,
    }


def _response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    name = str(schema.get("title", "answer"))
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


class _Redactor:
    """Replaces the API key in text; its repr never shows the key."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __call__(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def __repr__(self) -> str:
        return "_Redactor(***)"


def _load_tokenizer(name: str, required: bool) -> Any:
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name)
    except Exception as exc:
        if required:
            raise ValueError(f"cannot load tokenizer {name!r}: {exc}") from None
        log.info("no local tokenizer for %r (%s); asking the server", name, exc)
        return None
