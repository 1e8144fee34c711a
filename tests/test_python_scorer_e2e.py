"""The per-sample Python scorer through real Ray: alone (no judge) over several files and
blocks, and beside a judged checklist (the FAKE OpenAI server as its judge: no engine)."""

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_openai_server import FakeOpenAIServer, fake_judge_job

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = pytest.mark.ray

FILES, ROWS_PER_FILE = 4, 9
EXACT = """def compute_score(sample):
    if sample["id"] == "r05":
        raise ValueError("no score for r05")
    return {"exact": sample["response"] == sample["reference"]}
"""
# A number in file 0 is an int, in file 1 a float, in files 2 and 3 there is none: each
# batch types `value` by its own values, the run unifies them.
PARSED = """import asyncio
import json
import uuid

BATCHES = {}  # each batch's event loop -> a name for the batch


async def compute_score(sample):
    await asyncio.sleep(0)
    batch = BATCHES.setdefault(asyncio.get_running_loop(), uuid.uuid4().hex)
    try:
        value = json.loads(sample["response"])
    except ValueError as exc:
        return {"scores": {"valid_json": False}, "metadata": {"why": str(exc), "batch": batch}}
    number = value if isinstance(value, int | float) else None
    return {"scores": {"valid_json": True, "value": number}, "metadata": {"batch": batch}}
"""


def response(n: int) -> str:
    return [str(n), f"{n}.5", "not json", '"text"'][n // ROWS_PER_FILE]


def write_parts(folder: Path) -> list[str]:
    folder.mkdir()
    ids = []
    for part in range(FILES):
        numbers = range(part * ROWS_PER_FILE, (part + 1) * ROWS_PER_FILE)
        chunk = {
            "id": [f"r{n:02d}" for n in numbers],
            "response": [response(n) for n in numbers],
            "reference": [response(n) if n % 2 == 0 else "other" for n in numbers],
        }
        pq.write_table(pa.table(chunk), folder / f"part-{part}.parquet")
        ids.extend(chunk["id"])
    return ids


def test_python_scorers_alone_over_several_blocks(tmp_path, ray_cluster):
    ids = write_parts(tmp_path / "parts")
    raw = {
        "name": "per-sample",
        "input": {"path": str(tmp_path / "parts"), "id_column": "id"},
        "output": {"path": str(tmp_path / "run"), "shard_mib": 0.0005},  # a few rows a block
        "definition": {
            "scorers": [
                {
                    "type": "python",
                    "key": "match",
                    "compute_score_snippet": EXACT,
                    "columns": ["id", "response", "reference"],
                    "metrics": [{"type": "mean", "field": "exact", "name": "exact rate"}],
                },
                {
                    "type": "python",
                    "key": "parsed",
                    "compute_score_snippet": PARSED,
                    "metrics": [{"type": "mean", "field": "valid_json", "name": "json rate"}],
                },
            ]
        },
    }
    result = run_job(parse_spec(raw))

    out = pl.read_parquet(f"{result.run_dir}/scores/*.parquet").sort("id")
    assert out["id"].to_list() == ids  # every input row, once
    match = out["match"].struct.unnest()
    expected = [n % 2 == 0 for n in range(len(ids))]
    expected[5] = None
    assert match["exact"].to_list() == expected
    assert out["error"].to_list() == [
        "match: compute_score failed at line 3: ValueError: no score for r05" if n == 5 else None
        for n in range(len(ids))
    ]
    parsed = out["parsed"].struct.unnest()
    assert parsed["valid_json"].to_list() == [response(n) != "not json" for n in range(len(ids))]
    assert out.schema["parsed"].to_schema()["value"] == pl.Float64
    assert parsed["value"].to_list() == [
        float(response(n)) if n < 2 * ROWS_PER_FILE else None for n in range(len(ids))
    ]
    metadata = [json.loads(m) for m in parsed["metadata"]]
    assert metadata[2 * ROWS_PER_FILE]["why"].startswith("Expecting value")
    assert len({m["batch"] for m in metadata}) > 1  # scored in several batches, not one
    assert result.metrics["exact rate"]["value"] == pytest.approx(18 / 35)
    assert result.metrics["json rate"]["value"] == pytest.approx(0.75)
    assert result.manifest["rows"]["out"] == len(ids) and result.manifest["rows"]["errored"] == 1


def test_a_python_scorer_beside_a_judged_checklist(tmp_path, ray_cluster):
    data = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "response": ["fine", "short", None]}), data)
    with FakeOpenAIServer() as server:
        raw = fake_judge_job(str(data), str(tmp_path / "run"), server.url)
        raw["definition"]["scorers"].append(
            {
                "type": "python",
                "key": "length",
                "compute_score_snippet": (
                    "def compute_score(sample):\n    return {'chars': len(sample['response'])}\n"
                ),
                "columns": ["response"],
            }
        )
        result = run_job(parse_spec(raw))
    out = pl.read_parquet(f"{result.run_dir}/scores/*.parquet").sort("id")
    assert out["length"].struct.field("chars").to_list() == [4, 5, None]
    assert out["q"].struct.field("item_scores").to_list()[0][0]["answer"] == "no"
    assert out["error"][:2].to_list() == [None, None]
    assert out["error"][2].startswith("length: compute_score failed at line 2: TypeError")
    assert "q: 'response' is null" in out["error"][2]
