"""Label sets a log-prob judge reads, and every token of the vocabulary that spells each label.

A label's probability is the sum over all tokens that decode to one of its surface forms,
whatever surrounding whitespace ("Yes", " Yes", "\nyes", ...), read at the answer position
whatever their rank. A vocabulary can hold several tokens for one spelling (a merged " Yes"
and an added " Yes"): the model may emit either, so both count. Encoding candidate strings
would find only one of them; reading a top-k list and matching strings can invert the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MAX_LABEL_TOKENS = 128  # vLLM's bound on SamplingParams.logprob_token_ids


@dataclass(frozen=True)
class LabelSet:
    labels: tuple[str, ...]
    surface_forms: tuple[tuple[str, ...], ...]


YES_NO = LabelSet(
    labels=("yes", "no"),
    surface_forms=(("Yes", "yes", "YES"), ("No", "no", "NO")),
)


def label_token_ids(
    vocab: Mapping[str, int], decode: Callable[[int], str], label_set: LabelSet
) -> tuple[tuple[int, ...], ...]:
    """Ids of every vocabulary token that decodes to a label's surface form, per label.

    `vocab` maps raw token strings to ids (a tokenizer's get_vocab()); only tokens whose raw
    string contains a form are decoded. Raises ValueError when a label has no token.
    """
    per_label: list[tuple[int, ...]] = []
    for label, forms in zip(label_set.labels, label_set.surface_forms, strict=True):
        needles = {f.lower() for f in forms}
        ids = sorted(
            token_id
            for raw, token_id in vocab.items()
            if any(n in raw.lower() for n in needles) and decode(token_id).strip() in forms
        )
        if not ids:
            raise ValueError(f"label {label!r}: no token in this vocabulary decodes to {forms}")
        per_label.append(tuple(ids))
    return checked_label_ids(per_label)


def checked_label_ids(per_label: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The token ids per label as tuples; ValueError when there are more than the engine reads."""
    total = sum(len(ids) for ids in per_label)
    if total > MAX_LABEL_TOKENS:
        raise ValueError(f"{total} label tokens; the engine reads at most {MAX_LABEL_TOKENS}")
    return tuple(tuple(ids) for ids in per_label)
