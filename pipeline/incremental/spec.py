"""The job spec's `incremental` section: which earlier run's judgments may be reused."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from scorers.strict_model import StrictModel


class IncrementalSpec(StrictModel):
    model_config = ConfigDict(**StrictModel.model_config, serialize_by_alias=True)

    from_: str = Field(
        alias="from",
        min_length=1,
        description="A finished run directory (fsspec URI) whose judgments are reused where "
        "a request is the same (same judge, labels and prompt); it is only read. Everything "
        "else is judged again.",
    )
    storage_options: dict[str, Any] | None = Field(
        default=None,
        description="fsspec options for the earlier run; by default output.storage_options.",
    )


SpecT = TypeVar("SpecT", bound=BaseModel)


def with_incremental_from(spec: SpecT, run: str | None) -> SpecT:
    """The job spec with incremental.from set to `run` (`rayscore run --from`), its
    storage_options kept; unchanged without `run`."""
    if run is None:
        return spec
    current = getattr(spec, "incremental", None)
    options = current.storage_options if current is not None else None
    section = IncrementalSpec.model_validate({"from": run, "storage_options": options})
    return spec.model_copy(update={"incremental": section})
