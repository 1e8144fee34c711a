"""OpenAIJudge against a fake OpenAI-compatible server on 127.0.0.1: reading, retries, secrets."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator

import pytest
from fake_openai_server import TOKEN_LOGPROBS, FakeOpenAIServer, Reply

from scorers.judge.http_retry import RetryPolicy, _retry_after_s
from scorers.judge.labels import YES_NO
from scorers.judge.openai_judge import OpenAIJudge
from scorers.judge.result import TextAnswerResult, parsed_answer

FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "tokenizer": "server"}
SECRET = "sk-test-do-not-leak-4f9a"


def p_yes(yes: list[float], no: list[float]) -> float:
    p, q = sum(math.exp(v) for v in yes), sum(math.exp(v) for v in no)
    return p / (p + q)


EXACT = p_yes(
    [TOKEN_LOGPROBS[i] for i in (10, 11, 12, 13)], [TOKEN_LOGPROBS[i] for i in (20, 21, 22)]
)
TOP_K = p_yes([-1.0, -2.0], [-0.7, -1.5, -3.0])  # " Yes", "Yes" vs " No", "No", "no"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


def make(server: FakeOpenAIServer, **kwargs: object) -> OpenAIJudge:
    return OpenAIJudge("fake-model", server.url, **{**FAST, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("chat_template", ["auto", "never"])
def test_label_token_ids_are_asked_for_and_every_spelling_summed(server, chat_template):
    judge = make(server, chat_template=chat_template)
    results = judge.judge(["Is it? one", "Is it? two"], YES_NO)
    assert judge.label_ids(YES_NO) == ((10, 11, 12, 13), (20, 21, 22))
    assert [r.probs[0] for r in results] == pytest.approx([EXACT, EXACT])
    assert all(r.error is None and r.prompt_tokens == 3 for r in results)
    path = "/v1/chat/completions" if chat_template == "auto" else "/v1/completions"
    body = server.bodies(path)[-1]  # the first is the judge's probe
    assert body["logprob_token_ids"] == [10, 11, 12, 13, 20, 21, 22]
    assert body["max_tokens"] == 1 and body["temperature"] == 0
    if chat_template == "never":
        assert body["prompt"] in ("Is it? one", "Is it? two")
    else:
        assert body["messages"][0]["role"] == "user"


@pytest.mark.parametrize("chat_template", ["auto", "never"])
def test_top_k_mode_sums_every_spelling_in_the_top_k(server, chat_template):
    results = make(server, logprob_mode="top_k", chat_template=chat_template).judge(["q"], YES_NO)
    assert results[0].probs[0] == pytest.approx(TOP_K)
    assert all("logprob_token_ids" not in body for _, body, _ in server.requests)


def test_auto_reads_the_top_k_when_the_server_cannot_tokenize(caplog):
    with FakeOpenAIServer(tokenizer_endpoints=False) as server:
        judge = make(server)
        assert judge.judge(["q"], YES_NO)[0].probs[0] == pytest.approx(TOP_K)
        assert judge.label_ids(YES_NO) is None
    assert "reading the top-k" in caplog.text


def test_auto_reads_the_top_k_when_the_server_ignores_token_ids(server):
    server.on(Reply(vllm_fields=False))
    assert make(server).judge(["q"], YES_NO)[0].probs[0] == pytest.approx(TOP_K)
    with pytest.raises(ValueError, match="does not honour logprob_token_ids"):
        make(server, logprob_mode="token_ids").judge(["q"], YES_NO)


def test_a_provider_refusing_the_vllm_fields_is_read_from_its_top_k(server):
    server.on(Reply(match="", status=400, times=1))  # the probe's ask with token ids
    judge = make(server)
    assert judge.judge(["q"], YES_NO)[0].probs[0] == pytest.approx(TOP_K)
    assert judge.path().logprobs == "top_k"
    asked = [b for b in server.bodies("/v1/chat/completions") if "Is the sky" not in str(b)]
    assert asked and all("logprob_token_ids" not in body for body in asked)


def test_the_sampled_tokens_logprob_alone_is_no_confidence(server):
    server.on(Reply(top=[], vllm_fields=False, answer="Yes"))
    (result,) = make(server).judge(["q"], YES_NO)
    assert result.probs is None and result.error is None
    assert result.answer_label == "yes"  # type: ignore[attr-defined]


def test_no_label_in_the_top_k_fails_with_a_reason(server):
    server.on(Reply(top=[("Maybe", -0.1), ("Perhaps", -2.0)]))
    result = make(server, logprob_mode="top_k").judge(["q"], YES_NO)[0]
    assert result.probs is None and "no label token among" in result.error


def test_retries_429_then_succeeds(server):
    reply = server.on(Reply(match="busy", status=429, times=2, retry_after="0"))
    results = make(server, max_retries=3).judge(["busy one", "calm"], YES_NO)
    assert [r.error for r in results] == [None, None]
    assert reply.seen == 3


def test_a_permanent_500_fails_its_prompt_alone(server):
    reply = server.on(Reply(match="broken", status=500))
    results = make(server, max_retries=2).judge(["fine", "broken", "fine too"], YES_NO)
    assert results[0].probs is not None and results[2].probs is not None
    assert results[1].probs is None
    assert "HTTP 500" in results[1].error and "gave up after 3 attempts" in results[1].error
    assert reply.seen == 3


def test_other_4xx_are_not_retried(server):
    reply = server.on(Reply(match="q", status=400))
    result = make(server, max_retries=5).judge(["q"], YES_NO)[0]
    assert result.error.startswith("HTTP 400") and reply.seen == 1


def test_a_request_past_the_timeout_fails_with_a_reason(server):
    server.on(Reply(match="slow", sleep_s=30))
    start = time.monotonic()
    results = make(server, timeout_s=2, max_retries=1).judge(["slow", "fast"], YES_NO)
    assert "timed out after 2 s" in results[0].error and "2 attempts" in results[0].error
    assert results[1].probs is not None
    assert time.monotonic() - start < 30  # gave up long before the reply (not a speed claim)


def test_a_connection_error_is_retried_then_reported():
    judge = OpenAIJudge(
        "m",
        "http://127.0.0.1:9/v1",
        max_retries=1,
        logprob_mode="top_k",
        **{k: v for k, v in FAST.items() if k != "tokenizer"},
    )
    result = judge.judge(["q"], YES_NO)[0]
    assert result.probs is None and "connection error" in result.error


def test_an_answer_without_logprobs_is_read_from_text(server):
    server.on(Reply(match="a", logprobs=False, answer="  Yes, it does."))
    server.on(Reply(match="b", logprobs=False, answer="I cannot tell"))
    answered, unparsed = make(server).judge(["a", "b"], YES_NO)
    assert isinstance(answered, TextAnswerResult)
    assert answered.probs is None and answered.answer_label == "yes"
    assert answered.error is None and answered.without_logprobs
    assert parsed_answer(answered) == "yes"
    assert parsed_answer(unparsed) is None and unparsed.probs is None
    assert "names no label" in unparsed.error


def test_concurrency_is_bounded(server):
    server.on(Reply(sleep_s=0.1))
    make(server, max_concurrency=2).judge([f"q{i}" for i in range(6)], YES_NO)
    assert server.max_in_flight == 2


def test_the_api_key_never_leaks(server, monkeypatch, caplog):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    server.on(Reply(match="500", status=500, echo_headers=True))
    server.on(Reply(match="401", status=401, echo_headers=True))
    judge = make(server, api_key_env="JUDGE_KEY", max_retries=1)
    results = judge.judge(["500", "401", "ok"], YES_NO)
    assert all(h.get("authorization") == f"Bearer {SECRET}" for _, _, h in server.requests)
    assert "HTTP 500" in results[0].error and "HTTP 401" in results[1].error
    assert "***" in results[0].error  # the echoed header, redacted
    for text in (*(repr(r) for r in results), repr(judge), str(vars(judge)), caplog.text):
        assert SECRET not in text


def test_a_missing_key_variable_is_named_without_a_value(monkeypatch):
    monkeypatch.delenv("NO_SUCH_JUDGE_KEY", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_JUDGE_KEY"):
        OpenAIJudge("m", "http://127.0.0.1:9/v1", api_key_env="NO_SUCH_JUDGE_KEY")


def test_backoff_is_bounded_and_honours_retry_after():
    policy = RetryPolicy(max_retries=10, backoff_base_s=0.5, backoff_max_s=4.0)
    assert all(0.25 <= policy.delay_s(0, None) <= 0.5 for _ in range(50))
    assert all(2.0 <= policy.delay_s(9, None) <= 4.0 for _ in range(50))
    assert policy.delay_s(0, 2.5) == 2.5 and policy.delay_s(0, 600.0) == 4.0
    assert _retry_after_s({"retry-after": "7"}) == 7.0
    assert _retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert _retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) < 0
    assert _retry_after_s({}) is None
