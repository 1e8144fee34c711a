"""Load a job spec from YAML: `!include` snippets, validation errors that name key and file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.annotations.labels import listed_paths
from pipeline.spec import JobSpec


class SpecError(ValueError):
    """A job spec that cannot be used; the message names the file and the key."""


def load_spec(
    path: str | Path, output: str | None = None, annotations: str | None = None
) -> JobSpec:
    """The job spec in `path`; with `output`, its output.path replaced (`--output`: one spec,
    a run directory per night), and with `annotations`, its annotations read from that path
    instead (`--annotations RUN/annotations`: the labels given in `rayscore review`), before
    the spec is checked."""
    spec_path = Path(path)
    if not spec_path.is_file():
        raise SpecError(f"{spec_path}: spec file not found")
    text = _read_text(spec_path, spec_path)
    try:
        raw = yaml.load(text, Loader=_include_loader(spec_path))
    except yaml.YAMLError as exc:
        raise SpecError(f"{spec_path}: not valid YAML{_yaml_problem(exc)}") from None
    if output is not None and isinstance(raw, dict):
        raw["output"] = {**(raw.get("output") or {}), "path": output}
    if annotations is not None and isinstance(raw, dict):
        raw["annotations"] = with_labels_from(raw.get("annotations"), annotations)
    return parse_spec(raw, source=str(spec_path))


def with_labels_from(annotations: Any, path: str) -> dict[str, Any]:
    """The spec's `annotations:` with the labels at `path` read beside its own."""
    given = dict(annotations) if isinstance(annotations, dict) else {}
    listed = listed_paths(given.get("path"))
    return {**given, "path": [*listed, path] if listed else path}


def _read_text(path: Path, what: Path | str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{what}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise SpecError(f"{what}: cannot read ({exc.strerror or exc})") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """' at line N, column M: what went wrong (while ... at line K)', lines counted from 1."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return f": {exc}"
    mark = exc.problem_mark
    message = f" at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    if exc.context:
        where = exc.context_mark
        if where is not None and where.line != mark.line:
            return f"{message} ({exc.context} started at line {where.line + 1})"
        return f"{message} ({exc.context})"
    return message


def parse_spec(raw: Any, source: str = "<spec>") -> JobSpec:
    if raw is None:
        raise SpecError(f"{source}: the spec is empty; a job spec is a mapping")
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: a job spec is a mapping, got {type(raw).__name__}")
    try:
        return JobSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{source}: invalid job spec\n{format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (not part of the spec format)"
        elif err["type"] in ("literal_error", "enum") and isinstance(err.get("input"), str):
            message = f"{message}; got {err['input']!r}"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def _include_loader(spec_path: Path) -> type[yaml.SafeLoader]:
    """A SafeLoader whose `!include path` inlines a file's text, confined to the spec's folder."""
    root = spec_path.parent.resolve()

    class IncludeLoader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> str:
        rel = loader.construct_scalar(node)  # type: ignore[arg-type]
        where = f"{spec_path}: line {node.start_mark.line + 1}: !include {rel!r}"
        target = (root / str(rel)).resolve()
        if not target.is_relative_to(root):
            raise SpecError(f"{where}: outside the spec's folder {root}")
        if not target.is_file():
            raise SpecError(f"{where}: file not found ({target})")
        return _read_text(target, where)

    IncludeLoader.add_constructor("!include", include)
    return IncludeLoader
