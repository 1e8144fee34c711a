"""Cross-sample scorers' pure parts: the seed's contract, uniqueness labels, MinHash clusters."""

import itertools

import pyarrow as pa
import pytest

from pipeline.spec_loader import SpecError, load_spec
from pipeline.stages.cross_sample import CrossSampleResult, attach_cross_sample
from scorers.cross_sample.near_duplicates import band_buckets, clusters, shingles
from scorers.cross_sample.python_batch import (
    ScorerOutputError,
    entries_to_struct,
    run_python_scorer,
)
from scorers.cross_sample.spec import NearDuplicatesSpec, PythonAllSamplesSpec, UniquenessSpec
from scorers.cross_sample.steps import FIRST_ID, GROUP_ROWS
from scorers.cross_sample.uniqueness import (
    HASH_COLUMN,
    TEXT_COLUMN,
    UniquenessScorer,
    group_names,
    label_duplicates,
    normalize,
    normalize_array,
)
from scorers.grouped_shape.partitions import hash_partitions, shared_rows

SEED_SNIPPET = """from __future__ import annotations

from collections import Counter
from typing import Any


def compute_scores(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    field_name = "<< config.field >>"
    values = [
        sample[field_name] if field_name in sample else None for sample in samples
    ]
    counter = Counter(values)

    return [
        {"is_unique": counter[value] == 1 if value is not None else True}
        for value in values
    ]
"""

SPEC = """
name: seed
input: {path: data.parquet, id_column: id}
output: {path: out}
definition:
  scorers:
    - type: "python_all_samples"
      key: uniq
      compute_scores_snippet: !include "uniqueness_scorer.py"
      config: {field: answer}
      metrics:
        - type: "mean"
          field: "is_unique"
          name: "Uniqueness Rate"
"""


def python_spec(snippet: str, **extra) -> PythonAllSamplesSpec:
    return PythonAllSamplesSpec(
        type="python_all_samples", key="s", compute_scores_snippet=snippet, **extra
    )


def test_the_seed_spec_form_loads_with_include_and_config(tmp_path):
    (tmp_path / "uniqueness_scorer.py").write_text(SEED_SNIPPET)
    (tmp_path / "job.yaml").write_text(SPEC)
    spec = load_spec(tmp_path / "job.yaml")
    scorer = spec.definition.scorers[0]
    assert spec.judge is None
    assert '"answer"' in scorer.code()
    column = run_python_scorer(
        scorer, [{"answer": "Paris"}, {"answer": "London"}, {"answer": "Paris"}]
    )
    assert column.to_pylist() == [{"is_unique": False}, {"is_unique": True}, {"is_unique": False}]


def test_unknown_config_key_fails_at_load(tmp_path):
    (tmp_path / "uniqueness_scorer.py").write_text(SEED_SNIPPET)
    (tmp_path / "job.yaml").write_text(
        SPEC.replace("config: {field: answer}", "config: {feld: answer}")
    )
    with pytest.raises(
        SpecError, match=r"<< config.field >> but config has no key 'field'; config keys: feld"
    ):
        load_spec(tmp_path / "job.yaml")


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("def score(samples):\n    return []\n", "must define a function compute_scores"),
        ("def compute_scores(samples):\n    return [\n\n  x = \n", "syntax error at line"),
    ],
)
def test_bad_snippets_fail_at_load(snippet, message):
    with pytest.raises(ValueError, match=message):
        python_spec(snippet)


def test_async_compute_scores_works():
    spec = python_spec(
        "async def compute_scores(samples):\n    return [{'n': len(samples)} for _ in samples]\n"
    )
    assert run_python_scorer(spec, [{}, {}]).to_pylist() == [{"n": 2}, {"n": 2}]


def test_scores_with_metadata_keep_metadata_as_json():
    column = entries_to_struct(
        [
            {"scores": {"u": 1.0}, "metadata": {"duplicates": [2]}},
            {"scores": {"u": 0.5}, "metadata": None},
        ],
        2,
    )
    assert column.to_pylist() == [
        {"u": 1.0, "metadata": '{"duplicates": [2]}'},
        {"u": 0.5, "metadata": None},
    ]


def test_a_metric_over_the_metadata_is_refused_at_load_naming_metric_and_scorer(tmp_path):
    """The seed: metadata "is stored alongside scores but not aggregated into metrics"."""
    (tmp_path / "uniqueness_scorer.py").write_text(SEED_SNIPPET)
    (tmp_path / "job.yaml").write_text(
        SPEC.replace(
            'name: "Uniqueness Rate"',
            'name: "Uniqueness Rate"\n        - {type: frequency, field: metadata, name: Dups}',
        )
    )
    with pytest.raises(
        SpecError,
        match=r"scorer 'uniq' \(python_all_samples\): metric 'Dups' \(frequency over field "
        r"'metadata'\): metadata is stored alongside scores but not aggregated into metrics",
    ):
        load_spec(tmp_path / "job.yaml")
    with pytest.raises(ValueError, match=r"metric 'frequency_metadata' \(frequency over"):
        python_spec(
            "def compute_scores(s):\n    return []\n",
            metrics=[{"type": "frequency", "field": "metadata"}],
        )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"a": 1}], "returned 1 entries for 2 samples"),
        ([{"a": 1}, 3], "entry 1 is int, not a dict"),
        ([{"a": 1}, {"a": "x"}], "score 'a' is int in entry 0 but str in entry 1"),
        ([{"a": [1]}, {"a": 2}], "entry 0: score 'a' is list"),
        ({"a": 1}, "must return a list"),
    ],
)
def test_contract_violations_are_named(entries, message):
    with pytest.raises(ScorerOutputError, match=message):
        entries_to_struct(entries, 2)


def test_ints_and_floats_mix_into_floats_and_nulls_are_kept():
    column = entries_to_struct([{"a": 1, "b": None}, {"a": 2.5, "b": True}], 2)
    assert column.to_pylist() == [{"a": 1.0, "b": None}, {"a": 2.5, "b": True}]


PYTHON_WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
# Texts where Arrow's kernels and Python's str methods could part: every Unicode whitespace
# character, lookalikes that are not whitespace, İ (two characters lowercased), Σ (final
# sigma), a letter newer than Python's Unicode tables, ASCII punctuation, empty and null.
TRICKY_TEXTS = [
    *(f"  A{ws}{ws}b{ws}" for ws in PYTHON_WHITESPACE),
    "zero\u200bwidth\ufeffjoin\u180eer\u2060",
    "İstanbul İ",
    "ΟΔΟΣ ΟΔΟΣ. ΑΣΑ Σ",
    "\ua7cb\U00010d50 Ab",
    "Hello, World!! (ok) -- fine?",
    "\tKeep\x00 NUL \x1c",
    "",
    " ",
    None,
]


def uniqueness_spec(**flags: bool) -> UniquenessSpec:
    return UniquenessSpec(type="uniqueness", key="u", column="t", **flags)


@pytest.mark.parametrize(
    ("lowercase", "collapse_whitespace", "strip_punctuation"),
    list(itertools.product([True, False], repeat=3)),
)
def test_arrow_normalisation_is_python_normalisation(
    lowercase, collapse_whitespace, strip_punctuation
):
    spec = uniqueness_spec(
        lowercase=lowercase,
        collapse_whitespace=collapse_whitespace,
        strip_punctuation=strip_punctuation,
    )
    got = normalize_array(pa.array(TRICKY_TEXTS, pa.string()), spec).to_pylist()
    assert got == [None if t is None else normalize(t, spec) for t in TRICKY_TEXTS]


def test_uniqueness_normalises_then_labels_groups():
    spec = uniqueness_spec()
    assert normalize("  Paris \n is  NICE ", spec) == "paris is nice"
    texts = normalize_array(pa.array(["Paris", "paris\u3000", "London", "london"]), spec)
    # BLAKE2b-96 of "paris": the hash names the group in the output, so it must not change.
    assert group_names(texts).to_pylist()[:2] == ["9de349587a0c887c7978981e"] * 2
    labels = label_duplicates(texts, pa.array([2, 2, 3, 3], pa.int64())).to_pylist()
    assert labels[0] == {
        "is_unique": False,
        "duplicate_count": 1,
        "duplicate_group": "9de349587a0c887c7978981e",
    }
    assert (
        labels[2]["duplicate_count"] == 2
        and labels[2]["duplicate_group"] != labels[0]["duplicate_group"]
    )


def test_uniqueness_keys_rows_with_text_by_a_digest_of_the_normalised_text():
    scorer = UniquenessScorer(uniqueness_spec())
    texts = pa.chunked_array([["A  b", None], [], [" a b", "c", ""]], pa.large_string())
    batch = pa.table({"id": [1, 2, 3, 4, 5], "t": texts})
    keyed = scorer.map_block(batch, "id")
    assert keyed["id"].to_pylist() == [1, 3, 4, 5]  # null text: no key, so the default
    digests = keyed[HASH_COLUMN].to_pylist()
    assert digests[0] == digests[1] and len(set(digests)) == 3
    assert keyed[HASH_COLUMN].type == pa.uint64()
    assert scorer.exact(batch)[TEXT_COLUMN].to_pylist() == ["a b", None, "a b", "c", ""]


def test_shared_rows_keeps_keys_several_rows_have_with_size_and_smallest_id():
    many = pa.table({"k": [n % 50 for n in range(1000)]})
    parts = hash_partitions(many, ["k"], 7)
    assert sum(p.num_rows for p in parts) == 1000 and all(p.num_rows for p in parts)
    keys_per_part = [set(p["k"].to_pylist()) for p in parts]
    assert sum(len(k) for k in keys_per_part) == 50  # each key in exactly one partition
    keyed = pa.table({"id": ["d", "b", "c", "a", "e"], "k": [1, 2, 1, 1, 3]})
    shared = shared_rows([keyed.slice(0, 2), keyed.slice(2)], ["k"], "id").sort_by("id")
    assert shared["id"].to_pylist() == ["a", "c", "d"]
    assert shared[GROUP_ROWS].to_pylist() == [3, 3, 3]
    assert shared[FIRST_ID].to_pylist() == ["a", "a", "a"]
    assert shared[FIRST_ID].type == pa.string()


def test_near_duplicate_buckets_and_clusters():
    spec = NearDuplicatesSpec(
        type="near_duplicates", key="n", column="t", threshold=0.7, shingle_size=2
    )
    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    near = base + " again"
    other = "completely different words about cooking pasta with tomato sauce at home"
    a, b, c, empty = band_buckets([base, near, other, ""], spec)
    assert empty is None
    assert set(a) & set(b)
    assert not set(a) & set(c)
    assert shingles("A b c", 2) == {b"a b", b"b c"}
    assert clusters([("b", "c"), ("d", "e"), ("c", "a"), ("e", "d")]) == {
        "a": "a",
        "b": "a",
        "c": "a",
        "d": "d",
        "e": "d",
    }


def test_attach_cross_sample_fills_defaults_and_keeps_errors():
    uniq_type = pa.struct([("is_unique", pa.bool_()), ("n", pa.int64())])
    grouped = CrossSampleResult(
        "u",
        pa.table({"id": ["c", "a"], "u": pa.array([{"is_unique": False, "n": 2}] * 2, uniq_type)}),
        {"is_unique": True, "n": 0},
        uniq_type,
    )
    whole_type = pa.struct([("x", pa.float64())])
    whole = CrossSampleResult(
        "w",
        pa.table(
            {
                "id": ["a", "b", "c"],
                "w": pa.array([{"x": 1.0}, {"x": 2.0}, None], whole_type),
                "__error__w": ["bad", None, None],
            }
        ),
        None,
        whole_type,
    )
    block = pa.table({"id": pa.array(["b", "c", "a"], pa.large_string()), "v": [1, 2, 3]})
    out = attach_cross_sample(block, [grouped, whole], "id")
    assert out.column_names == ["id", "v", "u", "w", "__error__w"]
    assert out["u"].to_pylist() == [
        {"is_unique": True, "n": 0},
        {"is_unique": False, "n": 2},
        {"is_unique": False, "n": 2},
    ]
    assert out["w"].to_pylist() == [{"x": 2.0}, None, {"x": 1.0}]
    assert out["__error__w"].to_pylist() == [None, None, "bad"]
    assert attach_cross_sample(block.slice(0, 0), [grouped], "id")["u"].type == uniq_type
