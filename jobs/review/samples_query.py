"""The samples page's table: scores/ filtered, searched, sorted and cut to one page, all on
Polars lazy scans (filters and the sort's top-k run in the scan; only a page is collected), so
a run of millions of rows answers at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from jobs.review.judge_disagreement import has_several_judges
from jobs.review.review_run import CHANGED, ReviewRun
from scorers.usage import ERROR_COLUMN

ANSWERS = ".answers"  # a checklist scorer's item answers in one cell: "y n ? y"
PER_PAGE = 50


class BadQuery(ValueError):
    """A query parameter the table cannot apply; the message names it."""


@dataclass(frozen=True)
class SamplesQuery:
    page: int = 0
    per_page: int = PER_PAGE
    sort: str | None = None  # a column of the table
    descending: bool = False
    scorer: str | None = None  # whose score range and item answer the filters below test
    score_min: float | None = None
    score_max: float | None = None
    item: int | None = None  # item index (of `scorer`) whose answer must be `answer`
    answer: str | None = None  # yes, no, or none (unscored)
    level: str | None = None  # some item of `scorer` has this confidence level
    confidence_min: float | None = None  # some item of `scorer` has its raw confidence in
    confidence_max: float | None = None  # [min, max) (max 1 included)
    error: str | None = None  # "with" or "without" an error
    group: str | None = None  # a group column ...
    group_value: str | None = None  # ... and the value it must have
    search: str | None = None  # text the sample's text columns contain (any case)
    changed: bool = False  # only samples that changed since the --compare run
    disagree: bool = False  # only samples where the judges answered some question differently


@dataclass(frozen=True)
class SamplesPage:
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int  # rows that pass the filters
    query: SamplesQuery

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def samples_page(run: ReviewRun, query: SamplesQuery) -> SamplesPage:
    table = _table(run, query)
    columns = table.collect_schema().names()
    if query.sort is not None and query.sort not in columns:
        raise BadQuery(f"sort: no column {query.sort!r}; the table has {', '.join(columns)}")
    total = int(table.select(pl.len()).collect().item())
    if query.sort is not None:
        table = table.sort(query.sort, descending=query.descending, nulls_last=True)
    rows = table.slice(query.page * query.per_page, query.per_page).collect().to_dicts()
    return SamplesPage(columns, rows, total, query)


def _table(run: ReviewRun, query: SamplesQuery) -> pl.LazyFrame:
    table = run.results.samples.filter(*_filters(run, query)).select(_view_columns(run))
    if query.search:
        table = table.join(
            _matching_ids(run, query.search), on=run.id_col, how="semi", maintain_order="left"
        )
    if query.disagree:
        if not has_several_judges(run):
            raise BadQuery("disagree: every checklist item of this run is answered by one judge")
        table = table.join(run.disagreeing, on=run.id_col, how="semi", maintain_order="left")
    if run.compare is not None:
        table = table.join(
            run.changes, on=run.id_col, how="left", maintain_order="left"
        ).with_columns(
            pl.col(CHANGED).fill_null(True)  # a sample RUN2 lacks is a change
        )
        if query.changed:
            table = table.filter(pl.col(CHANGED))
    elif query.changed:
        raise BadQuery("changed: start review with --compare RUN2 to see what changed")
    return table


def _view_columns(run: ReviewRun) -> list[pl.Expr]:
    columns = [pl.col(run.id_col).cast(pl.String), *map(pl.col, run.group_columns())]
    columns += [score.alias(key) for key, score in run.primary_scores.items()]
    columns += [_answers(run, scorer.key, scorer.list_field) for scorer in run.item_scorers()]
    if run.has_errors():
        columns.append(pl.col(ERROR_COLUMN))
    return columns


def _answers(run: ReviewRun, key: str, list_field: str) -> pl.Expr:
    initial = pl.element().struct.field("answer").str.slice(0, 1).fill_null("?")
    items = pl.col(key).struct.field(list_field)
    return items.list.eval(initial).list.join(" ").alias(key + ANSWERS)


def _filters(run: ReviewRun, query: SamplesQuery) -> list[pl.Expr]:
    filters: list[pl.Expr] = []
    scorer = query.scorer or next(iter(run.score_keys()), None)
    if query.score_min is not None or query.score_max is not None:
        if scorer not in run.score_keys():
            raise BadQuery(f"scorer: {scorer!r} has no primary score; scored: {run.score_keys()}")
        score = run.primary_scores[str(scorer)]
        if query.score_min is not None:
            filters.append(score >= query.score_min)
        if query.score_max is not None:
            filters.append(score <= query.score_max)
    if query.confidence_min is not None or query.confidence_max is not None:
        confidence = pl.element().struct.field("confidence")
        low, high = query.confidence_min or 0.0, query.confidence_max or 1.0
        inside = (confidence >= low) & ((confidence < high) | (confidence == 1.0) & (high >= 1.0))
        filters.append(_items_of(run, scorer).list.eval(inside).list.any())
    if query.answer is not None or query.level is not None:
        items = _items_of(run, scorer)
        if query.answer is not None:
            if query.answer not in ("yes", "no", "none"):
                raise BadQuery(f"answer: {query.answer!r} is none of yes, no, none")
            answer = pl.element().struct.field("answer")
            wanted = answer.is_null() if query.answer == "none" else answer == query.answer
            if query.item is None:
                filters.append(items.list.eval(wanted).list.any())
            else:
                picked = items.list.get(query.item, null_on_oob=True).struct.field("answer")
                filters.append(
                    picked.is_null() if query.answer == "none" else picked == query.answer
                )
        if query.level is not None:
            level = pl.element().struct.field("confidence_level") == query.level
            filters.append(items.list.eval(level).list.any())
    if query.error is not None:
        if not run.has_errors():
            raise BadQuery("error: this run's scores/ has no error column")
        has_error = pl.col(ERROR_COLUMN).is_not_null()
        filters.append(has_error if query.error == "with" else ~has_error)
    if query.group is not None and query.group_value is not None:
        if query.group not in run.group_columns():
            raise BadQuery(f"group: no group column {query.group!r}; {run.group_columns()}")
        filters.append(pl.col(query.group) == query.group_value)
    return filters


def _items_of(run: ReviewRun, scorer: str | None) -> pl.Expr:
    for item_scorer in run.item_scorers():
        if item_scorer.key == scorer:
            return pl.col(scorer).struct.field(item_scorer.list_field)
    raise BadQuery(f"scorer: {scorer!r} has no checklist items")


def _matching_ids(run: ReviewRun, text: str) -> pl.LazyFrame:
    """Ids whose text columns (the input's the scorers read, and scores/' own) contain it."""
    needle = text.lower()

    def containing(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
        hits = [pl.col(c).str.to_lowercase().str.contains(needle, literal=True) for c in columns]
        return frame.filter(pl.any_horizontal(hits).fill_null(False)).select(run.id_col)

    own = [run.id_col, *run.group_columns()] + ([ERROR_COLUMN] if run.has_errors() else [])
    scored = run.results.samples.select(pl.col(run.id_col).cast(pl.String), *own[1:])
    frames = [containing(scored, own)]
    texts = run.input_texts()
    if texts is not None:
        columns = [c for c in texts.collect_schema().names() if c != run.id_col]
        if columns:
            frames.append(containing(texts, columns))
    return pl.concat(frames).unique()
