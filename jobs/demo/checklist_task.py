"""The demo's checklist task: questions whose true answers follow from the response itself.

Each question has its own rule, one a small model can learn (a fixed kind of mistake, a
format, a length), so the demo judge is trained on it and its answers can be checked. The
rules are the ground truth; the demo's human labels are this truth with annotator noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskQuestion:
    question: str
    weight: float
    truth: Callable[[str, str], bool]  # (response, how the response was made) -> answer


QUESTIONS = (
    TaskQuestion(
        "Does the response answer the question that was asked?",
        100.0,
        lambda response, kind: kind != "off_topic",
    ),
    TaskQuestion(
        "Is the response free of factual errors?", 60.0, lambda response, kind: kind != "wrong"
    ),
    TaskQuestion(
        "Is the response a complete sentence ending with a period?",
        20.0,
        lambda response, kind: response.rstrip().endswith("."),
    ),
    TaskQuestion(
        "Is the response under ten words long?",
        20.0,
        lambda response, kind: len(response.split()) < 10,
    ),
)


def true_answers(response: str, kind: str) -> list[bool]:
    """The correct yes/no answer to every question, in order."""
    return [q.truth(response, kind) for q in QUESTIONS]
