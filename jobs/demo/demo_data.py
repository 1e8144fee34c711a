"""Build the example dataset: a few hundred prompt/response rows from two "models".

Rows are realistic in shape: factual, arithmetic and how-to prompts; correct, wrong, terse,
off-topic and duplicated responses, each with the correct one as its `reference`; a per-row
checklist; a human verdict (is the response correct?); a couple of rows with a missing
response (they come out with an error in their own row, and the job goes on). For the demo
checklist (jobs.demo.checklist_task) every row carries the true answers (`true_item_<n>`) and
part of the rows human labels (`human_item_<n>`): the truth with some answers flipped, as real
annotators make mistakes.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.demo.checklist_task import QUESTIONS, true_answers

CAPITALS = {
    "France": ("Paris", "Lyon"),
    "Japan": ("Tokyo", "Osaka"),
    "Canada": ("Ottawa", "Toronto"),
    "Australia": ("Canberra", "Sydney"),
    "Brazil": ("Brasilia", "Rio de Janeiro"),
    "Kenya": ("Nairobi", "Mombasa"),
    "Spain": ("Madrid", "Barcelona"),
    "Turkey": ("Ankara", "Istanbul"),
}
HOWTO = {
    "boil an egg": (
        "Place the egg in boiling water for 9 minutes, then cool it in cold water.",
        "Put the egg in the microwave for ten minutes on full power.",
    ),
    "reverse a list in Python": (
        "Use my_list.reverse() to reverse in place, or my_list[::-1] for a reversed copy.",
        "Python lists cannot be reversed; convert them to a string first.",
    ),
    "convert Celsius to Fahrenheit": (
        "Multiply the Celsius value by 9/5 and add 32.",
        "Add 100 to the Celsius value.",
    ),
}
LABELLED_SHARE = 0.6  # rows a human labelled
LABEL_NOISE = 0.1  # chance that a human label is the wrong answer
OFF_TOPIC = "I love talking about the weather. It has been sunny all week here."
HISTORY = "user: Hi, I have a quick question.\nassistant: Sure, go ahead."
ROW_CHECKLIST = [
    {"question": "Does the response answer the question that was asked?", "weight": 100.0},
    {"question": "Is the response free of factual errors?", "weight": 60.0},
    {"question": "Is the response concise?", "weight": 20.0},
]


def draw_samples(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """(prompt, response, kind) triples; kind says how the response was made."""
    for prompt, response, kind, _ in draw_samples_with_references(rng):
        yield prompt, response, kind


def draw_samples_with_references(rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """(prompt, response, kind, reference): the reference is the correct response."""
    while True:
        topic = rng.choice(["capital", "sum", "howto"])
        if topic == "capital":
            country, (right, wrong) = rng.choice(sorted(CAPITALS.items()))
            prompt = f"What is the capital of {country}?"
            answers = {
                "correct": f"The capital of {country} is {right}.",
                "wrong": f"The capital of {country} is {wrong}.",
                "terse": right,
            }
        elif topic == "sum":
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            prompt = f"What is {a} + {b}?"
            answers = {
                "correct": f"{a} + {b} = {a + b}.",
                "wrong": f"{a} + {b} = {a + b + rng.choice([-10, -1, 1, 10])}.",
                "terse": str(a + b),
            }
        else:
            task, (right, wrong) = rng.choice(sorted(HOWTO.items()))
            prompt = f"How do I {task}?"
            answers = {"correct": right, "wrong": wrong, "terse": right.split(",")[0] + "."}
        kind = rng.choices(["correct", "wrong", "terse", "off_topic"], [5, 3, 2, 1])[0]
        yield prompt, answers.get(kind, OFF_TOPIC), kind, answers["correct"]


def demo_rows(n_rows: int = 300, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    annotator = random.Random(seed + 1)
    rows: list[dict[str, Any]] = []
    samples = draw_samples_with_references(rng)
    for i, (prompt, response, kind, reference) in zip(range(n_rows), samples, strict=False):
        checklist = ROW_CHECKLIST[: rng.choice([2, 3])]
        history = rng.choice([None, HISTORY])
        rows.append(
            {
                "id": f"s{i:05d}",
                "model": rng.choice(["model-a", "model-b"]),
                "prompt": prompt,
                "response": response,
                "response_kind": kind,
                "reference": reference,
                "human_verdict": kind == "correct",
                "checklist": checklist,
                "history": history,
                **_labels(response, kind, annotator),
            }
        )
    if n_rows >= 20:
        for broken in (10, 17):
            rows[broken] |= {"response": None} | _labels(None, "", annotator)
    return rows


def _labels(response: str | None, kind: str, annotator: random.Random) -> dict[str, Any]:
    """true_item_<n> for every row, human_item_<n> (noisy) for some; null without a response."""
    truth: list[bool | None] = (
        [None] * len(QUESTIONS) if response is None else list(true_answers(response, kind))
    )
    labelled = response is not None and annotator.random() < LABELLED_SHARE
    human = [
        None if not labelled or t is None else t != (annotator.random() < LABEL_NOISE)
        for t in truth
    ]
    return {f"true_item_{n}": t for n, t in enumerate(truth)} | {
        f"human_item_{n}": h for n, h in enumerate(human)
    }


def demo_corpus_text() -> Iterator[str]:
    for row in demo_rows():
        yield f"{row['prompt']}\n{row['response'] or ''}"
        for item in row["checklist"]:
            yield item["question"]
    for question in QUESTIONS:
        yield question.question


CHECKLIST_TYPE = pa.list_(pa.struct([("question", pa.string()), ("weight", pa.float64())]))
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("model", pa.string()),
        ("prompt", pa.string()),
        ("response", pa.string()),
        ("response_kind", pa.string()),
        ("reference", pa.string()),
        ("human_verdict", pa.bool_()),
        ("checklist", CHECKLIST_TYPE),
        ("history", pa.string()),
        *((f"true_item_{n}", pa.bool_()) for n in range(len(QUESTIONS))),
        *((f"human_item_{n}", pa.bool_()) for n in range(len(QUESTIONS))),
    ]
)


def write_demo_data(path: str | Path, n_rows: int = 300, seed: int = 7) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(demo_rows(n_rows, seed), schema=SCHEMA)
    pq.write_table(table, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default="data/demo.parquet")
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args()
    print(f"{args.rows} demo rows written to {write_demo_data(args.path, args.rows)}")


if __name__ == "__main__":
    main()
