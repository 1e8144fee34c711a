"""Online scoring's request: `{"rows": [{column: value, ...}, ...]}` read into an Arrow table.

A row must hold every column the spec's judged scorers read, with values of the kind they
read (the batch job's input check, row by row). A bad row is reported with its index and
column; the good rows of the same request are still scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from pipeline.plan import ColumnNeed
from scorers.columns import KIND_NEEDS, ColumnKind, accepts

# The JSON value a column of each kind takes; a column several scorers read takes the first
# (most specific) of its kinds in this order.
# null is a value of every kind: the row is then unscored with a reason, as in the batch job.
KIND_VALUES: dict[ColumnKind, Any] = {
    "text": StrictStr | None,
    "number": StrictInt | StrictFloat | None,
    "items": list[Any] | None,
    "text_or_list": StrictStr | list[Any] | None,
    "label": StrictStr | StrictInt | StrictFloat | StrictBool | None,
    "any": Any,
}
# The type of a column whose values in a request are all null.
NULL_AS: dict[ColumnKind, pa.DataType] = {
    "text": pa.string(),
    "number": pa.float64(),
    "items": pa.list_(pa.string()),
    "text_or_list": pa.string(),
    "label": pa.string(),
    "any": pa.null(),
}


class RequestError(ValueError):
    """The request as a whole cannot be read: HTTP `status`, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    message: str

    def text(self) -> str:
        where = f"rows[{self.row}]" + (f".{self.field}" if self.field else "")
        return f"{where}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class ReadRows:
    """The rows that can be scored (`table`, at positions `rows` of the request) and the
    problems of the others."""

    table: pa.Table
    rows: list[int]
    problems: list[RowProblem]
    count: int


class RequestReader:
    """Reads requests for the columns in `needs` (JobSpec.judged_column_requirements)."""

    def __init__(self, needs: Mapping[str, ColumnNeed], max_rows: int) -> None:
        self.needs = dict(needs)
        self.max_rows = max_rows
        fields: dict[str, Any] = {
            column: (
                Annotated[KIND_VALUES[_kind(need)], Field(description=_describe(need))],
                ...,
            )
            for column, need in self.needs.items()
        }
        self.row_model: type[BaseModel] = create_model(
            "Row", __config__=ConfigDict(extra="allow"), **fields
        )

    def schema(self) -> dict[str, Any]:
        """The JSON schema of a request body."""
        rows: Any = Annotated[
            list[self.row_model],  # type: ignore[name-defined]
            Field(min_length=1, max_length=self.max_rows),
        ]
        request = create_model(
            "ScoreRequest", __config__=ConfigDict(extra="forbid"), rows=(rows, ...)
        )
        return request.model_json_schema()

    def read(self, body: Any) -> ReadRows:
        rows = _rows_of(body, self.max_rows)
        problems = [p for index, row in enumerate(rows) for p in self.row_problems(index, row)]
        bad = {p.row for p in problems}
        good = [index for index in range(len(rows)) if index not in bad]
        try:
            table = self._table([rows[i] for i in good])
        except (pa.ArrowException, TypeError, ValueError):  # rows disagree on a column's type
            for column in self.needs:
                good, odd = _one_shape(rows, good, column)
                problems.extend(odd)
            problems.sort(key=lambda p: p.row)
            table = self._table([rows[i] for i in good])
        return ReadRows(table, good, problems, len(rows))

    def _table(self, rows: list[dict[str, Any]]) -> pa.Table:
        columns = {}
        for column, need in self.needs.items():
            values = pa.array([row[column] for row in rows])
            if pa.types.is_null(values.type):
                values = values.cast(NULL_AS[_kind(need)])
            columns[column] = values
        return pa.table(columns)

    def row_problems(self, index: int, row: Any) -> list[RowProblem]:
        if not isinstance(row, dict):
            return [RowProblem(index, "", f"must be an object of column values, not {row!r:.60}")]
        try:
            self.row_model.model_validate(row)
        except ValidationError as exc:
            first: dict[str, RowProblem] = {}  # a union type reports each of its members
            for error in exc.errors():
                problem = self._problem(index, error)
                first.setdefault(problem.field, problem)
            return list(first.values())
        problems = []
        for column, need in self.needs.items():
            try:
                dtype = pa.array([row[column]]).type
            except (pa.ArrowException, TypeError, ValueError) as exc:
                problems.append(RowProblem(index, column, f"cannot be read as a column ({exc})"))
                continue
            for kind in sorted(need.kinds):
                if not accepts(kind, dtype) and not pa.types.is_null(dtype):
                    problems.append(RowProblem(index, column, _wrong(dtype, kind, need)))
        return problems

    def _problem(self, index: int, error: Mapping[str, Any]) -> RowProblem:
        location = [str(part) for part in error["loc"]]
        column = location[0] if location else ""
        need = self.needs.get(column)
        if error["type"] == "missing" and need is not None:
            return RowProblem(index, column, f"missing; {', '.join(need.wanted_by)} reads it")
        if need is not None:
            return RowProblem(
                index, column, f"{error['msg']}; {_describe(need)} (got {error['input']!r:.60})"
            )
        return RowProblem(index, ".".join(location), str(error["msg"]))


def _rows_of(body: Any, max_rows: int) -> Sequence[Any]:
    if not isinstance(body, dict) or "rows" not in body:
        raise RequestError(400, 'the body must be a JSON object {"rows": [{...}, ...]}')
    extra = sorted(set(body) - {"rows"})
    if extra:
        raise RequestError(400, f"unknown key(s) {extra}; the body holds only 'rows'")
    rows = body["rows"]
    if not isinstance(rows, list):
        raise RequestError(400, f"rows: must be a list of row objects, not {type(rows).__name__}")
    if not rows:
        raise RequestError(400, "rows: empty; send at least one row")
    if len(rows) > max_rows:
        raise RequestError(
            413,
            f"rows: {len(rows)} rows; at most {max_rows} per request "
            "(rayscore serve --max-rows); send them in several requests",
        )
    return rows


def _one_shape(
    rows: Sequence[Any], good: list[int], column: str
) -> tuple[list[int], list[RowProblem]]:
    """The rows whose `column` values make one Arrow column, and a problem for each other
    row: its values' type is not the one most rows give (a list of texts beside a list of
    objects, say)."""
    try:
        pa.array([rows[i][column] for i in good])
        return good, []
    except (pa.ArrowException, TypeError, ValueError):
        pass
    types = {i: pa.array([rows[i][column]]).type for i in good}
    counts: dict[pa.DataType, int] = {}
    for dtype in types.values():
        if not pa.types.is_null(dtype):
            counts[dtype] = counts.get(dtype, 0) + 1
    common = max(counts, key=lambda t: counts[t])  # the first of the most common
    first = next(i for i in good if types[i] == common)
    kept = [i for i in good if types[i] == common or pa.types.is_null(types[i])]
    odd = [
        RowProblem(
            i,
            column,
            f"is {types[i]} but {common} in rows[{first}]; the rows of one request give a "
            "column one shape: send this row in another request",
        )
        for i in good
        if i not in kept
    ]
    return kept, odd


def _kind(need: ColumnNeed) -> ColumnKind:
    order: list[ColumnKind] = list(KIND_VALUES)
    return min(need.kinds, key=order.index)


def _describe(need: ColumnNeed) -> str:
    wanted = ", ".join(need.wanted_by)
    return f"{wanted} needs {' and '.join(KIND_NEEDS[k] for k in sorted(need.kinds))}"


def _wrong(dtype: pa.DataType, kind: ColumnKind, need: ColumnNeed) -> str:
    return f"is {dtype}; {', '.join(need.wanted_by)} needs {KIND_NEEDS[kind]}"
