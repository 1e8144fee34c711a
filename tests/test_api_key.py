"""The judge's API key, read in one place; OpenAIJudge closes its client however it ends."""

from __future__ import annotations

import gc

import pytest

from scorers.judge.api_key import NO_KEY, api_key_env_vars, read_api_key
from scorers.judge.openai_judge import OpenAIJudge

VAR = "RAYSCORE_TEST_JUDGE_KEY"


def test_the_key_is_read_from_the_named_variable(monkeypatch):
    monkeypatch.setenv(VAR, "s3cret")
    assert read_api_key(VAR) == "s3cret"
    assert api_key_env_vars(VAR) == {VAR: "s3cret"}


def test_no_variable_means_no_key():
    assert read_api_key(None) == NO_KEY == "EMPTY"
    assert api_key_env_vars(None) == {}


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_or_empty_variable_is_named(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, value)
    message = f"judge.api_key_env: environment variable {VAR} is not set"
    for read in (read_api_key, api_key_env_vars):
        with pytest.raises(ValueError) as err:
            read(VAR)
        assert str(err.value) == message


class CountingClient:
    def __init__(self, fail: bool = False) -> None:
        self.closed = 0
        self.fail = fail

    def close(self) -> None:
        self.closed += 1
        if self.fail:
            raise RuntimeError("already gone")


def judge_with(client: CountingClient) -> OpenAIJudge:
    judge = OpenAIJudge("m", "http://127.0.0.1:9/v1", logprob_mode="top_k")
    judge._client.close()
    judge._client = client  # type: ignore[assignment]
    return judge


def test_the_judge_is_a_context_manager_that_closes_its_client():
    client = CountingClient()
    with judge_with(client) as judge:
        assert isinstance(judge, OpenAIJudge) and client.closed == 0
    assert client.closed == 1


def test_a_collected_judge_closes_its_client_and_never_raises():
    client = CountingClient(fail=True)
    judge = judge_with(client)
    del judge
    gc.collect()
    assert client.closed == 1


def test_a_judge_that_failed_to_start_is_collected_quietly(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)
    with pytest.raises(ValueError, match=VAR):
        OpenAIJudge("m", "http://127.0.0.1:9/v1", api_key_env=VAR)
    gc.collect()  # __del__ on the half-built judge: no AttributeError is reported
