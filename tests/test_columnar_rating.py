"""The rating kinds read a batch as columns: the same structs and errors as the per-row
scorer they replaced (tests/row_by_row_scorers.py), on bad rows, text answers and failures."""

import pyarrow as pa
import pytest
from mixed_judge import MixedJudge
from row_by_row_scorers import RowByRowRating

from scorers.rating.scorer import RatingScorer
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec

BASE = {"key": "k", "input_column": "prompt", "target_column": "response"}
SPECS = [
    LikertSpec(type="likert", question="Helpful?", scale=7, anchors={1: "no {target}"}, **BASE),
    CategoricalSpec(type="categorical", question="Tone?", labels=["x", "y", "z"], **BASE),
    BooleanSpec(type="boolean", question="Safe?", **BASE),
    BooleanSpec(
        type="boolean",
        question="Safe?",
        custom_prompt="{target}{target} {question} {input} {\n} {-}",
        key="k",
        target_column="response",
    ),
]


def rows(n: int) -> pa.Table:
    return pa.table(
        {
            "prompt": [None if i % 5 == 0 else f"ask {{input}} {i}" for i in range(n)],
            "response": [None if i % 7 == 3 else f"reply é {i} {{question}}" for i in range(n)],
        }
    )


def both(spec, table):
    judge = MixedJudge()
    new, old = RatingScorer(spec), RowByRowRating(spec)
    new_prepared, old_prepared = new.prepare(table), old.prepare(table)
    assert new_prepared.prompts == old_prepared.prompts
    scored = new.finish(new_prepared, judge.judge(new_prepared.prompts, new.label_set))
    expected = old.finish(old_prepared, judge.judge(old_prepared.prompts, old.label_set))
    return scored, expected


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
@pytest.mark.parametrize(
    "table",
    [
        rows(200),
        rows(0),
        rows(30).slice(7, 20),
        pa.concat_tables([rows(9), rows(12)]),  # two chunks
        rows(40).cast(pa.schema([("prompt", pa.large_string()), ("response", pa.large_string())])),
        pa.table({"prompt": [1, None, 3], "response": ["a", "b", None]}),  # input not text
        pa.table({"prompt": ["a", "b"], "response": [1.5, None]}),  # target not text
    ],
    ids=["varied", "empty", "sliced", "chunked", "large_string", "int_input", "float_target"],
)
def test_rating_structs_match_the_row_by_row_scorer(spec, table):
    scored, expected = both(spec, table)
    assert scored.scores.type == expected.scores.type == spec.output_type()
    assert scored.scores.to_pylist() == expected.scores.to_pylist()
    assert scored.scores.equals(expected.scores)
    assert scored.errors == expected.errors


def test_every_answer_kind_occurs_in_the_varied_table():
    scored, _ = both(SPECS[0], rows(200))
    structs = scored.scores.to_pylist()
    assert any(s["distribution"] is None and s["score"] is not None for s in structs)  # text
    assert any(s["score"] is None and s["usage"]["judge_requests"] == 1 for s in structs)
    assert any(s["usage"]["judge_requests"] == 0 for s in structs)  # a bad row
