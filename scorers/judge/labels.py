"""Label sets a log-prob judge reads, and the tokenizer's spellings of each label.

A label's probability is the sum over all its single-token spellings ("Yes", " Yes", "yes",
...), read at the answer position whatever their rank. Reading only the top-k list and
matching strings keeps one spelling per label and can invert the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelSet:
    labels: tuple[str, ...]
    surface_forms: tuple[tuple[str, ...], ...]

    def spellings(self, index: int) -> list[str]:
        forms = self.surface_forms[index]
        return list(dict.fromkeys([*forms, *(" " + f for f in forms)]))


YES_NO = LabelSet(
    labels=("yes", "no"),
    surface_forms=(("Yes", "yes", "YES"), ("No", "no", "NO")),
)


def label_token_ids(
    encode: Callable[[str], Sequence[int]], label_set: LabelSet
) -> tuple[tuple[int, ...], ...]:
    """Token ids of every single-token spelling, per label.

    Raises ValueError when a label has no single-token spelling or two labels share a token.
    """
    owner: dict[int, str] = {}
    per_label: list[tuple[int, ...]] = []
    for index, label in enumerate(label_set.labels):
        ids: list[int] = []
        for spelling in label_set.spellings(index):
            encoded = list(encode(spelling))
            if len(encoded) != 1:
                continue
            token = encoded[0]
            if owner.setdefault(token, label) != label:
                raise ValueError(
                    f"token {token} spells both {owner[token]!r} and {label!r} in this tokenizer"
                )
            if token not in ids:
                ids.append(token)
        if not ids:
            raise ValueError(
                f"label {label!r} has no single-token spelling in this tokenizer "
                f"(tried {label_set.spellings(index)})"
            )
        per_label.append(tuple(ids))
    return tuple(per_label)
