"""Hand-made finished run directories for fast tests of what reads runs (pipeline.results,
`rayscore diff`): scores/ Parquet with one checklist scorer, the other tables open_run scans,
and manifest.json last, the way a run is finished."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.score_records import RECORD_SCHEMA
from scorers.checklist.fields import SCORE_TYPE

SCORER = "quality"


def item(index: int, question: str, answer: str | None, confidence: float | None) -> dict[str, Any]:
    return {
        "index": index,
        "question": question,
        "weight": 1.0,
        "answer": answer,
        "confidence": confidence,
        "confidence_level": None if answer is None else ("yes_90" if answer == "yes" else "no_10"),
    }


def write_finished_run(
    folder: Path,
    samples: dict[str, Sequence[dict[str, Any]]],
    *,
    name: str = "nightly",
    run_id: str = "run-1",
    started_at: str = "2026-12-01T02:00:00+00:00",
    agreement: Sequence[dict[str, Any]] | None = None,
    other_scorers: dict[str, tuple[str, list[dict[str, Any]]]] | None = None,
) -> str:
    """A finished run of one checklist scorer: `samples` maps an id to its items; its primary
    score is the share of "yes". `other_scorers`: key -> (type, one struct per sample)."""

    def struct(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        answered = [i["answer"] for i in items if i["answer"] is not None]
        share = sum(a == "yes" for a in answered) / len(answered) if answered else None
        return {"primary_score": share, "pass_rate": share, "item_scores": list(items)}

    scores = pa.table(
        {
            "id": list(samples),
            SCORER: pa.array([struct(i) for i in samples.values()], type=SCORE_TYPE),
            **{key: pa.array(structs) for key, (_, structs) in (other_scorers or {}).items()},
        }
    )
    for table in ("scores", "scores_long"):
        (folder / table).mkdir(parents=True)
    pq.write_table(scores, folder / "scores" / "part-00000.parquet")
    pq.write_table(RECORD_SCHEMA.empty_table(), folder / "scores_long" / "part-00000.parquet")
    pq.write_table(pa.table({"metric": pa.array([], pa.string())}), folder / "metrics.parquet")
    if agreement is not None:
        pq.write_table(pa.Table.from_pylist(list(agreement)), folder / "agreement.parquet")
    manifest = {
        "run_id": run_id,
        "name": name,
        "started_at": started_at,
        "spec": {"input": {"id_column": "id"}},
        "scorers": [
            {"key": key, "type": kind, "name": key, "purpose": "eval"}
            for key, kind in {
                SCORER: "checklist",
                **{key: kind for key, (kind, _) in (other_scorers or {}).items()},
            }.items()
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    write_item_configs(folder, [SCORER])
    return str(folder)


def write_item_configs(folder: Path, checklists: Sequence[str]) -> None:
    """score_configs.json with the item config of each checklist scorer (the labels a reviewer
    may give)."""
    configs = {
        f"{key}.item": {"scorer_key": key, "field": "item_scores", "data_type": "BOOLEAN"}
        for key in checklists
    }
    (folder / "score_configs.json").write_text(json.dumps(configs))
