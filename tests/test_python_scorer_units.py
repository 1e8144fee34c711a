"""The per-sample Python scorer (`type: python`) without Ray: spec loading, the return
formats, def and async def, and one bad sample becoming that row's error."""

import json

import pyarrow as pa
import pytest

from pipeline.plan import plan_of
from pipeline.spec_loader import SpecError, load_spec
from pipeline.stages.per_row import score_rows
from scorers.python_scorer.scorer import PythonScorer
from scorers.python_scorer.spec import PythonScorerSpec
from scorers.registry import row_scorer

SNIPPET = """import re


def compute_score(sample):
    expected = sample["<< config.reference >>"]
    answer = sample["response"] or ""
    return {"exact": answer.strip() == expected, "words": len(answer.split())}
"""

SPEC = """
name: per-sample
input: {path: data.parquet, id_column: id}
output: {path: out}
config: {reference: reference}
definition:
  scorers:
    - type: python
      key: match
      display_name: Exact match
      purpose: qa
      compute_score_snippet: !include "match.py"
      metrics:
        - {type: mean, field: exact, name: "Exact match rate"}
"""

SAMPLES = pa.table({"response": ["Paris", " Lyon ", None], "reference": ["Paris", "Paris", "x"]})


def scorer(snippet: str) -> PythonScorer:
    return PythonScorer(PythonScorerSpec(type="python", key="p", compute_score_snippet=snippet))


def write_job(tmp_path, spec: str = SPEC, snippet: str = SNIPPET):
    (tmp_path / "match.py").write_text(snippet)
    (tmp_path / "job.yaml").write_text(spec)
    return tmp_path / "job.yaml"


def test_the_spec_loads_with_include_and_the_jobs_config(tmp_path):
    spec = load_spec(write_job(tmp_path))
    python = spec.definition.scorers[0]
    assert python.type == "python" and python.name == "Exact match" and python.purpose == "qa"
    assert python.config == {"reference": "reference"}
    plan = plan_of(spec)
    assert plan.per_row == (python,) and plan.cross_sample == ()
    scored = row_scorer(python).score_batch(SAMPLES)
    assert scored.scores.to_pylist() == [
        {"exact": True, "words": 1, "unscored_reason": None},
        {"exact": False, "words": 1, "unscored_reason": None},
        {"exact": False, "words": 0, "unscored_reason": None},
    ]
    assert scored.errors == [None, None, None]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("config: {reference: reference}", "config: {refrence: reference}"),
         r"definition\.scorers\.0.*config has no key 'reference'; config keys: refrence"),
        (("compute_score_snippet", "compute_scores_snippet"), r"compute_score_snippet"),
    ],
)  # fmt: skip
def test_spec_errors_name_the_field(tmp_path, change, message):
    with pytest.raises(SpecError, match=message) as raised:
        load_spec(write_job(tmp_path, SPEC.replace(*change)))
    assert "job.yaml" in str(raised.value)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("def score(sample):\n    return {}\n", "must define a function compute_score"),
        ("def compute_score(sample):\n    return {\n\n  x = \n", "syntax error at line 2"),
    ],
)
def test_bad_snippets_fail_at_load(tmp_path, snippet, message):
    with pytest.raises(SpecError, match=message) as raised:
        load_spec(write_job(tmp_path, snippet=snippet))
    assert "<match.compute_score_snippet>" in str(raised.value)


def test_flat_scores_and_scores_with_metadata_mix_in_one_batch():
    scored = scorer(
        "def compute_score(sample):\n"
        "    if sample['response'] == 'Paris':\n"
        "        return {'scores': {'ok': True}, 'metadata': {'why': ['capital']}}\n"
        "    return {'ok': False, 'length': len(sample['response'] or '')}\n"
    ).score_batch(SAMPLES)
    rows = scored.scores.to_pylist()
    assert [r["ok"] for r in rows] == [True, False, False]
    assert [r["length"] for r in rows] == [None, 6, 0]
    assert json.loads(rows[0]["metadata"]) == {"why": ["capital"]} and rows[1]["metadata"] is None


def test_async_def_is_awaited_for_every_sample():
    scored = scorer(
        "import asyncio\n"
        "async def compute_score(sample):\n"
        "    await asyncio.sleep(0)\n"
        "    return {'n': len(sample['reference'])}\n"
    ).score_batch(SAMPLES)
    assert [r["n"] for r in scored.scores.to_pylist()] == [5, 5, 1]


@pytest.mark.parametrize("prefix", ["", "async "])
def test_an_exception_in_one_sample_is_that_rows_error_with_its_line(prefix):
    scored = scorer(
        f"{prefix}def compute_score(sample):\n"
        "    text = sample['response']\n"
        "    return {'upper': text.upper()}\n"
    ).score_batch(SAMPLES)
    rows = scored.scores.to_pylist()
    assert [r["upper"] for r in rows] == ["PARIS", " LYON ", None]
    assert scored.errors[:2] == [None, None]
    assert (scored.errors[2] or "").startswith("compute_score failed at line 3: AttributeError")
    assert rows[2]["unscored_reason"] == scored.errors[2]


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("[1]", "compute_score's result is list, not a dict"),
        ("{'a': [1]}", "compute_score's result: score 'a' is list; scores are bool, int"),
        ("{'scores': {'a': 1}, 'extra': 2}", "has unexpected keys ['extra']"),
        ("{'a': 'x'}", "score 'a' is int in sample 0 of its batch but str in sample 2"),
    ],
)
def test_a_wrong_return_in_one_sample_is_that_rows_error(returned, message):
    scored = scorer(
        "def compute_score(sample):\n"
        f"    return {returned} if sample['reference'] == 'x' else {{'a': 1}}\n"
    ).score_batch(SAMPLES)
    assert scored.errors[:2] == [None, None]
    assert message in (scored.errors[2] or "")
    assert [r["a"] for r in scored.scores.to_pylist()] == [1, 1, None]


def test_a_batch_where_every_sample_fails_still_has_a_struct():
    scored = scorer("def compute_score(sample):\n    return 1 / 0\n").score_batch(SAMPLES)
    assert scored.scores.type == pa.struct([("unscored_reason", pa.string())])
    assert all("ZeroDivisionError" in (e or "") for e in scored.errors)


def test_score_rows_keeps_columns_and_prefixes_errors_with_the_key():
    batch = SAMPLES.append_column("id", pa.array(["a", "b", "c"]))
    python = scorer("def compute_score(sample):\n    return {'n': len(sample['response'])}\n")
    out = score_rows(batch, [python], {"p": ["response"]}, ["id"])
    assert out.column_names == ["id", "p", "error"]
    assert out["error"].to_pylist()[:2] == [None, None]
    assert out["error"][2].as_py().startswith("p: compute_score failed at line 2: TypeError")


def test_one_sample_whose_scores_cannot_be_stored_is_its_own_rows_error():
    snippet = """
def compute_score(sample):
    if sample["response"] == "Paris":
        loop = {}
        loop["self"] = loop
        return {"scores": {"n": 1}, "metadata": loop}
    if sample["response"] is None:
        return {"text": "\\ud800"}
    return {"n": 2, "text": "fine"}
"""
    scored = scorer(snippet).score_batch(SAMPLES)
    assert scored.errors[1] is None
    assert "Circular reference" in scored.errors[0]
    assert "not valid text" in scored.errors[2]
    assert scored.scores.to_pylist()[1]["n"] == 2


def test_an_input_column_named_error_is_data_to_a_per_row_scorer():
    batch = SAMPLES.append_column("error", pa.array(["x", None, "y"]))
    python = scorer("def compute_score(sample):\n    return {'saw': sample['error']}\n")
    out = score_rows(batch, [python], {"p": ["error"]}, [])
    assert out["error"].to_pylist() == [None, None, None]
    assert [row["saw"] for row in out["p"].to_pylist()] == ["x", None, "y"]
