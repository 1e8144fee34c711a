"""Resolve a spec's local paths before the job starts, so every Ray worker sees the same files.

Relative paths are relative to the working directory the job is started from. A judge model
that is neither an existing folder nor a plain `org/name` id is an error here, not in an actor,
and so is a max_model_len the model folder's config does not allow (pipeline.context_checks).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.context_checks import check_judge_context
from pipeline.spec import JobSpec, JudgeSpec
from pipeline.storage.filesystems import is_remote


class ModelNotFound(FileNotFoundError):
    pass


def resolve_spec_paths(spec: JobSpec, base: Path | None = None) -> JobSpec:
    root = base or Path.cwd()

    def local(uri: str) -> str:
        if is_remote(uri):
            return uri
        path = Path(os.path.expanduser(uri.removeprefix("file://")))
        return str(path if path.is_absolute() else (root / path).resolve())

    update: dict[str, object] = {
        "input": spec.input.model_copy(update={"path": local(spec.input.path)}),
        "output": spec.output.model_copy(update={"path": local(spec.output.path)}),
    }
    if spec.annotations is not None and spec.annotations.paths:
        paths = [local(path) for path in spec.annotations.paths]
        update["annotations"] = spec.annotations.model_copy(
            update={"path": paths[0] if isinstance(spec.annotations.path, str) else paths}
        )
    if spec.calibration is not None and spec.calibration.from_ is not None:
        update["calibration"] = spec.calibration.model_copy(
            update={"from_": local(spec.calibration.from_)}
        )

    def judge(spec: JudgeSpec, where: str) -> JudgeSpec:
        if spec.backend != "vllm":
            return spec
        resolved = spec.model_copy(update={"model": resolve_model(spec.model, root)})
        check_judge_context(where, resolved)
        return resolved

    if spec.judge is not None:
        update["judge"] = judge(spec.judge, "judge")
    update["judges"] = {name: judge(j, f"judges.{name}") for name, j in spec.judges.items()}
    return spec.model_copy(update=update)


def resolve_model(model: str, root: Path) -> str:
    candidate = Path(os.path.expanduser(model))
    candidate = candidate if candidate.is_absolute() else root / candidate
    if candidate.is_dir():
        if not (candidate / "config.json").is_file():
            raise ModelNotFound(f"judge.model: {candidate} has no config.json; not a model folder")
        return str(candidate.resolve())
    looks_like_hub_id = model.count("/") == 1 and not model.startswith((".", "/", "~"))
    if looks_like_hub_id:
        return model
    raise ModelNotFound(
        f"judge.model: no model folder at {candidate} (build the demo model with `make model`)"
    )
