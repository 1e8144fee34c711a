"""How a warm judge actor is named: from its judge's fingerprint, so a run finds the actors
that answer as its own judge would by name alone."""

from __future__ import annotations

from collections.abc import Iterable

NAMESPACE = "rayscore"
PREFIX = "judge-"
FINGERPRINT_CHARS = 16


def actor_name(fingerprint: str, slot: int) -> str:
    """`judge-<fingerprint[:16]>-<slot>`: one name per judge actor slot."""
    return f"{PREFIX}{fingerprint[:FINGERPRINT_CHARS]}-{slot}"


def is_warm_judge(name: str) -> bool:
    return name.startswith(PREFIX)


def names_for(fingerprint: str, names: Iterable[str]) -> list[str]:
    """The warm judge names among `names` that belong to `fingerprint`, by slot."""
    start = f"{PREFIX}{fingerprint[:FINGERPRINT_CHARS]}-"
    found = [n for n in names if n.startswith(start) and n[len(start) :].isdigit()]
    return sorted(found, key=lambda n: int(n[len(start) :]))
