"""`backend: openai`: the judge actors call an OpenAI-compatible server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from scorers.judge.spec import JudgeSpec

if TYPE_CHECKING:
    from scorers.judge.openai_judge import OpenAIJudge


class OpenAIJudgeSpec(JudgeSpec):
    backend: Literal["openai"] = Field(description="openai: an OpenAI-compatible server.")
    base_url: str = Field(description="The server's base URL, e.g. http://host/v1.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the API key (never logged)."
    )
    tokenizer: str | None = Field(
        default=None,
        description=(
            "Tokenizer folder/id for the label token ids; 'server' asks the server's "
            "/tokenize. Without token ids only the top-20 log-probs can be read."
        ),
    )
    max_concurrency: int = Field(default=8, ge=1, description="Requests in flight per actor.")
    max_retries: int = Field(default=5, ge=0, description="Retries on 429, 5xx and timeouts.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per request.")

    @model_validator(mode="before")
    @classmethod
    def _needs_base_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("base_url"):
            raise ValueError("backend 'openai' needs base_url")
        return data

    def build(self) -> OpenAIJudge:
        from scorers.judge.openai_judge import OpenAIJudge

        return OpenAIJudge(
            self.model,
            self.base_url,
            api_key_env=self.api_key_env,
            max_concurrency=self.max_concurrency,
            max_retries=self.max_retries,
            timeout_s=self.timeout_s,
            chat_template=self.chat_template,
            tokenizer=self.tokenizer,
            chat_template_kwargs=self.chat_template_kwargs,
        )
