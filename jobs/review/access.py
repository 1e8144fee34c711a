"""The review app's access token, as Jupyter's: printed once in the URL; a request that brings
it as `?token=` gets it back as a cookie, and every request without one of the two is refused
(403), pages, labels and static files alike."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

TOKEN_PARAM = "token"
COOKIE = "rayscore_review_token"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def require_token(app: FastAPI, token: str) -> None:
    @app.middleware("http")
    async def gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.query_params.get(TOKEN_PARAM)
        if given is not None and secrets.compare_digest(given, token):
            response = await call_next(request)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response
        cookie = request.cookies.get(COOKIE)
        if cookie is not None and secrets.compare_digest(cookie, token):
            return await call_next(request)
        return PlainTextResponse(
            "403: this review needs its token: open the URL `rayscore review` printed",
            status_code=403,
        )
