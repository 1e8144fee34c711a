"""`rayscore plan --probe N`: N sampled rows scored through the real job path on the spec's
own judges (one `rayscore run` of a derived job into a temporary folder, never the spec's
output.path), and what its manifest measured: requests, tokens, each judge's engine start and
judging time. Its judged scorers only, without metrics, annotations or calibration."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.plan import Plan
from pipeline.runner import run_job
from pipeline.spec import JobSpec


@dataclass(frozen=True)
class Probe:
    rows: int
    manifest: dict[str, Any]

    @property
    def requests(self) -> int:
        return int(self.manifest["judge"]["requests"])

    @property
    def wall_s(self) -> float:
        return float(self.manifest["timings_s"]["wall"])

    @property
    def score_s(self) -> float:
        return float(self.manifest["timings_s"]["score"])

    def judge_timings(self, name: str) -> dict[str, float]:
        """engine_start_s and judging_s of the judge's actors (pipeline.manifest); empty
        when no actor of the judge finished a call."""
        return dict(self.manifest["judge"]["timings_s"].get(name, {}))


def run_probe(plan: Plan, rows: pa.Table, ray_address: str | None = None) -> Probe:
    with tempfile.TemporaryDirectory(prefix="rayscore-plan-") as tmp:
        input_path = str(Path(tmp, "rows.parquet"))
        pq.write_table(rows, input_path)
        result = run_job(
            probe_spec(plan, input_path, str(Path(tmp, "run"))), ray_address=ray_address
        )
    return Probe(rows.num_rows, result.manifest)


def probe_spec(plan: Plan, input_path: str, output_path: str) -> JobSpec:
    """The job the probe runs: the spec's judges and judged scorers over the sampled rows."""
    spec = plan.spec
    return JobSpec.model_validate(
        {
            "name": f"{spec.name}-plan-probe",
            "input": {"path": input_path, "id_column": spec.input.id_column},
            "output": {"path": output_path},
            "judge": spec.judge,
            "judges": spec.judges,
            "definition": {
                "scorers": [{**s.model_dump(mode="json"), "metrics": []} for s in plan.judged]
            },
        }
    )
