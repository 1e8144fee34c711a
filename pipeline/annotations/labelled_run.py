"""What a review label's ANNOTATION record takes from the finished run it labels: the config id
its name falls under (score_configs.json), its scorer's key and purpose (the manifest), the
sample's trace fields (from scores/, read for the labelled samples only) and the run's id; so
a label saved in `rayscore review` is the same record a run writes for the labels it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from pipeline.annotations.names import ScoreNames, with_config_ids
from pipeline.annotations.records import annotation_records, labelled_samples
from pipeline.storage.run_dir import SCORE_CONFIGS, RunDirectory
from scorers.score_config import ScoreConfig

if TYPE_CHECKING:
    from pipeline.results import RunResults

REVIEW = "a review label"  # where a refused label name came from, in the message


@dataclass(frozen=True)
class LabelledRun:
    run_id: str
    id_col: str
    names: ScoreNames
    purposes: Mapping[str, str]  # scorer key -> purpose
    trace: Mapping[str, str]  # trace field -> its column in scores/
    samples: pl.LazyFrame  # scores/

    @classmethod
    def of(cls, results: RunResults, run_dir: RunDirectory) -> LabelledRun:
        manifest = results.manifest
        spec_input = manifest["spec"]["input"]
        return cls(
            run_id=str(manifest["run_id"]),
            id_col=str(spec_input["id_column"]),
            names=read_score_names(run_dir),
            purposes={s["key"]: s.get("purpose") for s in manifest.get("scorers", [])},
            trace={k: v for k, v in (spec_input.get("trace") or {}).items() if v},
            samples=results.samples,
        )

    def records(self, labels: pl.DataFrame, created_at: str) -> pa.Table:
        """RECORD_SCHEMA rows for `labels` (sample_id, name, human, author, comment), one
        each; a name that labels no score of the run is refused (UnknownAnnotationName)."""
        human = with_config_ids(labels, self.names, REVIEW)
        return annotation_records(
            human,
            self.names.configs,
            self.purposes,
            self._samples(human["sample_id"].unique().to_list()),
            self.run_id,
            created_at,
        )

    def _samples(self, ids: list[str]) -> pa.Table:
        dtype = self.samples.collect_schema()[self.id_col]
        # compared in the id column's own type, so the scan skips row groups by their statistics
        wanted = pl.Series(ids, dtype=pl.String).cast(dtype, strict=False)
        columns = list(dict.fromkeys([self.id_col, *self.trace.values()]))
        rows = self.samples.filter(pl.col(self.id_col).is_in(wanted.to_list())).select(columns)
        return labelled_samples(rows.collect().to_arrow(), self.id_col, self.trace, ids)


def read_score_names(run_dir: RunDirectory) -> ScoreNames:
    """The config ids a finished run's score_configs.json lists (none without one)."""
    if not run_dir.fs.exists(run_dir.join(SCORE_CONFIGS)):
        return ScoreNames({})
    return names_from_json(run_dir.read_json(SCORE_CONFIGS))


def names_from_json(configs: Mapping[str, Mapping[str, Any]]) -> ScoreNames:
    """The config ids a finished run's score_configs.json lists."""
    own = ("scorer_key", "field")
    return ScoreNames(
        {
            config_id: (
                str(entry["scorer_key"]),
                entry.get("field"),
                ScoreConfig.model_validate({k: v for k, v in entry.items() if k not in own}),
            )
            for config_id, entry in configs.items()
        }
    )
