import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorers.checklist.formulas import (
    aggregate_items,
    answer_from_confidence,
    confidence_from_probs,
    confidence_level,
)

unit = st.floats(min_value=0, max_value=1, allow_nan=False)
weight = st.floats(min_value=0, max_value=100, allow_nan=False)
items = st.lists(st.tuples(unit, weight), min_size=1, max_size=30)


@pytest.mark.parametrize(
    ("confidence", "level", "answer"),
    [
        (0.0, "no_10", "no"),
        (0.1999, "no_10", "no"),
        (0.2, "no_30", "no"),
        (0.3999, "no_30", "no"),
        (0.4, "unsure", "no"),
        (0.5999, "unsure", "no"),
        (0.6, "yes_70", "yes"),
        (0.7999, "yes_70", "yes"),
        (0.8, "yes_90", "yes"),
        (1.0, "yes_90", "yes"),
    ],
)
def test_confidence_levels_follow_the_seed_table(confidence, level, answer):
    assert confidence_level(confidence) == level
    assert answer_from_confidence(confidence) == answer


def test_confidence_is_p_yes_over_p_yes_plus_p_no():
    assert confidence_from_probs(0.3, 0.1) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="positive"):
        confidence_from_probs(0.0, 0.0)


@given(items, st.sampled_from(["pass", "weighted", "normalized"]))
def test_aggregates_match_the_seed_formulas(pairs, primary):
    confidences = [c for c, _ in pairs]
    weights = [w for _, w in pairs]
    answers = [answer_from_confidence(c) == "yes" for c in confidences]
    score = aggregate_items(answers, weights, confidences, primary)

    assert score.pass_rate == pytest.approx(sum(answers) / len(answers))
    assert score.scaled_score_1_5 == pytest.approx(score.pass_rate * 4 + 1)
    assert 1.0 <= score.scaled_score_1_5 <= 5.0
    assert score.normalized_score == pytest.approx(sum(confidences) / len(confidences))
    if sum(weights) > 0:
        expected = sum(w * a for w, a in zip(weights, answers, strict=True)) / sum(weights)
        assert score.weighted_score == pytest.approx(expected)
    else:
        assert score.weighted_score is None
    aliased = {
        "pass": score.pass_rate,
        "weighted": score.weighted_score,
        "normalized": score.normalized_score,
    }
    assert score.primary_score == aliased[primary]


@given(st.lists(st.booleans(), min_size=1, max_size=20))
def test_equal_weights_make_weighted_equal_pass_rate(answers):
    score = aggregate_items(answers, [50.0] * len(answers), [None] * len(answers), "pass")
    assert score.weighted_score == pytest.approx(score.pass_rate)
    # without log-probs the normalized score falls back to the pass rate (seed)
    assert score.normalized_score == score.pass_rate


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="one weight and confidence per answer"):
        aggregate_items([True], [1.0, 2.0], [0.5], "pass")
    assert math.isclose(aggregate_items([True], [0.0], [0.9], "pass").pass_rate, 1.0)


def test_normalized_score_averages_the_confidences_there_are():
    score = aggregate_items([True, False, True], [100.0] * 3, [0.9, None, 0.7], "normalized")
    assert score.normalized_score == pytest.approx(0.8)
    assert score.primary_score == pytest.approx(0.8)
    none = aggregate_items([True, False], [100.0] * 2, [None, None], "normalized")
    assert none.normalized_score == none.pass_rate == 0.5
