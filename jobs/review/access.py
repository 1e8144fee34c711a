"""The review app's access token, as Jupyter's: printed once in the URL; a request that brings
it as `?token=` gets it back as a cookie, and every request without one of the two is refused
(403), pages, labels and static files alike."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

TOKEN_PARAM = "token"


# Cookies are shared between a host's ports: each review's cookie is named for its port, so
# a second review on the same host leaves the first one's open tabs working.
def cookie_name(port: int | None) -> str:
    return f"rayscore_review_token_{port}" if port else "rayscore_review_token"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def require_token(app: FastAPI, token: str) -> None:
    @app.middleware("http")
    async def gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        cookie = cookie_name(request.url.port)
        if _matches(request.query_params.get(TOKEN_PARAM), token):
            response = await call_next(request)
            response.set_cookie(cookie, token, httponly=True, samesite="strict")
            return response
        if _matches(request.cookies.get(cookie), token):
            return await call_next(request)
        return PlainTextResponse(
            "403: this review needs its token: open the URL `rayscore review` printed",
            status_code=403,
        )


def _matches(given: str | None, token: str) -> bool:
    """In constant time, and as bytes: a token that is not ASCII is refused, not an error."""
    return given is not None and secrets.compare_digest(given.encode(), token.encode())
