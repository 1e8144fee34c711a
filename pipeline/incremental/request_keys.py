"""The key of a judge request: what decides its answer, hashed. Two requests with the same key
get the same answer from a deterministic judge, so an earlier run's judgment may stand for it.

The rendered prompt holds the row's columns, the template and the question, so an edited row,
an edited or new question and a changed template all give new keys; the judge's fingerprint
(pipeline.judge_fingerprint) and the label set cover the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pyarrow as pa

from scorers.judge.labels import LabelSet

KEY_BYTES = 16
KEY_TYPE = pa.binary(KEY_BYTES)


def request_keys(fingerprint: str, label_set: LabelSet, prompts: Sequence[str]) -> pa.Array:
    """One key per prompt: sha256 of the judge, the label set and the prompt, cut to 16 bytes.
    The shared part is hashed once; each prompt then costs one hash update, as building it did."""
    shared = hashlib.sha256()
    shared.update(_framed(fingerprint))
    shared.update(_framed(json.dumps([label_set.labels, label_set.surface_forms])))
    keys = []
    for prompt in prompts:
        digest = shared.copy()
        digest.update(prompt.encode())
        keys.append(digest.digest()[:KEY_BYTES])
    return pa.array(keys, KEY_TYPE)


def _framed(text: str) -> bytes:
    """`text` with its length in front, so no two splits of one byte string hash alike."""
    data = text.encode()
    return len(data).to_bytes(8, "big") + data
