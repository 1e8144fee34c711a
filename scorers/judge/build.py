"""A judge from its spec. Heavy imports (vllm, openai) happen here, where an engine starts."""

from __future__ import annotations

from scorers.judge.endpoint_path import EndpointPath
from scorers.judge.result import LogprobJudge
from scorers.judge.spec import JudgeSpec


def build_judge(spec: JudgeSpec) -> LogprobJudge:
    if spec.backend == "openai":
        from scorers.judge.openai_judge import OpenAIJudge

        assert spec.base_url is not None
        return OpenAIJudge(
            spec.model,
            spec.base_url,
            api_key_env=spec.api_key_env,
            max_concurrency=spec.max_concurrency,
            max_retries=spec.max_retries,
            timeout_s=spec.timeout_s,
            chat_template=spec.chat_template,
            tokenizer=spec.tokenizer,
        )
    from scorers.judge.vllm_judge import VllmJudge

    return VllmJudge(
        spec.model,
        spec.engine_kwargs,
        chat_template=spec.chat_template,
        prefix_padding=spec.prefix_padding,
    )


def endpoint_path(spec: JudgeSpec) -> EndpointPath | None:
    """How an openai-backend judge's endpoint will be read (one probe request); None for an
    in-process engine."""
    if spec.backend != "openai":
        return None
    from scorers.judge.openai_judge import OpenAIJudge

    judge = build_judge(spec)
    assert isinstance(judge, OpenAIJudge)
    with judge:
        return judge.path()
