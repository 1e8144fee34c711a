"""Agreement statistics on small hand-made tables, against values worked out by hand and
against scikit-learn and scipy called directly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr
from sklearn.metrics import brier_score_loss, cohen_kappa_score

from scorers.agreement import binary_agreement, expected_calibration_error, rank_agreement

HUMAN = [True, True, False, False, True, None, False, True]
JUDGE = [True, False, False, True, True, True, False, True]
CONF = [0.9, 0.4, 0.2, 0.7, 0.8, 0.5, 0.1, None]


def test_binary_agreement_equals_hand_worked_values():
    got = binary_agreement(HUMAN, JUDGE, CONF)
    # pairs (row 5 has no human label): TP=3 (rows 0, 4, 7), FN=1 (row 1), FP=1 (row 3), TN=2
    assert (got["n"], got["skipped"]) == (7, 1)
    assert got["accuracy"] == pytest.approx(5 / 7)
    assert got["precision"] == pytest.approx(3 / 4)
    assert got["recall"] == pytest.approx(3 / 4)
    assert got["f1"] == pytest.approx(3 / 4)
    # kappa: p_o = 5/7, p_e = (4/7)(4/7) + (3/7)(3/7) = 25/49
    assert got["cohen_kappa"] == pytest.approx((5 / 7 - 25 / 49) / (1 - 25 / 49))
    truth = [True, True, False, False, True, False, True]
    said = [True, False, False, True, True, False, True]
    assert got["cohen_kappa"] == pytest.approx(cohen_kappa_score(truth, said))


def test_brier_and_ece_of_the_confidences():
    got = binary_agreement(HUMAN, JUDGE, CONF)
    labels = np.array([1, 1, 0, 0, 1, 0], dtype=float)  # the pairs with a confidence
    probs = np.array([0.9, 0.4, 0.2, 0.7, 0.8, 0.1])
    assert got["brier"] == pytest.approx(brier_score_loss(labels, probs))
    # one pair per bin: ECE = mean |label - confidence| = (0.1+0.6+0.2+0.7+0.2+0.1)/6
    assert got["ece"] == pytest.approx((0.1 + 0.6 + 0.2 + 0.7 + 0.2 + 0.1) / 6)


def test_ece_of_a_perfectly_calibrated_bin_is_zero_and_one_is_in_the_last_bin():
    labels = np.array([1, 0, 1, 0, 1.0])
    probs = np.array([0.55, 0.55, 0.55, 0.55, 1.0])
    # bin 5: mean label 0.5 vs 0.55; bin 9 (1.0): label 1 vs 1.0
    assert expected_calibration_error(labels, probs) == pytest.approx(0.8 * 0.05)


def test_rank_agreement_equals_scipy():
    human = [1.0, 2.0, 3.0, 4.0, 5.0, None]
    judge = [1.5, 1.0, 3.5, 4.5, 4.0, 2.0]
    got = rank_agreement(human, judge)
    assert got["n"] == 5 and got["skipped"] == 1
    assert got["spearman"] == pytest.approx(spearmanr(human[:5], judge[:5]).statistic)
    assert got["kendall"] == pytest.approx(kendalltau(human[:5], judge[:5]).statistic)
    assert got["spearman"] == pytest.approx(0.8)  # d^2 = 1+1+0+1+1 -> 1 - 6*4/120


def test_nothing_to_compare_gives_nulls_not_zeros():
    assert binary_agreement([None], [True])["accuracy"] is None
    assert binary_agreement([True, True], [True, True])["cohen_kappa"] is None  # one class
    assert rank_agreement([1.0], [2.0])["spearman"] is None
