"""What a run's written parts depend on, for deciding whether an unfinished run may be
resumed: the input files (name, size, modification time), the columns kept, the settings of
the scorers whose outputs the parts hold (judged and per-row), the judges they use (model
files, engine settings), their prompt templates and the package versions. A one-pass run's
parts are final (records, config checks, cross-sample results, metric partials), so for it
the whole definition and the trace mapping count too; in a two-pass run what the second pass
does (metrics, score configs, display names, cross-sample scorers) may change between
attempts. How fast the judges go (concurrency, CPUs, GPUs, batch size, retries) may always
change. Resuming with a different fingerprint is refused with the list of what changed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.judge_fingerprint import judge_settings
from pipeline.manifest import model_fingerprint, package_versions
from pipeline.plan import Plan
from pipeline.source import InputSource
from pipeline.stages.pass_layout import layout_of

# Scorer settings used only after the judge stage.
LATER = {"metrics", "score_configs", "display_name", "purpose"}


def run_fingerprint(plan: Plan, source: InputSource) -> dict[str, Any]:
    """As JSON holds it (tuples as lists), so it compares equal to the stored one."""
    stored: dict[str, Any] = json.loads(json.dumps(_fingerprint(plan, source)))
    return stored


def _fingerprint(plan: Plan, source: InputSource) -> dict[str, Any]:
    spec = plan.spec
    infos = source.filesystem.get_file_info(list(source.files))
    judges = {name: judge_settings(judge) for name, judge in plan.used_judges.items()}
    return {
        "input": {info.path: {"size": info.size, "mtime": str(info.mtime)} for info in infos},
        "columns": {"id": spec.input.id_column, "kept": plan.kept_columns},
        "scorers": {s.key: s.model_dump(mode="json", exclude=LATER) for s in plan.data_pass},
        "judges": judges,
        "models": {name: model_fingerprint(j.model) for name, j in plan.used_judges.items()},
        "templates": {
            s.key: hashlib.sha256(text.encode()).hexdigest()
            for s in plan.judged
            if (text := s.prompt_text()) is not None
        },
        "versions": package_versions(),
        **_final_in_parts(plan, source),
    }


def _final_in_parts(plan: Plan, source: InputSource) -> dict[str, Any]:
    """What a one-pass run writes into its parts beyond the scorers' own outputs."""
    spec = plan.spec
    if layout_of(plan, source.schema.names).second_pass:
        return {}
    return {
        "finished_in_parts": {
            "definition": spec.definition.model_dump(mode="json"),
            "trace": spec.input.trace.mapping(),
        }
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
