"""OpenAIJudge against a real vLLM OpenAI-compatible server: the in-process engine's numbers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from judge_prompts import PROMPTS

from bench.ports import free_port
from scorers.checklist.checklist_input import SampleInput
from scorers.checklist.spec import ChecklistItem
from scorers.checklist.structured import (
    ANSWER_VALUES,
    batch_request,
    item_answer_requests,
    read_answers,
)
from scorers.judge.labels import YES_NO
from scorers.judge.openai_judge import OpenAIJudge
from scorers.templates import prompt_template

pytestmark = pytest.mark.engine

STARTUP_TIMEOUT_S = 180
STOP_GRACE_S = 20


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vLLM server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(
        f"vLLM server not healthy after {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}"
    )


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's own process group (its engine core too), SIGKILL what is left after
    a grace period. start_new_session made the server the leader of that group."""
    pgid = proc.pid
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, so the group empties once the others exit
        if not signal_group(pgid, 0):
            break
        time.sleep(0.2)
    signal_group(pgid, signal.SIGKILL)
    proc.wait()


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def vllm_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cmd = [
        *(sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model)),
        *("--host", "127.0.0.1", "--port", str(port), "--dtype", "float32"),
        *("--max-model-len", "1024", "--enforce-eager"),
    ]
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "HF_HUB_OFFLINE": "1",
    }
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log_path)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_group(proc)


def test_server_confidences_equal_the_in_process_engine(vllm_server, tiny_model, vllm_judge):
    judge = OpenAIJudge(str(tiny_model), vllm_server, max_concurrency=2)
    try:
        remote = judge.judge(PROMPTS, YES_NO)
    finally:
        judge.close()
    local = vllm_judge.judge(PROMPTS, YES_NO)
    assert judge.label_ids(YES_NO) == vllm_judge.label_ids(YES_NO)
    assert all(r.error is None for r in remote), [r.error for r in remote]
    assert [r.probs[0] for r in remote] == pytest.approx([r.probs[0] for r in local], abs=1e-4)
    assert [r.prompt_tokens for r in remote] == [r.prompt_tokens for r in local]


def test_an_over_long_prompt_fails_alone_with_the_server_reason(vllm_server, tiny_model):
    judge = OpenAIJudge(str(tiny_model), vllm_server, max_retries=1)
    results = judge.judge([PROMPTS[0], "word " * 3000], YES_NO)
    judge.close()
    assert results[0].probs is not None
    assert results[1].probs is None and results[1].error.startswith("HTTP 400")
    assert "maximum context length is 1024" in results[1].error


def test_server_json_answers_equal_the_in_process_engine(vllm_server, tiny_model, vllm_judge):
    """Batch mode (with and without reasoning) and item mode without log-probs through the
    server's structured outputs: the same text and answer confidences as the engine."""
    sample = SampleInput(
        "What is the capital of France?",
        "The capital of France is Paris.",
        (ChecklistItem(question="Is it right?"), ChecklistItem(question="Is it short?")),
    )
    requests = [
        batch_request(sample, prompt_template("batch"), reasoning=False, max_chars=20),
        batch_request(sample, prompt_template("batch"), reasoning=True, max_chars=20),
        *item_answer_requests(sample, prompt_template("item")),
    ]
    judge = OpenAIJudge(str(tiny_model), vllm_server, max_concurrency=2)
    try:
        remote = judge.generate(requests, ANSWER_VALUES)
        assert judge.path().structured == "regex"
    finally:
        judge.close()
    local = vllm_judge.generate(requests, ANSWER_VALUES)
    assert all(g.error is None for g in remote), [g.error for g in remote]
    assert [g.text for g in remote] == [g.text for g in local]
    for got, want, n in zip(remote, local, (2, 2, 1, 1), strict=True):
        got_items, want_items = read_answers(got, n), read_answers(want, n)
        assert [i.answer for i in got_items] == [i.answer for i in want_items]
        assert [i.confidence for i in got_items] == pytest.approx(
            [i.confidence for i in want_items], abs=1e-4
        )
        assert all(i.confidence is not None for i in got_items)
