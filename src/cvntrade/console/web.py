"""The console application: `create_app(ctx)` builds the FastAPI app (API + pages + static).

`CvnError`s become their HTTP status with an `ErrorOut` body on the API and an error page on
pages; request validation errors are 422 naming the field; refusals are audited (see `auth`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cvntrade.app import AppContext
from cvntrade.console.auth import ConsoleState, Denied, audit_denied, csrf_token, session_user
from cvntrade.console.security import LoginLimiter, new_signer
from cvntrade.errors import CvnError

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["utc"] = lambda value: "—" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"
log = logging.getLogger("cvntrade.console")
SECURITY_HEADERS = {
    # Everything comes from the console itself; no page may be framed (clickjacking on forms).
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _error_json(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def render(request: Request, template: str, status: int = 200, **context: object) -> Response:
    """Render a page with the session's user and CSRF token available to the template."""
    user = context.pop("user", None)
    if user is None:
        user = session_user(request)
    return templates.TemplateResponse(
        request,
        template,
        {"user": user, "csrf_token": csrf_token(request), **context},
        status_code=status,
    )


def create_app(
    ctx: AppContext, *, secret: str | None = None, limiter: LoginLimiter | None = None
) -> FastAPI:
    """The console for `ctx` (its engine, registry, clock); `secret` signs session cookies."""
    from cvntrade.console import api, monitoring_routes, pages

    app = FastAPI(
        title="CVNTrade console",
        version="1",
        description="Operate CVNTrade: config flips, champions, expectancy, journal, controls.",
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN: the schema alone is served
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.console = ConsoleState(ctx, new_signer(secret), limiter or LoginLimiter())
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(monitoring_routes.api_router)
    app.include_router(monitoring_routes.page_router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> Response:
        if _is_api(request) or request.method != "GET" or exc.status != 401:
            await run_in_threadpool(audit_denied, request.app.state.console, request, exc)
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            response = _error_json(exc.status, "Denied", exc.reason)
            if headers:
                response.headers.update(headers)
            return response
        if exc.status == 401 and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return render(request, "error.html", exc.status, title="Refused", message=exc.reason)

    @app.exception_handler(CvnError)
    async def cvn_error(request: Request, exc: CvnError) -> Response:
        if exc.http_status >= 500:
            log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        if _is_api(request):
            return _error_json(exc.http_status, type(exc).__name__, str(exc))
        return render(
            request, "error.html", exc.http_status, title=type(exc).__name__, message=str(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        if _is_api(request):
            return _error_json(422, "UserInputError", jsonable_encoder(problems))
        return render(request, "error.html", 422, title="Bad input", message=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code == 405:
            return _error_json(exc.status_code, "HTTPError", str(exc.detail))
        return render(
            request, "error.html", exc.status_code, title="Not found", message=str(exc.detail)
        )

    return app
