"""The FastAPI app of `masklet serve`: routes, error responses, token auth, body limits.

Every error a client can cause is a 4xx with {"detail": "what was wrong and what to do"}.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from masklet import __version__
from masklet.serve.api_models import ERRORS, InfoOut
from masklet.serve.auth import require_token, same_origin
from masklet.serve.datadir import UnsafePath
from masklet.serve.errors import ApiError
from masklet.serve.export import FORMATS
from masklet.serve.limits import BodyLimit
from masklet.serve.routes import (
    exports,
    history,
    media,
    objects,
    projects,
    propagation,
    suggestions,
    ui,
)
from masklet.serve.sessions import ServerStopping, SessionBusy
from masklet.serve.storage.catalog import MissingRecord, RecordConflict
from masklet.serve.workspace import Workspace

log = logging.getLogger("masklet.serve")

DESCRIPTION = """Interactive video segmentation with SAM 2: upload videos or image folders, click objects
on any frame, propagate them through the video, correct, undo, export.

Every prompt is stored (SQLite, WAL, synchronous) with the masks it produced before its response is sent.
With `--token`, every request needs `Authorization: Bearer <token>`."""


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    handlers = {
        ApiError: lambda e: (e.status, e.detail),
        MissingRecord: lambda e: (404, str(e)),
        RecordConflict: lambda e: (409, str(e)),
        SessionBusy: lambda e: (409, str(e)),
        ServerStopping: lambda e: (503, str(e)),
        UnsafePath: lambda e: (400, str(e)),
    }
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 with one readable line, and the errors without the offending input (which may
        not even be JSON: NaN)."""
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "the request is not valid"
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)
    for kind, describe in handlers.items():
        async def handle(_request: Request, exc: Exception, describe=describe) -> JSONResponse:
            return _error(*describe(exc))
        app.add_exception_handler(kind, handle)


def described_422(schema: dict) -> dict:
    """The schema with the 422 body this app sends (a `detail` line and the `errors`)."""
    schemas = schema.get("components", {}).get("schemas", {})
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"] = {
            "title": "HTTPValidationError", "type": "object", "required": ["detail"],
            "properties": {
                "detail": {"type": "string", "description": "every problem, one after another"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}}, "msg": {"type": "string"},
                    "type": {"type": "string"}}}},
            },
        }
    return schema


def create_app(ws: Workspace) -> FastAPI:
    """The app over an opened workspace (closed when the app shuts down)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        ws.close()

    app = FastAPI(title="masklet serve", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  dependencies=[Depends(same_origin), *([Depends(require_token)] if ws.settings.token else [])],
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workspace, app.state.settings = ws, ws.settings
    add_error_handlers(app)
    for module in (projects, media, objects, history, propagation, suggestions, exports):
        app.include_router(module.router, responses=ERRORS)
    app.include_router(ui.router)

    @app.get("/api/info", response_model=InfoOut, tags=["server"], summary="The model, limits and formats")
    def info():
        return InfoOut(version=__version__, model=ws.model_name, image_size=ws.model.image_size,
                       export_formats=list(FORMATS), max_upload_bytes=ws.settings.uploads.max_bytes,
                       max_frames=ws.settings.uploads.max_frames, auth=ws.settings.token is not None)

    @app.get("/api/stats", tags=["server"], summary="Sessions in memory (LRU) and their bytes")
    def stats() -> dict:
        return vars(ws.pool.stats())

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return described_422(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/openapi.json", title="masklet serve API")

    app.add_middleware(BodyLimit, upload_bytes=ws.settings.uploads.max_bytes, json_bytes=ws.settings.max_json_bytes)
    return app
