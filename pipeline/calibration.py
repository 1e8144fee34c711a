"""Calibration and composite scores for a run: fitted to its human labels, or read from an
earlier run's `calibration.json` and applied as they are.

What is calibrated is the items of the scorers whose kind offers a calibration hook
(scorers.hooks.CalibrationHook): the hook reads their confidences and writes the calibrated
ones; this module fits, measures and applies, whatever the kind.

Fitting uses the labelled samples outside the holdout split (scorers.calibration.in_holdout);
ECE and Brier before and after, and the composite's agreement beside the hand-set
`weighted_score`, are measured on the held-out ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
from pydantic import ConfigDict, Field

from pipeline.annotations.labels import TRUE_TEXT
from pipeline.storage.run_dir import CALIBRATION, RunDirectory
from scorers.agreement import expected_calibration_error, rank_agreement
from scorers.calibration import (
    apply_calibrator,
    apply_composite,
    fit_calibrator,
    fit_composite,
    in_holdout,
)
from scorers.hooks.calibration_hook import CalibrationHook
from scorers.registry import hooks_named, hooks_of, types_offering
from scorers.scorer_spec import ScorerSpec
from scorers.strict_model import StrictModel

MIN_FIT_LABELS = 10  # fewer labelled pairs than this (or one class only): no calibrator


class CompositeSpec(StrictModel):
    scorer: str = Field(description="Key of a checklist scorer with a corpus-level checklist.")
    label: str = Field(
        description="Annotation name of the overall human label (yes/no) the item "
        "confidences are weighed to predict, e.g. quality.overall."
    )

    def column(self) -> str:
        return f"{self.scorer}_composite"


class CalibrationSpec(StrictModel):
    model_config = ConfigDict(**StrictModel.model_config, serialize_by_alias=True)

    method: Literal["isotonic", "platt"] = Field(
        default="isotonic",
        description="isotonic: monotone, no shape assumed, needs more labels; platt: a "
        "logistic curve on the log-odds, smoother with few labels.",
    )
    holdout: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Share of labelled samples (by id hash) kept out of the fit to measure it.",
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="A finished run directory whose calibration.json is applied as it is, "
        "without refitting (the run needs no annotations then).",
    )
    per: Literal["scorer", "item"] = Field(
        default="scorer",
        description="scorer: one calibrator for all of a checklist's items (more labels per "
        "fit); item: one per checklist item (each question's own bias, needs more labels).",
    )
    composite: CompositeSpec | None = Field(
        default=None,
        description="Weights of a checklist's items learnt from an overall human label.",
    )


def load_stored(run_dir: str, storage_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """An earlier run's calibration.json (read with the output's storage options), or a
    clear error naming the file."""
    stored = RunDirectory(run_dir, storage_options)
    path = stored.join(CALIBRATION)
    if not stored.fs.exists(path):
        raise FileNotFoundError(f"calibration.from: {path} does not exist (run with a fit first)")
    calibration: dict[str, Any] = stored.read_json(CALIBRATION)
    return calibration


def fit(
    spec: CalibrationSpec,
    human: pl.DataFrame,
    scores: pa.Table,
    id_col: str,
    scorers: Sequence[ScorerSpec],
) -> dict[str, Any]:
    """Calibrators per labelled item name and the composite, with their held-out report, for
    the `scorers` whose kind offers a calibration hook."""
    calibrated = list(_calibrated(scorers))
    items = _item_pairs(human, scores, id_col, calibrated, spec.holdout)
    group = "name" if spec.per == "item" else "scorer"
    calibrators: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for (name,), rows in items.group_by([group], maintain_order=True):
        fit_rows = rows.filter(~pl.col("held_out"))
        if fit_rows.height < MIN_FIT_LABELS or fit_rows["human"].n_unique() < 2:
            report[str(name)] = {"n_fit": fit_rows.height, "skipped": "too few labels to fit"}
            continue
        calibrators[str(name)] = fit_calibrator(
            fit_rows["confidence"], fit_rows["human"], spec.method
        )
    held_out = items.filter(pl.col("held_out"))
    after = np.full(held_out.height, np.nan)
    fitted_for = held_out[group].to_numpy()
    confidence = held_out["confidence"].to_numpy()
    for name, calibrator in calibrators.items():
        mine = fitted_for == name
        after[mine] = apply_calibrator(calibrator, confidence[mine])
    held_out = held_out.with_columns(after=pl.Series(after))
    for (name,), rows in held_out.group_by([group], maintain_order=True):
        if str(name) in calibrators:
            report[str(name)] = _before_after(rows, calibrators[str(name)]["n"])
    if held_out.height:
        report["overall"] = _before_after(held_out, sum(c["n"] for c in calibrators.values()))
    composite = None
    if spec.composite is not None:
        composite, report["composite"] = _fit_composite(
            spec.composite, human, scores, id_col, calibrated, spec.holdout
        )
    return {
        "method": spec.method,
        "holdout": spec.holdout,
        "calibrators": calibrators,
        "composite": composite,
        "report": report,
    }


def calibrate_batch(
    batch: pa.Table, calibration: dict[str, Any], checklists: Mapping[str, str]
) -> pa.Table:
    """Fill the calibrated confidences of each calibrated scorer's column (`checklists`: key
    -> scorer name, of scorers whose kind offers a calibration hook), and add the composite
    column when there is one."""
    for key, name in checklists.items():
        column = batch[key].combine_chunks()
        batch = batch.set_column(
            batch.schema.get_field_index(key),
            key,
            _hook_for(key, column.type).calibrated(column, name, calibration["calibrators"]),
        )
    composite = calibration.get("composite")
    if composite:
        column = batch[composite["scorer"]].combine_chunks()
        hook = _hook_for(composite["scorer"], column.type)
        features = hook.composite_features(column, len(composite["coef"]))
        values = apply_composite(composite, features)
        batch = batch.append_column(
            pa.field(composite["column"], pa.float64()),
            pa.array(values, type=pa.float64(), from_pandas=True),
        )
    return batch


def _calibrated(scorers: Sequence[ScorerSpec]) -> Iterator[tuple[ScorerSpec, CalibrationHook]]:
    """The scorers whose kind offers a calibration hook, with it."""
    for scorer in scorers:
        hook = hooks_of(scorer).calibration
        if hook is not None:
            yield scorer, hook


def _hook_for(key: str, struct_type: pa.DataType) -> CalibrationHook:
    """The calibration hook of the kind whose struct a staged column holds (the stage knows
    a calibrated column by its key and scorer name only)."""
    for name in types_offering("calibration"):
        hook = hooks_named(name).calibration
        if hook is not None and hook.calibrates(struct_type):
            return hook
    raise TypeError(f"column {key!r}: no scorer kind calibrates a column of type {struct_type}")


def _item_pairs(
    human: pl.DataFrame,
    scores: pa.Table,
    id_col: str,
    calibrated: Sequence[tuple[ScorerSpec, CalibrationHook]],
    holdout: float,
) -> pl.DataFrame:
    """(sample_id, name, confidence, human, held_out) for every labelled, scored item."""
    frames = []
    for spec, hook in calibrated:
        frame = pl.from_arrow(scores.select([id_col, spec.key]))
        assert isinstance(frame, pl.DataFrame)
        sample = pl.col(id_col).cast(pl.String).alias("sample_id")
        frames.append(hook.item_confidences(frame.select(sample, spec.key), spec.key, spec.name))
    if not frames:
        return pl.DataFrame(schema={"sample_id": pl.String, "name": pl.String})
    pairs = (
        pl.concat(frames)
        .join(_as_bool(human), on=["sample_id", "name"], how="inner")
        .drop_nulls(["confidence", "human"])
    )
    return pairs.with_columns(held_out=pl.Series(in_holdout(pairs["sample_id"], holdout)))


def _fit_composite(
    spec: CompositeSpec,
    human: pl.DataFrame,
    scores: pa.Table,
    id_col: str,
    calibrated: Sequence[tuple[ScorerSpec, CalibrationHook]],
    holdout: float,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    scorer, hook = next((s, h) for s, h in calibrated if s.key == spec.scorer)
    questions = hook.composite_items(scorer)
    assert questions is not None  # JobSpec checks: a fixed list of items
    n_items = len(questions)
    labels = _as_bool(human.filter(pl.col("name") == spec.label))
    ids = scores[id_col].cast(pa.string()).to_pylist()
    row_of = {sample_id: row for row, sample_id in enumerate(ids)}
    labels = labels.filter(pl.col("sample_id").is_in(list(row_of)))
    rows = np.array([row_of[s] for s in labels["sample_id"]], dtype=np.int64)
    column = scores[spec.scorer].combine_chunks()
    features = (
        hook.composite_features(column, n_items)[rows] if len(rows) else np.empty((0, n_items))
    )
    hand_set = np.array(
        [np.nan if v is None else v for v in column.field(hook.hand_set_field).to_pylist()],
        dtype=float,
    )[rows]
    truth = labels["human"].to_numpy()
    usable = ~np.isnan(features).any(axis=1)
    held_out = in_holdout(labels["sample_id"].to_list(), holdout)
    train = usable & ~held_out
    if train.sum() < MIN_FIT_LABELS or len(set(truth[train])) < 2:
        return None, {"n_fit": int(train.sum()), "skipped": "too few labels to fit"}
    composite = fit_composite(features[train], truth[train]) | {
        "scorer": spec.scorer,
        "label": spec.label,
        "column": spec.column(),
    }
    test = usable & held_out
    predicted = apply_composite(composite, features[test])
    return composite, {
        "n_fit": int(train.sum()),
        "n_holdout": int(test.sum()),
        "composite": _against_label(truth[test], predicted),
        hook.hand_set_field: _against_label(truth[test], hand_set[test]),
        "weights": dict(zip(questions, composite["coef"], strict=True)),
    }


def _against_label(truth: np.ndarray[Any, Any], score: np.ndarray[Any, Any]) -> dict[str, Any]:
    """How well a [0, 1] score predicts a yes/no label: ranking, and as a probability."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    known = ~np.isnan(score)
    truth, score = truth[known], score[known]
    ranks = rank_agreement([float(t) for t in truth], [float(s) for s in score])
    both = len(set(truth)) > 1
    return ranks | {
        "roc_auc": float(roc_auc_score(truth, score)) if both else None,
        "accuracy_at_0_5": float(np.mean((score >= 0.5) == truth)) if len(truth) else None,
        "brier": float(brier_score_loss(truth, score)) if len(truth) else None,
    }


def _before_after(rows: pl.DataFrame, n_fit: int) -> dict[str, Any]:
    """ECE and Brier of held-out rows, raw and calibrated (rows no calibrator covers are
    left out of both)."""
    rows = rows.drop_nans("after").drop_nulls("after")
    return {
        "n_fit": n_fit,
        "n_holdout": rows.height,
        "before": _calibration_error(rows["human"], rows["confidence"]),
        "after": _calibration_error(rows["human"], rows["after"]),
    }


def _calibration_error(human: Any, confidence: Any) -> dict[str, float | None]:
    from sklearn.metrics import brier_score_loss

    labels = np.asarray(human, dtype=float)
    probs = np.asarray(confidence, dtype=float)
    if not len(labels):
        return {"ece": None, "brier": None}
    return {
        "ece": expected_calibration_error(labels, probs),
        "brier": float(brier_score_loss(labels, probs)),
    }


def _as_bool(human: pl.DataFrame) -> pl.DataFrame:
    return human.with_columns(
        pl.col("human").str.strip_chars().str.to_lowercase().is_in(list(TRUE_TEXT))
    )


def read_labelled(
    path: str, filesystem: Any, id_col: str, ids: list[str], columns: list[str]
) -> pa.Table:
    """The staged scores of the labelled samples only: what fitting needs on the driver."""
    return pads.dataset(path, filesystem=filesystem).to_table(
        columns=[id_col, *columns], filter=pads.field(id_col).cast(pa.string()).isin(ids)
    )
