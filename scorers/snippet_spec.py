"""What the Python scorer kinds' specs share: a snippet that defines one function, and the
`config` its `<< config.x >>` references read (the job's `config` is the default per key)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from scorers.scorer_spec import ScorerSpec
from scorers.snippet import check_defines, substitute_config
from scorers.snippet_metadata import metadata_not_aggregated


class SnippetScorerSpec(ScorerSpec):
    """A kind whose scores a user's snippet computes: its shape is checked at load (never run
    there), and an unknown config key fails at load too."""

    FUNCTION: ClassVar[str]  # the function the snippet must define, e.g. "compute_scores"

    config: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Values for << config.x >> in the snippet; the job's `config` is the default for "
            "each key."
        ),
    )

    def snippet(self) -> str:
        """The snippet as the spec gives it (`<FUNCTION>_snippet`), before substitution."""
        return str(getattr(self, f"{self.FUNCTION}_snippet"))

    def check_kind(self) -> None:
        check_defines(self.code(), self.FUNCTION, self.snippet_name())

    def code(self) -> str:
        return substitute_config(self.snippet(), self.config)

    def snippet_name(self) -> str:
        """The file name tracebacks and errors give the snippet."""
        return f"<{self.key}.{self.FUNCTION}_snippet>"

    def fields_metrics_may_not_use(self) -> dict[str, str]:
        return metadata_not_aggregated()
