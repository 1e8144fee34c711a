"""Online scoring: a job spec's judged scorers as a Ray Serve application.

`POST /score` takes `{"rows": [{column: value, ...}, ...]}` and answers `{"rows": [{<scorer
key>: {...}, ..., "error": null}, ...]}` in request order, each struct as in the batch job's
scores/. The ingress reads and checks the rows (pipeline.serve.rows), sends the good ones to
every judge's deployment (pipeline.serve.judge) at once, and joins their columns back. A
request with bad rows is answered 422, naming each row and field, and still carries the good
rows' scores. `GET /schema` is the JSON schema of a request, `GET /healthz` each judge's
counts.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.deployment import Application
from ray.serve.handle import DeploymentHandle

from pipeline.calibration import load_stored
from pipeline.plan import Plan
from pipeline.serve.judge import JudgeGroup, JudgeReplica
from pipeline.serve.rows import RequestError, RequestReader, RowProblem
from pipeline.spec import JobSpec
from pipeline.stages.score_pass import BATCHES_IN_FLIGHT
from scorers.judge.result import PROMPT_TOO_LONG
from scorers.registry import hooks_of
from scorers.usage import ERROR_COLUMN

APP_NAME = "rayscore"

api = FastAPI(title="rayscore", description="Score rows with a job spec's judged scorers.")


def _tokens(match: re.Match[str]) -> int:
    return int(match["tokens"])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: such a score is null, as unscored."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# Defined after what its routes call: serve.ingress copies the routes when the class is made.
@serve.ingress(api)
class ScoreIngress:
    """Reads requests, sends their good rows to every judge's deployment at once, and answers
    with each row's `columns` (the scorers' structs, a calibration's composite) and `error`."""

    def __init__(
        self,
        reader: RequestReader,
        judges: Mapping[str, DeploymentHandle],
        columns: Sequence[str],
        scorer_columns: Mapping[str, Sequence[str]],
    ) -> None:
        self.reader = reader
        self.judges = dict(judges)
        self.columns = list(columns)
        self.scorer_columns = {k: list(v) for k, v in scorer_columns.items()}
        # where each scorer's part of a row's error starts: "<key>: ..."
        keys = "|".join(re.escape(k) for k in sorted(self.scorer_columns, key=len, reverse=True))
        self.scorer_error = re.compile(f"(?:^|; )({keys}): ")

    @api.post("/score")
    async def score(self, request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return _error(400, f"the body is not JSON ({exc})")
        try:
            read = self.reader.read(body)
        except RequestError as exc:
            return _error(exc.status, exc.message)
        try:
            scored = await self._scored(read.table) if read.rows else []
        except Exception as exc:  # a judge replica failed the batch: no row is scored
            return _error(503, f"the judge failed this request, try again ({exc})")
        rows: list[dict[str, Any]] = [{} for _ in range(read.count)]
        problems = list(read.problems)
        for problem in read.problems:
            rows[problem.row] = {**dict.fromkeys(self.columns), ERROR_COLUMN: problem.text()}
        for position, row in zip(read.rows, scored, strict=True):
            rows[position] = row
            problems.extend(self._too_long(position, row, body["rows"][position]))
        if not problems:
            return JSONResponse({"rows": _json_safe(rows)})
        problems.sort(key=lambda p: p.row)
        return JSONResponse(
            {
                "detail": "; ".join(p.text() for p in problems),
                "problems": [p.as_json() for p in problems],
                "rows": _json_safe(rows),
            },
            status_code=422,
        )

    @api.get("/schema")
    def schema(self) -> dict[str, Any]:
        return self.reader.schema()

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        names = list(self.judges)
        counts = await asyncio.gather(*(self.judges[n].stats.remote() for n in names))
        judges = dict(zip(names, counts, strict=True))
        return {"status": "ok", "scorers": list(self.scorer_columns), "judges": judges}

    async def _scored(self, table: pa.Table) -> list[dict[str, Any]]:
        """Per row, every judge's columns in response order and the errors joined."""
        outputs = await asyncio.gather(*(h.score.remote(table) for h in self.judges.values()))
        values: dict[str, list[Any]] = {}
        errors: list[list[str]] = [[] for _ in range(table.num_rows)]
        for out in outputs:
            for name in out.column_names:
                if name != ERROR_COLUMN:
                    values[name] = out[name].to_pylist()
            for row, error in enumerate(out[ERROR_COLUMN].to_pylist()):
                if error:
                    errors[row].append(error)
        return [
            {
                **{name: values[name][row] for name in self.columns},
                ERROR_COLUMN: "; ".join(errors[row]) or None,
            }
            for row in range(table.num_rows)
        ]

    def _too_long(
        self, position: int, scored: Mapping[str, Any], given: Mapping[str, Any]
    ) -> list[RowProblem]:
        """A prompt over the judge's max_model_len is the request's fault: name the longest
        column the scorer reads."""
        problems = []
        error = scored.get(ERROR_COLUMN) or ""
        segments = self.scorer_error.split(error)  # ['', key, its errors, key, ...]
        for key, errors in zip(segments[1::2], segments[2::2], strict=True):
            longest = max(PROMPT_TOO_LONG.finditer(errors), key=_tokens, default=None)
            if longest is None:
                continue
            columns = self.scorer_columns[key]
            field = max(columns, key=lambda c: len(str(given.get(c, ""))))
            problems.append(
                RowProblem(
                    position,
                    field,
                    f"the prompt of scorer {key!r} has {longest['tokens']} tokens, over the "
                    f"judge's max_model_len {longest['limit']}; shorten {', '.join(columns)}",
                )
            )
        return problems


@dataclass(frozen=True)
class ServePlan:
    """The application to deploy, and what the user should know before it starts."""

    app: Application
    warnings: list[str]


def serve_plan(
    plan: Plan, *, max_rows: int, batch_wait_s: float, env: Mapping[str, str]
) -> ServePlan:
    """Everything checked before Ray starts: the spec serves judged scorers, a stored
    calibration is readable."""
    spec = plan.spec
    judged = plan.judged
    if not judged:
        raise ValueError(
            "definition.scorers: no judged scorer to serve; cross-sample scorers need the whole "
            "corpus and run in `rayscore run` only"
        )
    warnings = []
    skipped = [s.key for s in plan.cross_sample]
    if skipped:
        warnings.append(
            f"cross-sample scorers {skipped} are not served (they need the whole corpus); "
            f"serving {[s.key for s in judged]}"
        )
    per_row = [s.key for s in plan.per_row]
    if per_row:
        warnings.append(f"per-row scorers {per_row} are not served yet (`rayscore run` only)")
    calibration = _stored_calibration(spec, warnings)
    judges: dict[str, Application] = {}
    for name, scorers in plan.judge_groups.items():
        judge = plan.judges[name]
        calibrated = {s.key: s.name for s in scorers if hooks_of(s).calibration is not None}
        group = JudgeGroup(
            name,
            judge,
            scorers,
            calibration=_calibration_for(calibration, calibrated),
            calibrated=calibrated,
        )
        max_batch_rows = max(judge.batch_size, max_rows)
        deployment = serve.deployment(JudgeReplica).options(
            name=f"judge-{name}",
            num_replicas=judge.concurrency,
            ray_actor_options={**judge.actor_options(), "runtime_env": {"env_vars": dict(env)}},
            # a batch can be one row per request: let that many wait, for each batch in flight
            max_ongoing_requests=max_batch_rows * BATCHES_IN_FLIGHT[judge.backend],
        )
        judges[name] = deployment.bind(group, max_batch_rows, batch_wait_s)
    ingress = serve.deployment(ScoreIngress).options(
        name="ingress", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1024
    )
    composite = (calibration or {}).get("composite")
    app = ingress.bind(
        RequestReader(plan.judged_column_requirements(), max_rows),
        judges,
        [s.key for s in judged] + ([composite["column"]] if composite else []),
        {s.key: s.column_names() for s in judged},
    )
    return ServePlan(app, warnings)


def _stored_calibration(spec: JobSpec, warnings: list[str]) -> dict[str, Any] | None:
    if spec.calibration is None:
        return None
    if spec.calibration.from_ is None:
        warnings.append(
            "calibration is fitted by `rayscore run`; served confidences are uncalibrated "
            "(set calibration.from to a finished run to serve its calibration)"
        )
        return None
    return load_stored(spec.calibration.from_, spec.output.storage_options)


def _calibration_for(
    calibration: Mapping[str, Any] | None, calibrated: Mapping[str, str]
) -> dict[str, Any] | None:
    """The calibration a judge's replicas apply: the composite only where its scorer is."""
    if calibration is None or not calibrated:
        return None
    composite = calibration.get("composite")
    if composite and composite["scorer"] not in calibrated:
        composite = None
    return {**calibration, "composite": composite}
