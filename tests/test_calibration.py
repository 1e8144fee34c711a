"""Calibrators and composites: the stored JSON predicts what scikit-learn's fitted models do,
the holdout split depends on the id alone, and Arrow structs get calibrated items."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from pipeline.spec_loader import SpecError, parse_spec
from scorers.calibration import (
    apply_calibrator,
    apply_composite,
    fit_calibrator,
    fit_composite,
    in_holdout,
)
from scorers.checklist.calibrated import item_confidences, with_calibrated_items
from scorers.checklist.fields import SCORE_TYPE


def noisy_labels(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0, 1, n)
    return confidence, rng.uniform(0, 1, n) < confidence**2


def test_isotonic_json_predicts_as_sklearn_does():
    x, y = noisy_labels(300)
    stored = fit_calibrator(x, y, "isotonic")
    reference = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(x, y)
    probe = np.linspace(-0.1, 1.1, 57)
    np.testing.assert_allclose(apply_calibrator(stored, probe), reference.predict(probe))


def test_platt_json_predicts_as_sklearn_does():
    x, y = noisy_labels(300, seed=1)
    stored = fit_calibrator(x, y, "platt")
    logit = np.log(x / (1 - x)).reshape(-1, 1)
    reference = LogisticRegression().fit(logit, y.astype(int))
    np.testing.assert_allclose(apply_calibrator(stored, x), reference.predict_proba(logit)[:, 1])
    assert np.isnan(apply_calibrator(stored, np.array([np.nan])))[0]


def test_composite_json_predicts_as_sklearn_does():
    rng = np.random.default_rng(2)
    features = rng.uniform(0, 1, (200, 3))
    labels = features @ np.array([2.0, -1.0, 0.5]) + rng.normal(0, 0.3, 200) > 0.7
    stored = fit_composite(features, labels)
    reference = LogisticRegression().fit(features, labels.astype(int))
    np.testing.assert_allclose(
        apply_composite(stored, features), reference.predict_proba(features)[:, 1]
    )
    features[0, 1] = np.nan
    assert np.isnan(apply_composite(stored, features)[0])


def test_the_holdout_split_depends_on_the_id_alone():
    ids = [f"s{i:05d}" for i in range(4000)]
    held = in_holdout(ids, 0.3)
    assert 0.27 < held.mean() < 0.33
    assert (in_holdout(list(reversed(ids)), 0.3) == held[::-1]).all()
    assert (in_holdout(ids[:10], 0.3) == held[:10]).all()


def item(index: int, confidence: float | None) -> dict:
    return {
        "index": index,
        "question": f"q{index}",
        "weight": 1.0,
        "answer": None if confidence is None else "yes",
        "confidence": confidence,
        "calibrated_confidence": None,
        "confidence_level": None,
        "reasoning": None,
        "unscored_reason": None,
    }


SCORES = pa.array(
    [
        {"primary_score": 0.5, "item_scores": [item(0, 0.2), item(1, 0.9)]},
        None,
        {"unscored_reason": "no response", "item_scores": None},
        {"primary_score": 0.7, "item_scores": [item(0, 0.7), item(1, None)]},
    ],
    type=SCORE_TYPE,
)
HALVES = {"method": "isotonic", "x": [0.0, 1.0], "y": [0.0, 0.5]}


def test_items_get_their_own_calibrator_else_the_scorers():
    own = with_calibrated_items(SCORES, "q", {"q.item_0": HALVES}).to_pylist()
    assert [i["calibrated_confidence"] for i in own[0]["item_scores"]] == [0.1, None]
    pooled = with_calibrated_items(SCORES.slice(2), "q", {"q": HALVES}).to_pylist()
    assert pooled[0]["unscored_reason"] == "no response"
    assert [i["calibrated_confidence"] for i in pooled[1]["item_scores"]] == [0.35, None]
    assert [i["confidence"] for i in pooled[1]["item_scores"]] == [0.7, None]
    assert own[1] is None


def test_item_confidences_line_up_by_index():
    matrix = item_confidences(SCORES, 2)
    np.testing.assert_array_equal(matrix[0], [0.2, 0.9])
    assert np.isnan(matrix[1:3]).all()
    assert matrix[3][0] == 0.7 and np.isnan(matrix[3][1])


BASE = {
    "name": "c",
    "input": {"path": "in.parquet", "id_column": "id"},
    "output": {"path": "out"},
    "judge": {"model": "m"},
    "definition": {
        "scorers": [
            {
                "type": "checklist",
                "key": "quality",
                "input_column": "prompt",
                "target_column": "response",
                "checklist": [{"question": "Is it right?"}],
            }
        ]
    },
}


@pytest.mark.parametrize(
    ("calibration", "annotations", "message"),
    [
        ({"method": "isotonic"}, None, "fitting needs an `annotations` section"),
        ({"holdout": 1.5}, {"columns": {"quality.item_0": "h"}}, "holdout"),
        (
            {"composite": {"scorer": "nope", "label": "x"}},
            {"columns": {"quality.item_0": "h"}},
            "'nope' is not a checklist scorer",
        ),
    ],
)
def test_calibration_mistakes_are_named(calibration, annotations, message):
    spec = {**BASE, "calibration": calibration}
    if annotations:
        spec["annotations"] = annotations
    with pytest.raises((SpecError, ValueError), match=message):
        parse_spec(spec)


def test_applying_a_stored_calibration_needs_no_annotations():
    spec = parse_spec({**BASE, "calibration": {"from": "runs/demo"}})
    assert spec.calibration is not None and spec.calibration.from_ == "runs/demo"
