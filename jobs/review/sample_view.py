"""One sample as the sample page shows it: its input texts, and per scorer each checklist item
with answer, confidence (raw and calibrated), level, reasoning, the points it cost and any
unscored reason; with --compare, the same sample in RUN2 beside it; and the labels this
reviewer gave it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from jobs.diff.pairing import compared_item_indices
from jobs.review.review_run import ItemScorer, ReviewRun
from pipeline.results import RunResults
from scorers.usage import ERROR_COLUMN


class NoSuchSample(KeyError):
    pass


@dataclass(frozen=True)
class ItemView:
    index: int
    name: str  # the label's score name, "quality.item_2"
    question: str | None
    weight: float | None
    answer: str | None
    confidence: float | None
    calibrated_confidence: float | None
    confidence_level: str | None
    reasoning: str | None
    unscored_reason: str | None
    points_lost: float | None  # share of the scorer's total weight this answer cost
    compared: ItemView | None = None


@dataclass(frozen=True)
class ScorerView:
    key: str
    primary_score: float | None
    compared_score: float | None
    unscored_reason: str | None
    verdict_name: str | None  # the yes/no score an overall verdict labels, if the run has one
    items: list[ItemView] = field(default_factory=list)


@dataclass(frozen=True)
class SampleView:
    sample_id: str
    fields: dict[str, Any]  # group columns and the error
    texts: dict[str, str | None]  # the input's text columns
    scorers: list[ScorerView]
    labels: dict[str, str]  # score name -> this reviewer's latest "yes"/"no"
    comment: str | None  # this reviewer's latest comment on the sample


def sample_view(run: ReviewRun, sample_id: str, author: str | None = None) -> SampleView:
    """One sample's page; the labels shown as given are `author`'s (default: --author)."""
    row = _row(run.results, run.id_col, sample_id)
    if row is None:
        raise NoSuchSample(sample_id)
    other = _row(run.compare, run.id_col, sample_id) if run.compare is not None else None
    shown = [*run.group_columns(), *([ERROR_COLUMN] if run.has_errors() else [])]
    items = {s.key: s for s in run.item_scorers()}
    # RUN2's item for each of this sample's items: paired on question text, as rayscore diff
    # pairs them (an item moved or added shifts the indices)
    pairs = compared_item_indices(run.results, run.compare, sample_id) if run.compare else {}
    scorers = [
        _scorer_view(run, key, row, other, items.get(key), pairs.get(key))
        for key in dict.fromkeys([*run.score_keys(), *items])
    ]
    mine = run.store.answers(author or run.author).filter(pl.col("sample_id") == sample_id)
    comments = mine["comment"].drop_nulls()
    return SampleView(
        sample_id=sample_id,
        fields={name: row.get(name) for name in shown},
        texts=_texts(run, sample_id),
        scorers=scorers,
        labels=dict(zip(mine["name"].to_list(), mine["answer"].to_list(), strict=True)),
        comment=comments[-1] if len(comments) else None,
    )


def label_target(run: ReviewRun, sample_id: str) -> tuple[str, set[str]]:
    """The sample's id as scores/ holds it (as text: "011" asks for the integer id 11) and
    the names a label of it may take: its items' and its scorers' verdicts; read from its row
    of scores/ alone (NoSuchSample when there is none)."""
    row = _row(run.results, run.id_col, sample_id)
    if row is None:
        raise NoSuchSample(sample_id)
    names = set()
    for scorer in run.item_scorers():
        items = (row.get(scorer.key) or {}).get(scorer.list_field) or []
        names |= {scorer.item_name(int(item["index"])) for item in items}
    for key in dict.fromkeys([*run.score_keys(), *(s.key for s in run.item_scorers())]):
        verdict = run.verdict_name(key)
        if verdict is not None:
            names.add(verdict)
    return str(row[run.id_col]), names


def _row(results: RunResults | None, id_col: str, sample_id: str) -> dict[str, Any] | None:
    if results is None:
        return None
    # compared in the id column's own type, so the scan skips row groups by their statistics
    dtype = results.samples.collect_schema()[id_col]
    wanted = pl.lit(sample_id).cast(dtype, strict=False) if dtype != pl.String else sample_id
    rows = results.samples.filter(pl.col(id_col) == wanted).head(1).collect()
    return rows.to_dicts()[0] if rows.height else None


def _texts(run: ReviewRun, sample_id: str) -> dict[str, str | None]:
    texts = run.input_texts()
    if texts is None:
        return {}
    rows = texts.filter(pl.col(run.id_col) == sample_id).head(1).collect().to_dicts()
    return {k: v for k, v in rows[0].items() if k != run.id_col} if rows else {}


def _scorer_view(
    run: ReviewRun,
    key: str,
    row: dict[str, Any],
    other: dict[str, Any] | None,
    items: ItemScorer | None,
    pairs: dict[int, int] | None = None,
) -> ScorerView:
    struct = row.get(key) or {}
    compared = (other or {}).get(key) or {}
    field = run.primary_field(key) if key in run.primary_scores else None
    views = []
    if items is not None:
        theirs = {i["index"]: i for i in compared.get(items.list_field) or []}
        for item in struct.get(items.list_field) or []:
            index = item["index"] if pairs is None else pairs.get(item["index"])
            before = theirs.get(index) if index is not None else None
            compared_view = (
                _item_view(items, before, compared[items.list_field]) if before else None
            )
            views.append(
                replace(_item_view(items, item, struct[items.list_field]), compared=compared_view)
            )
    return ScorerView(
        key=key,
        primary_score=_number(struct.get(field)) if field else None,
        compared_score=_number(compared.get(field)) if field else None,
        unscored_reason=struct.get("unscored_reason"),
        verdict_name=run.verdict_name(key),
        items=views,
    )


def _item_view(scorer: ItemScorer, item: dict[str, Any], every: list[dict[str, Any]]) -> ItemView:
    total = sum(i.get("weight") or 0.0 for i in every)
    answer = item.get("answer")
    weight = item.get("weight")
    lost = None
    if answer is not None and total > 0:
        lost = (weight or 0.0) / total if answer == "no" else 0.0
    return ItemView(
        index=int(item["index"]),
        name=scorer.item_name(int(item["index"])),
        question=item.get("question"),
        weight=weight,
        answer=answer,
        confidence=item.get("confidence"),
        calibrated_confidence=item.get("calibrated_confidence"),
        confidence_level=item.get("confidence_level"),
        reasoning=item.get("reasoning"),
        unscored_reason=item.get("unscored_reason"),
        points_lost=lost,
    )


def _number(value: Any) -> float | None:
    """A primary score as the page shows it: a boolean's 1.0/0.0, as rayscore diff reads it."""
    return None if value is None else float(value)
