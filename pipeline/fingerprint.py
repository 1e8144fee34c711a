"""What a run is, for deciding whether an unfinished run may be resumed: the spec (without
where it writes and how many engines it uses), the judge models' files, the prompt
templates and the package versions. Resuming with a different fingerprint is refused with
the list of what changed."""

from __future__ import annotations

import hashlib
from typing import Any

from pipeline.manifest import model_fingerprint, package_versions
from pipeline.spec import JobSpec

# Judge settings that change how fast a run goes, never what it scores.
OPERATIONAL = ("concurrency", "num_cpus", "num_gpus", "batch_size", "max_concurrency",
               "max_retries", "timeout_s", "price_per_hour")  # fmt: skip


def run_fingerprint(spec: JobSpec) -> dict[str, Any]:
    dumped = spec.model_dump(mode="json")
    dumped["output"] = {k: v for k, v in dumped["output"].items() if k != "path"}
    for judge in [dumped.get("judge"), *(dumped.get("judges") or {}).values()]:
        for knob in OPERATIONAL:
            if judge is not None:
                judge.pop(knob, None)
    templates = {
        scorer.key: hashlib.sha256(text.encode()).hexdigest()
        for scorer in spec.judged_scorers()
        if (text := scorer.prompt_text()) is not None
    }
    return {
        "spec": dumped,
        "models": {name: model_fingerprint(j.model) for name, j in spec.all_judges().items()},
        "templates": templates,
        "versions": package_versions(),
    }


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two fingerprints differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [
            path
            for key in keys
            for path in changed_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        ]
    return [] if old == new else [prefix.rstrip(".")]
