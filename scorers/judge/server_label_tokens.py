"""Label token ids from a vLLM server's /tokenize and /detokenize, when no tokenizer is local.

The server does not list its vocabulary, so each surface form is tokenized with the usual
leading whitespace; a spelling that is a single token is kept when it decodes back to the
form. This finds one token per spelling: a second token with the same text (an added
" Yes" next to a merged one) is missed. Load the tokenizer locally to read them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scorers.judge.labels import LabelSet, checked_label_ids

PREFIXES = ("", " ", "\n", "\n\n", "\t", "  ")

Post = Callable[[str, dict[str, Any]], Any]  # (path at the server root, JSON body) -> JSON


def server_label_token_ids(
    post: Post, model: str, label_set: LabelSet
) -> tuple[tuple[int, ...], ...]:
    per_label: list[tuple[int, ...]] = []
    for label, forms in zip(label_set.labels, label_set.surface_forms, strict=True):
        ids: set[int] = set()
        for text in (prefix + form for form in forms for prefix in PREFIXES):
            body = {"model": model, "prompt": text, "add_special_tokens": False}
            tokens = post("/tokenize", body)["tokens"]
            if len(tokens) != 1 or tokens[0] in ids:
                continue
            decoded = post("/detokenize", {"model": model, "tokens": tokens})["prompt"]
            if decoded.strip() in forms:
                ids.add(int(tokens[0]))
        if not ids:
            raise ValueError(f"label {label!r}: the server has no single token for {forms}")
        per_label.append(tuple(sorted(ids)))
    return checked_label_ids(per_label)
