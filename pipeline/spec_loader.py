"""Load a job spec from YAML: `!include` snippets, validation errors that name key and file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.spec import JobSpec


class SpecError(ValueError):
    """A job spec that cannot be used; the message names the file and the key."""


def load_spec(path: str | Path) -> JobSpec:
    spec_path = Path(path)
    if not spec_path.is_file():
        raise SpecError(f"{spec_path}: spec file not found")
    try:
        raw = yaml.load(spec_path.read_text(), Loader=_include_loader(spec_path.parent.resolve()))
    except yaml.YAMLError as exc:
        raise SpecError(f"{spec_path}: not valid YAML: {exc}") from exc
    return parse_spec(raw, source=str(spec_path))


def parse_spec(raw: Any, source: str = "<spec>") -> JobSpec:
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
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def _include_loader(root: Path) -> type[yaml.SafeLoader]:
    """A SafeLoader whose `!include path` inlines a file's text, confined to `root`."""

    class IncludeLoader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> str:
        rel = loader.construct_scalar(node)  # type: ignore[arg-type]
        target = (root / str(rel)).resolve()
        if not target.is_relative_to(root):
            raise SpecError(f"!include {rel!r}: outside the spec's folder {root}")
        if not target.is_file():
            raise SpecError(f"!include {rel!r}: file not found ({target})")
        return target.read_text()

    IncludeLoader.add_constructor("!include", include)
    return IncludeLoader
