"""A spec for the online-scoring tests: three judged kinds (a corpus checklist, a per-row
checklist read from a list column, a likert rating asked of a second judge) and one
cross-sample scorer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "block_size": 32}

SCORERS: list[dict[str, Any]] = [
    {
        "type": "checklist",
        "key": "quality",
        "input_column": "prompt",
        "target_column": "response",
        "checklist": [
            {"question": "Does the response answer the question that was asked?", "weight": 100},
            {"question": "Is the response free of factual errors?", "weight": 60},
        ],
    },
    {
        "type": "checklist",
        "key": "rubric",
        "primary_metric": "weighted",
        "input_column": "prompt",
        "target_column": "response",
        "checklist_column": "checklist",
    },
    {
        "type": "likert",
        "key": "helpfulness",
        "question": "How helpful is the response?",
        "scale": 5,
        "judge": "rater",
        "input_column": "prompt",
        "target_column": "response",
    },
    {"type": "uniqueness", "key": "same_model", "column": "model"},
]
SERVED_KEYS = ["quality", "rubric", "helpfulness"]


def serve_spec(model: Path, data: Path, out: Path, batch_size: int = 16) -> dict[str, Any]:
    judge = {
        "model": str(model),
        "engine_kwargs": ENGINE,
        "batch_size": batch_size,
        "num_cpus": 0.5,  # both judges' engines beside Ray Data's tasks on 2 CPUs
    }
    return {
        "name": "serve-test",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(out)},
        "judge": judge,
        "judges": {"rater": judge},
        "definition": {"scorers": copy.deepcopy(SCORERS)},
    }
