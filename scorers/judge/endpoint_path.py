"""Which way an OpenAI-compatible endpoint is read, found by one probe request up front.

- logprobs: "token_ids" (a vLLM server honouring `logprob_token_ids`: every label token's
  exact log-prob), "top_k" (`top_logprobs` entries matched by text), "none" (answers read from
  text: no confidence, normalized_score = pass_rate, the seed's fallback to binary yes/no),
  or "unknown" (the probe got no answer: each response is read as it comes).
- structured: how JSON answers (batch mode, reasoning, use_logprobs: false) are asked for:
  "regex" (vLLM's structured outputs, the same grammar as the in-process engine),
  "json_schema" (`response_format`), or "prompt" (the schema in the prompt, the reply
  parsed; taken when the endpoint refuses `response_format`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Logprobs = Literal["token_ids", "top_k", "none", "unknown"]
Structured = Literal["regex", "json_schema", "prompt"]


@dataclass(frozen=True)
class EndpointPath:
    logprobs: Logprobs
    structured: Structured
    probe_error: str | None = None

    def describe(self) -> str:
        reading = {
            "token_ids": "confidences from every label token's log-prob (vLLM token ids)",
            "top_k": "confidences from the top log-probs' label tokens",
            "none": (
                "no log-probs: answers read from text, confidence null, normalized_score = "
                "pass_rate"
            ),
            "unknown": f"probe failed ({self.probe_error}); each answer read as it comes",
        }[self.logprobs]
        structured = {
            "regex": "JSON answers under vLLM's regex grammar",
            "json_schema": "JSON answers by response_format json_schema",
            "prompt": "JSON answers by the schema in the prompt, parsed",
        }[self.structured]
        return f"{reading}; {structured}"
