"""What `rayscore review` knows of the run it shows: its lazy tables (pipeline.results), which
scorers have checklist items, the columns a sample is grouped and searched by, the names a
label may take, and where labels are saved. A finished run does not change, so each of these
is worked out once per review, on first use (the methods return the cached value)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import fsspec
import polars as pl

from jobs.diff.pairing import items_changed, primary_fields, primary_scores
from jobs.item_names import item_name, item_name_expr
from jobs.review.judge_disagreement import disagreeing_samples
from pipeline.annotations.labelled_run import LabelledRun
from pipeline.annotations.labels_store import LabelsStore
from pipeline.results import RunResults, open_run
from pipeline.storage.run_dir import RunDirectory
from pipeline.storage.storage_options import polars_storage_options
from scorers.registry import hooks_named, parse_scorer
from scorers.usage import ERROR_COLUMN

CHANGED = "changed"  # with --compare: the sample's scores or answers differ from RUN2's


@dataclass(frozen=True)
class ItemScorer:
    """A scorer whose kind has items: its column in scores/, the struct field listing them and
    the prefix of its item records' names ("quality" -> "quality.item_2")."""

    key: str
    name: str
    list_field: str

    def item_name(self, index: int) -> str:
        return item_name(self.name, index)


@dataclass(frozen=True)
class InputScan:
    """Where the input's texts are read from (a folder's files as a glob) and which of its
    columns, found once; each scan() is a new lazy scan, so a query reads the files as they
    are then (a scan kept across queries would keep their first footers)."""

    uri: str
    storage_options: dict[str, str] | None
    id_col: str
    text_columns: list[str]

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.uri, storage_options=self.storage_options).select(
            pl.col(self.id_col).cast(pl.String), *self.text_columns
        )


@dataclass
class ReviewRun:
    results: RunResults
    compare: RunResults | None
    store: LabelsStore
    author: str
    storage_options: dict[str, Any]

    @property
    def id_col(self) -> str:
        return str(self.results.manifest["spec"]["input"]["id_column"])

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.results.manifest["spec"]
        return spec

    @cached_property
    def columns(self) -> dict[str, pl.DataType]:
        """scores/' columns, read once from the Parquet footers."""
        return dict(self.results.samples.collect_schema())

    @cached_property
    def primary_scores(self) -> dict[str, pl.Expr]:
        """Scorer key -> its primary score (its kind's primary field) as a number, as rayscore
        diff compares it."""
        return primary_scores(self.results)

    def score_keys(self) -> list[str]:
        """Scorers with a primary score that is a number (or a boolean)."""
        return list(self.primary_scores)

    def primary_field(self, key: str) -> str:
        return self._primary_fields[key][0]

    @cached_property
    def _primary_fields(self) -> dict[str, tuple[str, pl.DataType]]:
        return primary_fields(self.results)

    @cached_property
    def changes(self) -> pl.LazyFrame:
        """Per sample of this run: whether RUN2 scored it differently (a score, or an item in one
        run only or answered differently, items paired as rayscore diff pairs them); worked out
        once: both runs are finished."""
        assert self.compare is not None
        other = self.compare.samples.collect_schema().names()
        keys = [key for key in self.score_keys() if key in other]

        def scores(frame: pl.LazyFrame, suffix: str) -> pl.LazyFrame:
            columns = [pl.col(self.id_col).cast(pl.String)]
            columns += [self.primary_scores[k].alias(k + suffix) for k in keys]
            return frame.select(columns)

        items = items_changed(self.results, self.compare).lazy()
        items = items.select(pl.col("sample_id").cast(pl.String).alias(self.id_col), "changed")
        differs = [pl.col(k + "_a").ne_missing(pl.col(k + "_b")) for k in keys]
        differs.append(pl.col("changed").fill_null(False))
        joined = (
            scores(self.results.samples, "_a")
            .join(scores(self.compare.samples, "_b"), on=self.id_col, how="left")
            .join(items, on=self.id_col, how="left")
        )
        return (
            joined.select(self.id_col, pl.any_horizontal(differs).alias(CHANGED)).collect().lazy()
        )

    @cached_property
    def disagreeing(self) -> pl.LazyFrame:
        """The ids (as strings) of the samples where the judges answered some question
        differently; found once: the run is finished."""
        return disagreeing_samples(self).collect().lazy()

    def item_scorers(self) -> list[ItemScorer]:
        return self._item_scorers

    @cached_property
    def _item_scorers(self) -> list[ItemScorer]:
        found = []
        for scorer in self.results.manifest.get("scorers", []):
            items = hooks_named(str(scorer.get("type"))).items
            if items is not None and scorer["key"] in self.columns:
                found.append(ItemScorer(scorer["key"], scorer["name"], items.list_field))
        return found

    def item_label_name(self) -> pl.Expr:
        """An `items` row's score name ("quality.item_2"), from its scorer key and index."""
        return self._item_label_name

    @cached_property
    def _item_label_name(self) -> pl.Expr:
        return item_name_expr({s.key: s.name for s in self.item_scorers()})

    def group_columns(self) -> list[str]:
        """Passthrough (label and group) columns: what scores/ carries beside the scores."""
        return self._group_columns

    @cached_property
    def _group_columns(self) -> list[str]:
        scored = {s["key"] for s in self.results.manifest.get("scorers", [])}
        return [
            name
            for name, dtype in self.columns.items()
            if name not in scored | {self.id_col, ERROR_COLUMN} and dtype == pl.String
        ]

    def has_errors(self) -> bool:
        return ERROR_COLUMN in self.columns

    def text_columns(self) -> list[str]:
        """The input columns the scorers read (prompt, response, reference...)."""
        return self._text_columns

    @cached_property
    def _text_columns(self) -> list[str]:
        columns: dict[str, None] = {}
        for raw in self.spec.get("definition", {}).get("scorers", []):
            try:
                scorer = parse_scorer(raw)
            except ValueError:  # a plug-in kind this process has not registered
                continue
            columns |= {c.name: None for c in scorer.input_columns() if c.kind == "text"}
        return list(columns)

    @cached_property
    def input_changed(self) -> str | None:
        """Why the input's texts shown may not be what the judge read: its files now differ
        from those the run recorded (added, removed, another size); None when they match or
        the run recorded none."""
        judged: dict[str, int] | None = self.results.manifest.get("input", {}).get("file_sizes")
        uri = self.spec["input"].get("path")
        if judged is None or not uri:
            return None
        try:
            fs, _ = fsspec.core.url_to_fs(uri, **self.storage_options)
            now = {path: fs.info(path)["size"] for path in judged if fs.exists(path)}
        except OSError as exc:
            return f"the input {uri} cannot be read now ({exc})"
        moved = sorted(path for path, size in judged.items() if now.get(path) != size)
        if not moved:
            return None
        return (
            f"the input {uri} changed since this run ({len(moved)} of {len(judged)} files "
            "gone or of another size): its texts here are today's, not what the judge read"
        )

    def input_texts(self) -> pl.LazyFrame | None:
        """The input's id and text columns, scanned lazily; None when the input was gone when
        the review first looked."""
        return None if self._input_scan is None else self._input_scan.scan()

    @cached_property
    def _input_scan(self) -> InputScan | None:
        uri = self.spec["input"].get("path")
        if not uri:
            return None
        try:
            fs, path = fsspec.core.url_to_fs(uri, **self.storage_options)
            if fs.isdir(path):
                uri = posixpath.join(uri.rstrip("/"), "*.parquet")
            options = polars_storage_options(uri, self.storage_options)
            present = pl.scan_parquet(uri, storage_options=options).collect_schema().names()
        except (OSError, pl.exceptions.PolarsError):
            return None
        wanted = [c for c in self.text_columns() if c in present and c != self.id_col]
        return InputScan(uri, options, self.id_col, wanted)

    def verdict_name(self, scorer_key: str) -> str | None:
        """The yes/no score a reviewer's overall verdict on this scorer labels: a BOOLEAN
        config of the scorer other than its items (calibration.composite's label, say), from
        the score configs the store's labels are checked against."""
        for name, (key, field, config) in self.store.labelled.names.configs.items():
            if key == scorer_key and config.data_type == "BOOLEAN" and field != "item_scores":
                return name
        return None


def open_review(
    uri: str,
    compare: str | None = None,
    author: str = "",
    storage_options: dict[str, Any] | None = None,
) -> ReviewRun:
    options = dict(storage_options or {})
    # the labels given here are read live from the store; results holds the run's own
    results = open_run(uri, options, review_labels=False)
    run_dir = RunDirectory(uri, options)
    return ReviewRun(
        results=results,
        compare=open_run(compare, options) if compare else None,
        store=LabelsStore(run_dir, LabelledRun.of(results, run_dir)),
        author=author,
        storage_options=options,
    )
