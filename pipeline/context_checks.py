"""The judges' context, checked before Ray or any engine starts.

- engine_kwargs.max_model_len over the model's own maximum (its config.json) is refused,
  naming the judge's key and the value that fits.
- A GPU judge without max_model_len gets the model's own (131,072 for Llama-3.1-8B), whose KV
  cache one L4 or A10 does not hold: a warning, since a larger GPU may.
- `truncate` counts tokens with the judge's tokenizer: a judge without one here is refused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pipeline.plan import Plan
from scorers.judge.model_context import model_context
from scorers.judge.spec import JudgeSpec
from scorers.judge.vllm_spec import VllmJudgeSpec

log = logging.getLogger(__name__)

LONG_CONTEXT = 32_768  # an unset max_model_len above this on a GPU judge gets a warning
SUGGESTED_MAX_MODEL_LEN = 8192
ALLOW_LONG = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"  # vLLM's own switch to go past the model's maximum


def check_judge_context(where: str, judge: JudgeSpec) -> None:
    """Refuse a max_model_len the model does not have; warn of an unset one on a GPU.
    `where` is the judge's key in the spec ("judge", "judges.large")."""
    if not isinstance(judge, VllmJudgeSpec) or not Path(judge.model).is_dir():
        return  # a hub id's config is not here to read; the engine checks it on start
    own = model_context(Path(judge.model))
    if own is None:
        return
    asked = judge.engine_kwargs.get("max_model_len")
    if asked is None:
        if judge.gpus_per_actor > 0 and own.tokens > LONG_CONTEXT:
            log.warning(
                "rayscore: warning: %s.engine_kwargs.max_model_len is unset, so the engine "
                "takes the model's own %d tokens (%s); a KV cache that long does not fit one "
                "L4 or A10 beside a 7-8B model, and the engine would not start there: set it "
                "(e.g. %d)",
                where,
                own.tokens,
                own.source,
                SUGGESTED_MAX_MODEL_LEN,
            )
        return
    if isinstance(asked, int) and asked > own.tokens and not os.environ.get(ALLOW_LONG):
        raise ValueError(
            f"{where}.engine_kwargs.max_model_len: {asked} is more than the model's own "
            f"maximum, {own.tokens} ({own.source}): set {own.tokens} or less"
        )


def check_truncating_judges(plan: Plan) -> None:
    """A scorer's `truncate` needs its judge's tokenizer in the judge actor."""
    for name, scorers in plan.judge_groups.items():
        judge = plan.judges[name]
        cutting = [s.key for s in scorers if s.truncate is not None]
        if cutting and not isinstance(judge, VllmJudgeSpec):
            raise ValueError(
                f"scorer {cutting[0]!r}: truncate counts tokens with the judge's own "
                f"tokenizer, and judge {name!r} (backend {judge.backend}) has none in the "
                "job: use a vllm judge, or shorten the texts before the job"
            )
