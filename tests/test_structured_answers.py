"""Reading generated JSON answers back, with confidences at the answer tokens (no engine)."""

import json
import math

import pytest

from scorers.checklist.checklist_input import SampleInput
from scorers.checklist.spec import ChecklistItem
from scorers.checklist.structured import (
    batch_request,
    item_reasoned_requests,
    read_answers,
)
from scorers.judge.generation import Generated, answer_confidences, value_prefix_token_ids
from scorers.templates import prompt_template

YES_IDS, NO_IDS = (1, 2, 3), (4, 5)  # "y", "ye", "yes" / "n", "no"


def generated(
    pieces: list[str], answer_logprobs: dict[int, dict[int, float]], finished=True
) -> Generated:
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece)
    steps = tuple(answer_logprobs.get(i, {}) for i in range(len(pieces)))
    return Generated(
        text="".join(pieces),
        token_ids=tuple(range(len(pieces))),
        token_starts=tuple(starts),
        step_logprobs=steps,
        value_ids=(YES_IDS, NO_IDS),
        finished=finished,
    )


def test_prefix_tokens_of_each_answer_value_are_found():
    vocab = {"y": 1, "ye": 2, "yes": 3, "n": 4, "no": 5, "Ġyes": 6, "not": 7, '"y': 8}
    decoded = {1: "y", 2: "ye", 3: "yes", 4: "n", 5: "no", 6: " yes", 7: "not", 8: '"y'}
    assert value_prefix_token_ids(vocab, decoded.__getitem__, ("yes", "no")) == ((1, 2, 3), (4, 5))


BATCH_PIECES = [
    '{"answers": [{"question_index": 1, "answer": "',
    "y",
    'es"}, ',
    '{"question_index": 2, "answer": "',
    "no",
    '"}]}',
]


def test_batch_answers_map_to_items_in_order_with_their_confidences():
    pieces = BATCH_PIECES
    lp = {
        1: {1: math.log(0.6), 3: math.log(0.2), 4: math.log(0.1), 5: math.log(0.1)},
        4: {3: math.log(0.1), 5: math.log(0.9)},
    }
    items = read_answers(generated(pieces, lp), 2)
    assert [i.answer for i in items] == ["yes", "no"]
    assert items[0].confidence == pytest.approx(0.8)  # 0.6 + 0.2 over 1.0
    assert items[1].confidence == pytest.approx(0.1)


def test_reasoning_is_kept_and_an_unfinished_answer_is_a_clear_error():
    pieces = ['{"reasoning": "it is right", "answer": "', "yes", '"}']
    item = read_answers(generated(pieces, {1: {3: 0.0, 5: -3.0}}), 1)[0]
    assert item.reasoning == "it is right" and item.answer == "yes"
    cut = read_answers(generated(['{"reasoning": "it is'], {}, finished=False), 1)[0]
    assert cut.answer is None and "stopped at its token budget" in cut.error


def test_an_answer_token_that_does_not_start_at_the_value_has_no_confidence():
    pieces = ['{"reasoning": "x", "answer": ', '"y', 'es"}']
    assert answer_confidences(generated(pieces, {}))[0].probs is None


def test_requests_fix_question_indices_and_bound_reasoning():
    sample = SampleInput(
        "What?", "That.", (ChecklistItem(question="A?"), ChecklistItem(question="B?"))
    )
    batch = batch_request(sample, prompt_template("batch"), reasoning=True, max_chars=50)
    assert "Q1: A?\nQ2: B?" in batch.prompt
    assert '"question_index": 1' in batch.regex and '"question_index": 2' in batch.regex
    assert "{0,50}" in batch.regex and batch.max_tokens >= 2 * 50
    items = item_reasoned_requests(sample, prompt_template("item_reasoned"), max_chars=40)
    assert len(items) == 2 and all(r.prompt.endswith('"answer": "yes"}\n') for r in items)


def checklist_scorer(**extra):
    from scorers.checklist.scorer import ChecklistScorer
    from scorers.checklist.spec import ChecklistScorerSpec

    return ChecklistScorer(
        ChecklistScorerSpec(
            type="checklist",
            key="c",
            target_column="response",
            checklist=[{"question": "A?"}, {"question": "B?"}],
            **extra,
        )
    )


# the judge wrote "yes" to item 1 although P(yes) was only 0.3 there, and "no" to item 2
BATCH_LOGPROBS = {
    1: {1: math.log(0.3), 4: math.log(0.7)},
    4: {3: math.log(0.2), 5: math.log(0.8)},
}


def test_a_generated_answer_is_stored_as_written_with_its_confidence_beside_it():
    import pyarrow as pa

    scorer = checklist_scorer(mode="batch")
    prepared = scorer.prepare(pa.table({"response": ["It is."]}))
    row = scorer.finish(prepared, [generated(BATCH_PIECES, BATCH_LOGPROBS)]).scores.to_pylist()[0]
    items = row["item_scores"]
    assert [i["answer"] for i in items] == ["yes", "no"]
    assert items[0]["confidence"] == pytest.approx(0.3)  # below 0.6, and not used to overturn
    assert items[0]["confidence_level"] == "no_30"
    assert row["pass_rate"] == 0.5


def test_use_logprobs_false_asks_for_text_answers_and_keeps_no_confidence():
    import pyarrow as pa

    scorer = checklist_scorer(use_logprobs=False)
    prepared = scorer.prepare(pa.table({"response": ["It is."]}))
    assert not prepared.prompts and len(prepared.generation) == 2
    assert all('"answer": "(yes|no)"' in r.regex for r in prepared.generation)
    answers = [
        generated(['{"answer": "', "yes", '"}'], {1: {3: 0.0, 5: -2.0}}),
        generated(['{"answer": "', "no", '"}'], {1: {3: -2.0, 5: 0.0}}),
    ]
    row = scorer.finish(prepared, answers).scores.to_pylist()[0]
    assert [i["answer"] for i in row["item_scores"]] == ["yes", "no"]
    assert [i["confidence"] for i in row["item_scores"]] == [None, None]
    assert row["normalized_score"] == row["pass_rate"] == 0.5


def test_normalized_primary_metric_needs_log_probs():
    with pytest.raises(ValueError, match="needs use_logprobs"):
        checklist_scorer(use_logprobs=False, primary_metric="normalized")


def test_answers_out_of_question_order_keep_their_own_confidences():
    pieces = [
        '{"answers": [{"question_index": 2, "answer": "',
        "no",
        '"}, {"question_index": 1, "answer": "',
        "yes",
        '"}]}',
    ]
    steps = {1: {5: math.log(0.97), 3: math.log(0.03)}, 3: {3: math.log(0.8), 5: math.log(0.2)}}
    first, second = read_answers(generated(pieces, steps), 2)
    assert (first.answer, second.answer) == ("yes", "no")
    assert (first.confidence, second.confidence) == pytest.approx((0.8, 0.03))


@pytest.mark.parametrize(
    "indices", [(1, "2"), (1, None), (1, 1), (True, 2), (1, 3)], ids=lambda i: repr(i)
)
def test_question_indices_that_are_not_1_to_n_are_an_error_in_the_row(indices):
    answers = [{"question_index": i, "answer": "yes"} for i in indices]
    text = json.dumps({"answers": answers})
    items = read_answers(generated([text], {}), 2)
    assert all(item.answer is None and "question_index" in item.error for item in items)
