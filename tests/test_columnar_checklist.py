"""The checklist kind reads a batch as columns: the same requests, structs and errors as the
per-row scorer it replaced (tests/row_by_row_scorers.py), in every mode, on bad rows, per-row
checklists of every shape, failed and unparseable answers."""

import pyarrow as pa
import pytest
from mixed_judge import MixedGenerator
from row_by_row_scorers import RowByRowChecklist

from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec

CHECKLIST = [
    {"question": "Is it right?", "weight": 100},
    {"question": "Is it {target} short?", "weight": 0},
    {"question": "Kind?", "weight": 12.5},
]
MODES = {
    "logprobs": {},
    "text_answers": {"use_logprobs": False},
    "reasoned": {"capture_reasoning": True, "reasoning_max_chars": 40},
    "batch": {"mode": "batch"},
    "batch_reasoned": {"mode": "batch", "capture_reasoning": True},
    "batch_text": {"mode": "batch", "use_logprobs": False},
}
STRUCTS = pa.list_(pa.struct([("question", pa.string()), ("weight", pa.float64())]))
INT_WEIGHTS = pa.list_(pa.struct([("question", pa.large_string()), ("weight", pa.int32())]))


def spec(**fields) -> ChecklistScorerSpec:
    base = {
        "type": "checklist",
        "key": "c",
        "input_column": "prompt",
        "target_column": "response",
        "checklist": CHECKLIST,
    }
    return ChecklistScorerSpec(**{**base, **fields})


def texts(n: int) -> dict[str, list]:
    return {
        "prompt": [None if i % 5 == 0 else f"ask {{target}} {i}" for i in range(n)],
        "response": [None if i % 11 == 3 else f"reply é {i}" for i in range(n)],
    }


def struct_checklists(n: int) -> list:
    shapes = [
        [{"question": "A?", "weight": 10.0}, {"question": "B?", "weight": None}],
        [{"question": "Only?", "weight": 0.0}],  # all weights 0: bad when weighted
        None,
        [],
        [{"question": "  \u3000", "weight": 5.0}],  # blank as str.strip() sees it
        [{"question": "C?", "weight": float("nan")}],
        [{"question": "D?", "weight": 101.0}, {"question": "E?", "weight": 1.0}],
        [None, {"question": "F?", "weight": 3.0}],
        [{"question": None, "weight": 3.0}],
        [{"question": f"Q{k}?", "weight": float(k)} for k in range(1, 13)],
    ]
    return [shapes[i % len(shapes)] for i in range(n)]


def string_checklists(n: int) -> list:
    shapes = [["A?", "B?", "C?"], None, [], ["ok?", None], ["\t\n"], ["one?"]]
    return [shapes[i % len(shapes)] for i in range(n)]


def histories(n: int) -> list:
    shapes = [["hi", "there"], None, [], ["a", None, "b"], ["solo"]]
    return [shapes[i % len(shapes)] for i in range(n)]


def compare(checklist_spec: ChecklistScorerSpec, table: pa.Table) -> None:
    judge = MixedGenerator()
    new, old = ChecklistScorer(checklist_spec), RowByRowChecklist(checklist_spec)
    new_prepared, old_prepared = new.prepare(table), old.prepare(table)
    assert new_prepared.prompts == old_prepared.prompts
    assert new_prepared.generation == old_prepared.generation
    if new_prepared.generation:
        new_results = judge.generate(new_prepared.generation, new_prepared.answer_values)
        old_results = judge.generate(old_prepared.generation, old_prepared.answer_values)
    else:
        new_results = judge.judge(new_prepared.prompts, new_prepared.label_set)
        old_results = judge.judge(old_prepared.prompts, old_prepared.label_set)
    scored = new.finish(new_prepared, new_results)
    expected = old.finish(old_prepared, old_results)
    assert scored.scores.type == expected.scores.type
    assert scored.scores.to_pylist() == expected.scores.to_pylist()
    assert scored.scores.equals(expected.scores)
    assert scored.errors == expected.errors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("metric", ["pass", "weighted", "normalized"])
def test_a_fixed_checklist_scores_as_row_by_row(mode, metric):
    if metric == "normalized" and MODES[mode].get("use_logprobs") is False:
        pytest.skip("normalized needs log-probs")
    compare(spec(primary_metric=metric, **MODES[mode]), pa.table(texts(120)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("checklists", "dtype"),
    [
        (struct_checklists, STRUCTS),
        (string_checklists, pa.list_(pa.string())),
        (string_checklists, pa.large_list(pa.large_string())),
    ],
    ids=["structs", "strings", "large"],
)
def test_per_row_checklists_score_as_row_by_row(mode, checklists, dtype):
    n = 90
    table = pa.table({**texts(n), "rubric": pa.array(checklists(n), dtype)})
    checklist_spec = spec(
        checklist=None, checklist_column="rubric", primary_metric="weighted", **MODES[mode]
    )
    compare(checklist_spec, table)


@pytest.mark.parametrize(
    "rubric",
    [
        pa.array(
            [[{"question": "A?", "weight": 7}], [{"question": "B?", "weight": 300}]] * 3,
            INT_WEIGHTS,
        ),
        pa.array([[{"question": "A?", "weight": True}], [{"question": "B?"}]] * 3),  # bool: per row
        pa.array([[{"question": "A?"}], [{"question": "  "}], None] * 2),  # no weight field
        pa.array([[1, 2], None, [3]] * 2),  # not questions at all
        pa.array(["A?", None, "B?", "", "C?", "D?"]),  # not a list
    ],
    ids=["int_weights", "bool_weights", "no_weight_field", "int_lists", "strings"],
)
def test_unusual_checklist_columns_read_as_row_by_row(rubric):
    table = pa.table({**texts(6), "rubric": rubric})
    compare(spec(checklist=None, checklist_column="rubric"), table)


@pytest.mark.parametrize("mode", ["logprobs", "batch"])
@pytest.mark.parametrize(
    "history",
    [
        pa.array(histories(40)),
        pa.array([None if i % 3 else f"turn {i}" for i in range(40)], pa.large_string()),
        pa.array([[{"role": "user", "text": f"t{i}"}] if i % 4 else None for i in range(40)]),
        pa.array([i if i % 3 else None for i in range(40)]),  # not text: a bad row
    ],
    ids=["list", "text", "structs", "ints"],
)
def test_history_reads_as_row_by_row(mode, history):
    table = pa.table({**texts(40), "history": history})
    compare(spec(history_column="history", **MODES[mode]), table)


@pytest.mark.parametrize(
    "table",
    [
        pa.table(texts(0)),
        pa.table(texts(50)).slice(9, 30),
        pa.concat_tables([pa.table(texts(7)), pa.table(texts(13))]),
        pa.table({"prompt": [1, None, 3], "response": ["a", "b", None]}),
        pa.table({"prompt": [None, None], "response": [None, None]}),
    ],
    ids=["empty", "sliced", "chunked", "int_input", "all_bad"],
)
def test_odd_batches_score_as_row_by_row(table):
    for mode in ("logprobs", "batch"):
        compare(spec(**MODES[mode]), table)
