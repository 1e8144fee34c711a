"""A snippet scorer's metadata (the python-batch-scorer seed): an entry may be
{"scores": {...}, "metadata": {...}}, and the metadata "is stored alongside scores but not
aggregated into metrics". Kinds whose snippets return such entries list METADATA_FIELD among
the fields metrics may not use (ScorerSpec.fields_metrics_may_not_use), so a metric over it
is refused at load.
"""

from __future__ import annotations

METADATA_FIELD = "metadata"
METADATA_NOT_AGGREGATED = "metadata is stored alongside scores but not aggregated into metrics"


def metadata_not_aggregated() -> dict[str, str]:
    """The snippet kinds' answer to ScorerSpec.fields_metrics_may_not_use."""
    return {METADATA_FIELD: METADATA_NOT_AGGREGATED}
