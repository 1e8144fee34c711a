"""Which score an annotation names: its config id in score_configs.json.

Annotations are named as score records are ("correctness", "quality.pass_rate"); a checklist
item's name ("quality.item_2") maps to its scorer's item config ("quality.item"). A label the
spec declares without it being a score (calibration.composite's overall label) gets a config
of its own. Any other name is refused, never dropped: at load, before Ray starts (the names in
an annotations file are read from its `name` column alone), and again once the scorers have
run, for the fields that only a scorer's own code decides (python_all_samples).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from pipeline.annotations.labels import AnnotationsSpec, annotation_sources
from pipeline.calibration import CalibrationSpec
from pipeline.score_records import ConfigEntry, RunConfigs, configs_by_id
from pipeline.spec import JobSpec
from scorers.score_config import ScoreConfig
from scorers.scorer_spec import ScorerSpec

ITEM_NAME = re.compile(r"\.item_\d+$")  # a checklist item's record name -> its config id
ITEM_CONFIG = ".item"
SHOWN = 40  # names listed in a refusal at most


class UnknownAnnotationName(ValueError):
    """An annotation names no score; the message lists the names that exist."""


@dataclass(frozen=True)
class ScoreNames:
    """The config ids annotations may name, and the record-name prefixes ("py.") of scorers
    whose fields are known only when they have run."""

    configs: Mapping[str, ConfigEntry]
    open_prefixes: tuple[str, ...] = ()

    def config_id(self, name: str) -> str | None:
        """The config id `name` falls under; None when it names no score (yet)."""
        if name in self.configs:
            return name
        item = ITEM_NAME.sub(ITEM_CONFIG, name)
        if item != name and item in self.configs:
            return item
        return None

    def unknown(self, names: Iterable[str]) -> list[str]:
        return sorted(
            {n for n in names if self.config_id(n) is None and not n.startswith(self.open_prefixes)}
        )

    def listing(self) -> str:
        shown = [
            f"{name.removesuffix(ITEM_CONFIG)}.item_<index>" if field == "item_scores" else name
            for name, (_, field, _) in self.configs.items()
        ]
        shown += [f"{prefix}<field> (decided by its code)" for prefix in self.open_prefixes]
        more = f" ... ({len(shown) - SHOWN} more)" if len(shown) > SHOWN else ""
        return ", ".join(shown[:SHOWN]) + more


def declared_labels(calibration: CalibrationSpec | None) -> dict[str, ConfigEntry]:
    """Names the spec declares for human labels that need not be scores, with their config."""
    composite = calibration.composite if calibration is not None else None
    if composite is None:
        return {}
    config = ScoreConfig(
        data_type="BOOLEAN",
        description=(
            f"human label that calibration.composite weighs {composite.scorer}'s item "
            "confidences to predict"
        ),
    )
    return {composite.label: (composite.scorer, None, config)}


def names_at_load(scorers: Sequence[ScorerSpec], calibration: CalibrationSpec | None) -> ScoreNames:
    """What the spec alone says: the config ids of every scorer whose output type it knows."""
    known = [s for s in scorers if s.output_type() is not None]
    configs: RunConfigs = {s.key: s.field_configs(s.output_type()) for s in known}
    open_prefixes = tuple(f"{s.name}." for s in scorers if s.output_type() is None)
    return ScoreNames(configs_by_id(known, configs, declared_labels(calibration)), open_prefixes)


def names_after_scoring(
    scorers: Sequence[ScorerSpec], configs: RunConfigs, calibration: CalibrationSpec | None
) -> ScoreNames:
    """The run's score configs, as score_configs.json lists them."""
    return ScoreNames(configs_by_id(scorers, configs, declared_labels(calibration)))


def label_configs(names: Iterable[str], known: ScoreNames) -> dict[str, ScoreConfig]:
    """Each label name's score config; a name of no score is left out."""
    configs = {}
    for name in names:
        config_id = known.config_id(name)
        if config_id is not None:
            configs[name] = known.configs[config_id][2]
    return configs


def judged_names(labelled: Iterable[str]) -> list[str]:
    """The judge's record names that agreement with labels of these names reads: each score's
    own, and a boolean scorer's sibling confidence ("<name>.confidence")."""
    names = list(labelled)
    return [*names, *(f"{name}.confidence" for name in names)]


def refuse_unknown(names: Iterable[str], known: ScoreNames, source: str) -> None:
    unknown = known.unknown(names)
    if unknown:
        raise UnknownAnnotationName(
            f"annotations: {source} names no score: {unknown}; an annotation names a score "
            f"record, and the score names are: {known.listing()}"
        )


def check_annotation_names(spec: JobSpec) -> None:
    """At load: every annotation name names a score (or a declared label). An annotations
    file's names are read from its `name` column."""
    annotations = spec.annotations
    if annotations is None:
        return
    sources = annotation_sources(annotations, spec.input.id_column, spec.input.storage_options)
    known = names_at_load(spec.definition.scorers, spec.calibration)
    for source, names in sources.items():
        refuse_unknown(names, known, source)


def source_of(annotations: AnnotationsSpec) -> str:
    sources = [f"the file {path!r}" for path in annotations.paths]
    return " or ".join([*sources, *(["annotations.columns"] if annotations.columns else [])])


def with_config_ids(human: pl.DataFrame, known: ScoreNames, source: str) -> pl.DataFrame:
    """The labels with the config id of their name (`config_id`); refused if one has none."""
    names = human["name"].unique().to_list()
    refuse_unknown(names, known, source)
    ids = {name: known.config_id(name) for name in names}
    return human.with_columns(
        pl.col("name").replace_strict(ids, return_dtype=pl.String).alias("config_id")
    )
