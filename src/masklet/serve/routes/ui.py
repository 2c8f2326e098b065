"""The browser UI: its files served from the package (a fixed list: no client path is ever
opened), and the page that starts it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from masklet.serve.auth import COOKIE
from masklet.serve.errors import NotFound

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parents[1] / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


def _files() -> dict[str, Path]:
    return {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in TYPES}


@router.get("/")
def index(request: Request) -> Response:
    response = FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-store"})
    token = request.query_params.get("token")
    if token and request.app.state.settings.token:  # the dependency has checked it: keep it for images and streams
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/ui/{name}")
def ui_file(name: str) -> Response:
    path = _files().get(name)
    if path is None:
        raise NotFound(f"the UI has no file {name!r}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers={"Cache-Control": "no-cache"})
