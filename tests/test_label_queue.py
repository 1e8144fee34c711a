"""The label queue's allocation (jobs.review.label_queue) on a hand-made run whose confidences
are as skewed as a real judge's: most items near 1, many near 0, a few in between."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from review_runs import QUESTIONS, N, make_run

from jobs.review.label_queue import ALLOCATION_POWER, UNCERTAIN, QueueEntry, label_queue
from jobs.review.review_run import open_review
from pipeline.annotations.labels_store import Label

SIZE = 40
HIGH, LOW = "confidence 0.9–1.0", "confidence 0.0–0.1"


def skewed(n: int, index: int) -> float:
    """7 in 10 items in 0.9–1.0, 2 in 10 in 0.0–0.1, 1 in 10 in one of four middle bins."""
    k = n * len(QUESTIONS) + index
    if k % 10 < 7:
        return 0.9 + (k % 97) / 1000
    if k % 10 < 9:
        return 0.01 + (k % 83) / 1000
    return (k % 8 + 1) / 10 + 0.05


def items_per_bin() -> Counter[str]:
    confidences = [skewed(n, i) for n in range(N) for i in range(len(QUESTIONS))]
    return Counter(
        f"confidence {b / 10}–{(b + 1) / 10}" for b in (int(c * 10) for c in confidences)
    )


def allocation(labels: int) -> dict[str, float]:
    """Each bin's share of `labels` as the queue means it: its items^ALLOCATION_POWER."""
    weights = {why: count**ALLOCATION_POWER for why, count in items_per_bin().items()}
    return {why: labels * w / sum(weights.values()) for why, w in weights.items()}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    make_run(tmp_path / "run", confidence_of=skewed)
    return tmp_path / "run"


def spread_counts(entries: list[QueueEntry]) -> Counter[str]:
    return Counter(e.why for e in entries if e.why != UNCERTAIN)


def test_the_bins_share_the_labels_as_their_items_to_the_two_thirds(run_dir: Path) -> None:
    entries = label_queue(open_review(str(run_dir), author="ana"), size=SIZE)
    assert sum(e.why == UNCERTAIN for e in entries) == SIZE // 10
    spread = spread_counts(entries)
    wanted = allocation(SIZE - SIZE // 10)
    assert set(spread) == set(wanted)  # every bin with items, the sparse middle ones too
    for why, count in spread.items():
        assert abs(count - wanted[why]) <= 1, (why, count, wanted[why])
    high_share = items_per_bin()[HIGH] / (N * len(QUESTIONS))
    assert spread[HIGH] < high_share * sum(spread.values()) - 3  # fewer than proportional
    assert spread[LOW] > 2 * spread["confidence 0.8–0.9"]  # more than an even split


def test_labels_already_given_count_toward_their_bins_share(run_dir: Path) -> None:
    run = open_review(str(run_dir), author="ana")
    before = spread_counts(label_queue(run, size=SIZE))
    high = [e for e in label_queue(run, size=SIZE) if e.why == HIGH][:10]
    run.store.append([Label(e.sample_id, e.name, True) for e in high], "ana")
    after = spread_counts(label_queue(open_review(str(run_dir), author="ana"), size=SIZE))
    wanted = allocation(len(high) + SIZE - SIZE // 10)
    assert abs(len(high) + after[HIGH] - wanted[HIGH]) <= 1
    assert after[HIGH] < before[HIGH] - 4 and after[LOW] > before[LOW]
    assert all(after[why] >= before[why] for why in before if why != HIGH)


def test_the_queue_is_the_same_on_every_request(run_dir: Path) -> None:
    run = open_review(str(run_dir), author="ana")
    assert label_queue(run, size=SIZE) == label_queue(run, size=SIZE)
