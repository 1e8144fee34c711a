import math

import pytest

from scorers.judge.labels import YES_NO, LabelSet, label_token_ids
from scorers.judge.result import result_from_logprobs

# raw token string -> id, as get_vocab() gives it; byte-level BPE writes a space as "Ġ".
VOCAB = {
    "Yes": 1,
    "ĠYes": 2,
    "yes": 3,
    "No": 4,
    "ĠNo": 5,
    "NO": 6,
    "Ġyes": 7,
    "Yesterday": 8,
    "Ġnot": 9,
    " Yes": 10,
    "Ċno": 11,
}
DECODED = {
    1: "Yes",
    2: " Yes",
    3: "yes",
    4: "No",
    5: " No",
    6: "NO",
    7: " yes",
    8: "Yesterday",
    9: " not",
    10: " Yes",
    11: "\nno",
}


def test_every_token_that_spells_a_label_is_found_even_duplicates():
    yes, no = label_token_ids(VOCAB, DECODED.__getitem__, YES_NO)
    assert yes == (1, 2, 3, 7, 10)  # 2 and 10 both decode to " Yes"
    assert no == (4, 5, 6, 11)


def test_a_label_no_token_spells_is_an_error():
    with pytest.raises(ValueError, match="label 'maybe': no token"):
        label_token_ids(
            VOCAB, DECODED.__getitem__, LabelSet(("yes", "maybe"), (("Yes",), ("Maybe",)))
        )


def test_all_spellings_count_not_just_the_top_ranked_one():
    # Measured on the small model (CPU-NOTES): " No" -0.006, " Yes" -5.57, "Yes" -6.32, "No" -13.6.
    result = result_from_logprobs([[-6.32, -5.57], [-13.6, -0.006]])
    p_yes = math.exp(-6.32) + math.exp(-5.57)
    p_no = math.exp(-13.6) + math.exp(-0.006)
    assert result.probs is not None
    assert result.probs[0] == pytest.approx(p_yes / (p_yes + p_no))
    assert result.probs[0] == pytest.approx(0.0056, abs=1e-4)
    assert result.label_mass == pytest.approx(p_yes + p_no)


def test_tiny_probabilities_do_not_underflow_to_an_error():
    result = result_from_logprobs([[-900.0], [-901.0]])
    assert result.probs is not None
    assert result.probs[0] == pytest.approx(1 / (1 + math.exp(-1)))


def test_zero_probability_for_every_label_is_unscored_not_no():
    result = result_from_logprobs([[-math.inf], [-math.inf]])
    assert result.probs is None and "probability 0" in (result.error or "")
