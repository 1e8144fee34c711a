"""A spec for the online-scoring tests: three judged kinds (a corpus checklist, a per-row
checklist read from a list column, a likert rating asked of a second judge) and one
cross-sample scorer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from conftest import NO_LABEL_FLOOR
from test_job_e2e import CORPUS_SCORER, ENGINE

SCORERS: list[dict[str, Any]] = [
    CORPUS_SCORER,  # the checklist "quality", with its metrics (the batch job's only)
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
        **NO_LABEL_FLOOR,
    }
    return {
        "name": "serve-test",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(out)},
        "judge": judge,
        "judges": {"rater": judge},
        "definition": {"scorers": copy.deepcopy(SCORERS)},
    }
