"""A kind's hooks are what the pipeline runs: a plug-in kind with an items hook gets its item
records and its run.items rows without pipeline/ knowing it; a kind without hooks gets none."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.results import _item_lists
from pipeline.score_records import score_records
from scorers.hooks import ItemRecordColumns, KindHooks
from scorers.registry import RowKind, hooks_named, register, types_offering, unregister
from scorers.row_scorer import RowScorer
from scorers.score_config import ScoreConfig
from scorers.scorer_spec import ScorerSpec

WORD_TYPE = pa.struct([("count", pa.int64()), ("words", pa.list_(pa.string()))])


class WordsSpec(ScorerSpec):
    type: Literal["words"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = ("count",)

    def output_type(self) -> pa.DataType:
        return WORD_TYPE

    def item_config(self) -> ScoreConfig:
        return ScoreConfig(data_type="NUMERIC", description="a word's length")


class WordItems:
    """Each word is an item: its length the value, the word in the metadata."""

    list_field = "words"

    def record_columns(self, structs: pa.Array, scorer_name: str) -> ItemRecordColumns:
        lists = pc.struct_field(structs, "words")
        words = pc.list_flatten(lists)
        return ItemRecordColumns(
            parent=pc.list_parent_indices(lists),
            name=pc.binary_join_element_wise(f"{scorer_name}.item_", words, ""),
            value=pc.utf8_length(words),
            comment=pa.nulls(len(words), pa.string()),
            metadata={"word": words},
        )


def never_built(spec: WordsSpec) -> RowScorer:
    raise AssertionError("records and results need no scorer")


WORDS = RowKind(WordsSpec, never_built, KindHooks(items=WordItems()))


@pytest.fixture
def words_kind() -> Iterator[None]:
    register(WORDS)
    yield
    unregister("words")


def test_a_plug_in_kinds_items_hook_makes_its_item_records(words_kind: None) -> None:
    spec = WordsSpec(type="words", key="w")
    structs = pa.array(
        [{"count": 2, "words": ["ab", "c"]}, None, {"count": 0, "words": []}], WORD_TYPE
    )
    table = pa.table({"id": ["a", "b", "c"], "w": structs})
    configs = {"w": spec.field_configs(WORD_TYPE)}
    rows = score_records(table, "id", [spec], configs, {}, "r", "t").to_pylist()
    items = [(r["sample_id"], r["name"], r["value"], r["config_id"], json.loads(r["metadata"]))
             for r in rows if ".item_" in r["name"]]  # fmt: skip
    assert items == [
        ("a", "w.item_ab", 2.0, "w.item", {"word": "ab"}),
        ("a", "w.item_c", 1.0, "w.item", {"word": "c"}),
    ]


def test_the_results_items_are_the_kinds_that_offer_them(words_kind: None) -> None:
    types = {"q": "checklist", "w": "words", "b": "boolean", "x": "gone"}
    manifest = {"scorers": [{"key": key, "type": kind} for key, kind in types.items()]}
    assert _item_lists(manifest) == {"q": "item_scores", "w": "words"}
    assert hooks_named("gone") == KindHooks()
    assert "words" in types_offering("items") and "words" not in types_offering("variance")
    assert types_offering("calibration") == ["checklist"]
    assert types_offering("variance") == ["checklist", "likert", "categorical", "boolean"]
