"""The review web app (FastAPI, Jinja2 pages, a little script): samples, one sample, the label
queue, the overview, and the endpoint that saves labels. Every route is behind the access
token."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from jobs.review.access import require_token
from jobs.review.judge_disagreement import has_several_judges
from jobs.review.label_queue import LabelQueue
from jobs.review.next_run import calibrates, recalibrate_command
from jobs.review.overview import overview
from jobs.review.review_run import CHANGED, ReviewRun
from jobs.review.sample_view import NoSuchSample, label_target, sample_view
from jobs.review.samples_query import BadQuery, SamplesQuery, samples_page
from pipeline.annotations.labels_store import Label
from pipeline.annotations.names import UnknownAnnotationName

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
QUEUE_SIZE = 50
# Who labels, per browser: `?author=NAME` on any page, kept in a cookie; else --author. Several
# reviewers sharing one server (--host) each keep their own labels.
AUTHOR_PARAM = "author"
AUTHOR_COOKIE = "rayscore_review_author"


class LabelIn(BaseModel):
    name: str
    value: bool


class LabelsIn(BaseModel):
    sample_id: str
    labels: list[LabelIn] = Field(min_length=1)
    comment: str | None = None


def create_app(run: ReviewRun, token: str) -> FastAPI:
    app = FastAPI(title="rayscore review", docs_url=None, redoc_url=None, openapi_url=None)
    require_token(app, token)
    labelling_queue = LabelQueue(run, QUEUE_SIZE)

    def reviewer(request: Request) -> str:
        given = request.query_params.get(AUTHOR_PARAM) or request.cookies.get(AUTHOR_COOKIE)
        return given.strip() if given and given.strip() else run.author

    def page(request: Request, template: str, **context: Any) -> HTMLResponse:
        author = reviewer(request)
        context |= {"run": run, "author": author}
        response = TEMPLATES.TemplateResponse(request, template, context)
        if request.query_params.get(AUTHOR_PARAM):
            response.set_cookie(AUTHOR_COOKIE, author, httponly=True, samesite="strict")
        return response

    @app.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/samples", status_code=303)

    @app.get("/samples", response_class=HTMLResponse)
    def samples(request: Request) -> HTMLResponse:
        params = {k: v for k, v in request.query_params.items() if v != "" and k != "token"}
        try:
            result = samples_page(run, _samples_query(params))
        except BadQuery as exc:
            raise HTTPException(400, str(exc)) from None

        def link(**changes: Any) -> str:
            return "/samples?" + urlencode({**params, **changes})

        return page(
            request,
            "samples.html",
            page=result,
            params=params,
            link=link,
            CHANGED=CHANGED,
            several_judges=has_several_judges(run),
        )

    @app.get("/samples/{sample_id:path}", response_class=HTMLResponse)
    def sample(request: Request, sample_id: str) -> HTMLResponse:
        try:
            view = sample_view(run, sample_id, reviewer(request))
        except NoSuchSample:
            raise HTTPException(404, f"no sample with {run.id_col} {sample_id!r}") from None
        return page(request, "sample.html", sample=view)

    @app.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, offset: int = 0) -> HTMLResponse:
        author = reviewer(request)
        entries = labelling_queue.entries(author)
        entry = entries[offset] if 0 <= offset < len(entries) else None
        view = sample_view(run, entry.sample_id, author) if entry is not None else None
        given = run.store.answers()
        return page(
            request,
            "queue.html",
            entry=entry,
            sample=view,
            offset=offset,
            left=len(entries),
            labels_in_all=given.height,
            labels_mine=int((given["author"] == author).sum()),
            next_run=recalibrate_command(run),
            calibrates=calibrates(run),
        )

    @app.get("/overview", response_class=HTMLResponse)
    def overview_page(request: Request) -> HTMLResponse:
        return page(request, "overview.html", panels=overview(run))

    @app.post("/labels")
    def save_labels(given: LabelsIn, request: Request) -> dict[str, Any]:
        author = reviewer(request)
        try:
            sample_id, allowed = label_target(run, given.sample_id)
        except NoSuchSample:
            raise HTTPException(404, f"no sample with {run.id_col} {given.sample_id!r}") from None
        unknown = sorted({label.name for label in given.labels} - allowed)
        if unknown:
            raise HTTPException(
                400, f"name: {unknown} label no score of this sample; it has {sorted(allowed)}"
            )
        labels = [Label(sample_id, x.name, x.value, given.comment) for x in given.labels]
        try:
            part = run.store.append(labels, author)
        except UnknownAnnotationName as exc:
            raise HTTPException(400, str(exc)) from None
        return {"saved": len(labels), "part": part}

    return app


def _samples_query(params: dict[str, str]) -> SamplesQuery:
    def number(name: str, kind: type[int] | type[float]) -> Any:
        if name not in params:
            return None
        try:
            return kind(params[name])
        except ValueError:
            raise BadQuery(f"{name}: {params[name]!r} is not a number") from None

    return SamplesQuery(
        page=number("page", int) or 0,
        sort=params.get("sort"),
        descending=params.get("desc") == "1",
        scorer=params.get("scorer"),
        score_min=number("score_min", float),
        score_max=number("score_max", float),
        item=number("item", int),
        answer=params.get("answer"),
        level=params.get("level"),
        confidence_min=number("confidence_min", float),
        confidence_max=number("confidence_max", float),
        error=params.get("error"),
        group=params.get("group"),
        group_value=params.get("group_value"),
        search=params.get("q"),
        changed=params.get("changed") == "1",
        disagree=params.get("disagree") == "1",
    )
