"""The score pass's (or second pass's) output, before it is committed."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.stages.score_configs import Configs


@dataclass(frozen=True)
class ScoredFolders:
    scores: str  # final parts: the rows
    records: str  # final parts: their score records
    configs: Configs
