"""The FastAPI app of `masklet label-studio`: the ML backend protocol Label Studio speaks.

  GET  /health (and /)  {"status": "UP", "model_class": ...}: Label Studio checks it on connect
  POST /setup           {"project", "schema", "hostname", "access_token", ...} -> {"model_version"}
  POST /predict         {"tasks", "label_config", "project", "params": {"context"}} -> {"results"}
  POST /webhook         annotation events: acknowledged (Masklet does not train from them)

/predict with a context (interactive pre-annotation: smart keypoints and rectangles, or a
smart VideoRectangle) answers one prediction for the one task sent. Without a context
("retrieve predictions"), each task's latest annotation holds the prompts; a task without
prompts gets no prediction (an empty list in its place).
"""

from __future__ import annotations

import logging

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse

from masklet import __version__
from masklet.errors import MaskletError
from masklet.serve.errors import ApiError
from masklet.serve.label_studio.backend import MaskletBackend
from masklet.serve.label_studio.config import LabelConfig
from masklet.serve.label_studio.media import LabelStudioServer

log = logging.getLogger("masklet.label_studio")

MODEL_CLASS = "MaskletBackend"


def project_id(project) -> str:
    """Label Studio names a project "<id>.<created timestamp>"."""
    return str(project or "").split(".", 1)[0]


def latest_annotation_regions(task: dict) -> list:
    """The result of the task's most recently updated annotation that was not skipped."""
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not annotations:
        return []
    latest = max(annotations, key=lambda a: (str(a.get("updated_at") or ""), a.get("id") or 0))
    return latest.get("result") or []


def create_app(backend: MaskletBackend, label_studio_url: str | None = None, label_studio_token: str | None = None) -> FastAPI:
    """The ML backend over `backend`. `label_studio_url` / `label_studio_token` take precedence
    over what Label Studio's /setup call says (its own URL and the project owner's token)."""
    app = FastAPI(title="masklet label-studio", version=__version__, docs_url=None, redoc_url=None)
    told: dict[str, tuple[str | None, str | None]] = {}  # project id -> (URL, token) its /setup call gave
    servers: dict[tuple[str | None, str | None], LabelStudioServer] = {}  # one per (URL, token): keeps its access token

    def server_for(project) -> LabelStudioServer:
        url, token = told.get(project_id(project), (None, None))
        key = (label_studio_url or url, label_studio_token or token)
        return servers.setdefault(key, LabelStudioServer(*key))

    @app.exception_handler(MaskletError)
    async def masklet_error(request: Request, exc: MaskletError) -> JSONResponse:
        status = exc.status if isinstance(exc, ApiError) else 400
        log.warning("%s %s: %s", request.method, request.url.path, exc)  # Label Studio shows only the status
        return JSONResponse({"detail": str(exc), "error": str(exc)}, status_code=status)

    @app.get("/")
    @app.get("/health")
    def health() -> dict:
        return {"status": "UP", "model_class": MODEL_CLASS, "model_version": backend.model_version}

    @app.post("/setup")
    def setup(body: dict = Body(...)) -> dict:
        told[project_id(body.get("project"))] = (body.get("hostname") or None, body.get("access_token") or None)
        return {"model_version": backend.model_version}

    @app.post("/predict")
    def predict(body: dict = Body(...)) -> dict:
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            raise ApiError("the request has no 'tasks' list")
        config = LabelConfig(body.get("label_config"))
        server = server_for(body.get("project"))
        params = body.get("params") or {}
        context = params.get("context") if isinstance(params, dict) else None
        if context:
            regions = context.get("result") if isinstance(context, dict) else None
            prediction = backend.predict(tasks[0], config, regions or [], server)
            return {"results": [prediction or {"result": [], "score": None, "model_version": backend.model_version}]}
        results = []
        for task in tasks:
            prediction = backend.predict(task, config, latest_annotation_regions(task) if isinstance(task, dict) else [], server)
            results.append(prediction if prediction is not None else [])
        return {"results": results}

    @app.post("/webhook")
    def webhook(body: dict = Body(...)) -> dict:
        return {"status": "ok", "result": None, "detail": f"{body.get('action')!r} noted; Masklet does not train from annotations"}

    @app.get("/metrics")
    def metrics() -> dict:
        return {}

    return app
