"""The seed's two fallbacks through OpenAIJudge, against the FAKE local server (no engine):
endpoints without log-probs answer in text, endpoints without JSON schema enforcement get the
schema in the prompt."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fake_openai_server import FakeOpenAIServer, Reply

from scorers.checklist.checklist_input import SampleInput
from scorers.checklist.response_schemas import batch_schema
from scorers.checklist.spec import ChecklistItem
from scorers.checklist.structured import (
    ANSWER_VALUES,
    batch_request,
    item_answer_requests,
    read_answers,
)
from scorers.judge.json_answer import json_object_in
from scorers.judge.labels import YES_NO
from scorers.judge.openai_judge import PROBE_PROMPT, OpenAIJudge
from scorers.templates import prompt_template

FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "tokenizer": "server"}
SAMPLE = SampleInput(
    input_text="What is 2+2?",
    target="4.",
    items=(ChecklistItem(question="Is it right?"), ChecklistItem(question="Is it short?")),
)


def batch_answers(prompt: str, reasoning: bool = True) -> str:
    """What a hosted judge writes for a batch prompt: fenced JSON with prose around it."""
    count = len(re.findall(r"^Q\d+:", prompt, flags=re.MULTILINE))
    answers = [
        {"question_index": i, "answer": "Yes" if i % 2 else "no"}
        | ({"reasoning": f"because {i}"} if reasoning else {})
        for i in range(1, count + 1)
    ]
    return f"Sure.\n```json\n{json.dumps({'answers': answers})}\n```\nDone."


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


def make(server: FakeOpenAIServer, **kwargs: object) -> OpenAIJudge:
    return OpenAIJudge("fake-model", server.url, **{**FAST, **kwargs})  # type: ignore[arg-type]


def judge_bodies(server: FakeOpenAIServer) -> list[dict[str, object]]:
    """Chat requests other than the probe."""
    return [
        body
        for body in server.bodies("/v1/chat/completions")
        if body["messages"][0]["content"] != PROBE_PROMPT  # type: ignore[index]
    ]


def test_an_endpoint_without_logprobs_is_found_by_the_probe_and_asked_for_none(server):
    server.on(Reply(logprobs=False, answer_for=lambda p: "No." if "two" in p else "Yes"))
    judge = make(server)
    results = judge.judge(["one", "two"], YES_NO)
    assert judge.path().logprobs == "none"
    assert "answers read from text" in judge.path().describe()
    assert [r.answer_label for r in results] == ["yes", "no"]  # type: ignore[attr-defined]
    assert all(r.error is None and r.probs is None and r.without_logprobs for r in results)
    assert all(
        "logprobs" not in body and "top_logprobs" not in body for body in judge_bodies(server)
    )


def test_a_provider_refusing_the_logprobs_parameter_is_read_from_text(server):
    server.on(Reply(refuse_logprobs=True, answer="Yes"))
    judge = make(server)
    (result,) = judge.judge(["one"], YES_NO)
    assert judge.path().logprobs == "none"
    assert result.error is None and result.answer_label == "yes"  # type: ignore[attr-defined]


def test_batch_answers_by_json_schema_are_parsed_from_fenced_text(server):
    server.on(Reply(logprobs=False, answer_for=batch_answers))
    judge = make(server)
    request = batch_request(SAMPLE, prompt_template("batch"), reasoning=True, max_chars=50)
    (generated,) = judge.generate([request], ANSWER_VALUES)
    (body,) = judge_bodies(server)
    assert body["response_format"] == {  # type: ignore[comparison-overlap]
        "type": "json_schema",
        "json_schema": {
            "name": "BatchScoringResponseReasoned",
            "schema": batch_schema(reasoning=True),
            "strict": True,
        },
    }
    assert generated.without_logprobs and generated.error is None
    items = read_answers(generated, 2)
    assert [(i.answer, i.confidence, i.reasoning, i.error) for i in items] == [
        ("yes", None, "because 1", None),
        ("no", None, "because 2", None),
    ]


def test_a_refused_response_format_puts_the_schema_in_the_prompt(server):
    server.on(Reply(refuse_response_format=True, logprobs=False, answer_for=batch_answers))
    judge = make(server)
    requests = [batch_request(SAMPLE, prompt_template("batch"), reasoning=True, max_chars=50)] * 3
    results = judge.generate(requests, ANSWER_VALUES)
    assert judge.path().structured == "prompt"
    prompted = [b for b in judge_bodies(server) if "response_format" not in b]
    assert len(prompted) == 3
    for body in prompted:
        content = body["messages"][0]["content"]  # type: ignore[index]
        assert json.dumps(batch_schema(reasoning=True), separators=(",", ":")) in content
    assert all(read_answers(g, 2)[1].answer == "no" for g in results)


def test_an_unparseable_or_misshapen_reply_is_an_error_in_its_row(server):
    server.on(Reply(match="garbage", logprobs=False, answer="I think yes, mostly."))
    server.on(Reply(match="short", logprobs=False, answer='{"answers": [{"answer": "yes"}]}'))
    server.on(Reply(match="maybe", logprobs=False, answer='{"answer": "maybe"}'))
    judge = make(server)
    template = "{input} {target} {question}"
    samples = [
        SampleInput("garbage", "x", SAMPLE.items[:1]),
        SampleInput("maybe", "x", SAMPLE.items[:1]),
    ]
    requests = [r for s in samples for r in item_answer_requests(s, template)]
    garbage, maybe = judge.generate(requests, ANSWER_VALUES)
    assert "could not parse the judge's JSON answer" in read_answers(garbage, 1)[0].error
    assert "'maybe' is not yes or no" in read_answers(maybe, 1)[0].error
    (short,) = judge.generate(
        [batch_request(SampleInput("short", "x", SAMPLE.items), "{questions}", False, 10)],
        ANSWER_VALUES,
    )
    assert "expected 2 answer(s), got 1" in read_answers(short, 2)[0].error


def test_the_json_object_is_found_inside_fences_and_prose():
    assert json_object_in('Here:\n```json\n{"answer": "yes"}\n```') == '{"answer": "yes"}'
    assert json_object_in('{bad} then {"a": {"b": 1}} and {"c": 2}') == '{"a": {"b": 1}}'
    assert json_object_in("no json [1, 2]") is None
