"""Fixtures of the annotation server's tests: the bundled model, a few real DAVIS frames at half
size, an app over a fresh data folder, and a PostgreSQL database of its own for a test (when
MASKLET_TEST_POSTGRES_URL names a server; .ci/run starts one)."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="masklet serve needs the 'serve' extra (pip install 'masklet[serve]')")

from conftest import require_shared_data  # noqa: E402
from PIL import Image  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIP = "blackswan"
FRAMES = 5
SIZE = (428, 240)  # half of DAVIS 480p


POSTGRES_ENV = "MASKLET_TEST_POSTGRES_URL"
TOKEN = "fault-test"  # of the `masklet serve` processes the tests start


@pytest.fixture
def postgres_url():
    """A URL of the PostgreSQL database of MASKLET_TEST_POSTGRES_URL that works in a new, empty
    schema of its own (its search_path; its connections are named after it), dropped with
    everything in it at the end; the test skips when the variable is not set."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test on (give one as "
                    "postgresql+psycopg://USER@127.0.0.1:PORT/DB; .ci/run starts a throwaway one)")
    pytest.importorskip("psycopg", reason="the PostgreSQL tests need psycopg 3 (the dev extra has it)")
    from sqlalchemy import create_engine, text

    from masklet.serve.storage.dialects import database_url

    name = f"masklet_test_{secrets.token_hex(6)}"
    admin = create_engine(database_url(url))
    with admin.begin() as db:
        db.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        query = {"options": f"-csearch_path={name}", "application_name": name}
        yield database_url(url).update_query_dict(query).render_as_string(False)
    finally:
        with admin.begin() as db:
            db.execute(text("SET LOCAL lock_timeout = '30s'"))  # a connection left in a transaction fails this, not hangs
            db.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """The database a workspace uses: None (SQLite in its data folder), then a PostgreSQL schema
    of its own (`postgres_url`). Ask for it before `make_client`, so that the clients are closed
    before the schema is dropped."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def nano():
    import masklet

    return masklet.load_model("masklet-nano")


@pytest.fixture(scope="session")
def davis_clip():
    """(frames as JPEG bytes, ground-truth masks [T, H, W] bool) of the first FRAMES frames of blackswan at SIZE."""
    return davis_frames(FRAMES, SIZE)


def inside_point(mask: np.ndarray) -> list[float]:
    """A pixel deep inside a mask (the maximum of its distance to the background)."""
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(mask)
    y, x = np.unravel_index(int(np.argmax(distance)), mask.shape)
    return [float(x), float(y)]


def make_settings(data_dir: Path, **overrides):
    from masklet.serve.settings import ServeSettings

    overrides = {"suggestion_points": 8} | overrides  # suggestion thresholds: the model's own (serve's default)
    return ServeSettings(data_dir=data_dir, **overrides)


@pytest.fixture
def make_client(nano, tmp_path):
    """make_client(**settings) -> a TestClient over a workspace in tmp_path/data (closed at the end)."""
    from fastapi.testclient import TestClient

    from masklet.serve.app import create_app
    from masklet.serve.workspace import Workspace

    clients = []

    def make(data_dir: Path | None = None, **overrides):
        ws = Workspace(make_settings(data_dir or tmp_path / "data", **overrides), nano, "masklet-nano")
        client = TestClient(create_app(ws))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def upload_frames(client, project_id: int, jpegs: list[bytes], folder: str = CLIP, headers=None) -> dict:
    files = [("files", (f"{folder}/{t:05d}.jpg", data, "image/jpeg")) for t, data in enumerate(jpegs)]
    response = client.post(f"/api/projects/{project_id}/media", files=files, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def clip_media(client, davis_clip):
    """(project, media) with the DAVIS frames uploaded as an image folder."""
    project = client.post("/api/projects", json={"name": "swans"}).json()
    return project, upload_frames(client, project["id"], davis_clip[0])


def serve_in_thread(ws, server_class=None, **config):
    """(base url, server, thread): uvicorn (or `server_class`, a uvicorn.Server) serving the
    workspace's app on a free loopback port, in a thread, once it has started."""
    import uvicorn

    from masklet.serve.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = (server_class or uvicorn.Server)(uvicorn.Config(create_app(ws), log_level="warning", lifespan="on", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


@pytest.fixture
def live_server(nano, tmp_path):
    """live_server(**settings) -> (base url, workspace): a real uvicorn server on a free loopback
    port, in a thread, stopped at the end."""
    from masklet.serve.workspace import Workspace

    running = []

    def start(**overrides):
        ws = Workspace(make_settings(tmp_path / f"data{len(running)}", **overrides), nano, "masklet-nano")
        url, server, thread = serve_in_thread(ws)
        running.append((server, thread))
        return url, ws

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(30)


def davis_frames(count: int, size: tuple[int, int]) -> tuple[list[bytes], np.ndarray]:
    """The first `count` frames of blackswan at `size` as JPEG bytes, with the ground-truth masks."""
    data = require_shared_data() / "davis2016-val"
    jpegs, truth = [], []
    for t in range(count):
        image = Image.open(data / "JPEGImages" / "480p" / CLIP / f"{t:05d}.jpg").convert("RGB").resize(size)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92)
        jpegs.append(buffer.getvalue())
        gt = Image.open(data / "Annotations" / "480p" / CLIP / f"{t:05d}.png").convert("L").resize(size, Image.NEAREST)
        truth.append(np.asarray(gt) > 127)
    return jpegs, np.stack(truth)


def decode(mask: dict, size) -> np.ndarray:
    from masklet.io.rle import rle_decode

    return rle_decode({"size": list(size), "counts": mask["counts"]})


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def sse_events(client, job_id: int) -> list[tuple[str, dict]]:
    events = []
    with client.stream("GET", f"/api/propagations/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_process(data_dir: Path, port: int, database_url: str | None = None) -> subprocess.Popen:
    """A real `masklet serve` process (with TOKEN) on a loopback port; its output is piped."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"))
    database = [] if database_url is None else ["--database-url", database_url]
    return subprocess.Popen([sys.executable, "-m", "masklet.cli", "serve", "--data", str(data_dir), "--port",
                             str(port), "--token", TOKEN, *database], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def start_serve(data_dir: Path, database_url: str | None = None):
    """(process, httpx client with the token) of a `masklet serve` on a free port, once it answers."""
    import httpx

    port = free_port()
    process = serve_process(data_dir, port, database_url)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            if http.get("/api/info").status_code == 200:
                return process, http
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "masklet serve did not start"
        time.sleep(0.2)
