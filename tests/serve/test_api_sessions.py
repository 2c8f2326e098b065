"""Sessions rebuilt from the stored log (after eviction or a restart) compute what the live
session computed; the LRU keeps at most max_sessions; cancelling a propagation."""

from __future__ import annotations

import io
import zipfile

from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import inside_point, sse_events, upload_frames


def _prompt_and_propagate(client, mid, truth):
    client.post(f"/api/media/{mid}/objects")
    r = client.post(f"/api/media/{mid}/objects/1/clicks", json={"frame_idx": 1, "points": [inside_point(truth[1])],
                                                                "labels": [1]})
    assert r.status_code == 200, r.text
    job = client.post(f"/api/media/{mid}/propagations", json={"direction": "both"}).json()
    sse_events(client, job["job_id"])


CORRECTION = {"frame_idx": 3, "points": [[5.0, 5.0]], "labels": [0], "clear_old_points": False}


def test_evicted_session_is_rebuilt_from_the_log(client, clip_media, davis_clip):
    _, media = clip_media
    mid = media["id"]
    _prompt_and_propagate(client, mid, davis_clip[1])
    live = client.post(f"/api/media/{mid}/objects/1/clicks", json=CORRECTION).json()
    assert client.post(f"/api/media/{mid}/undo").status_code == 200
    ws = client.app.state.workspace
    ws.pool.drop(mid)
    builds = ws.pool.stats().builds
    rebuilt = client.post(f"/api/media/{mid}/objects/1/clicks", json=CORRECTION).json()
    assert ws.pool.stats().builds == builds + 1
    assert rebuilt["masks"] == live["masks"]


def test_restart_keeps_everything_acknowledged(db_url, make_client, tmp_path, davis_clip):
    """On SQLite and on PostgreSQL: a new app on the same data folder and database."""
    first = make_client(tmp_path / "data", database_url=db_url)
    project = first.post("/api/projects", json={"name": "p"}).json()
    mid = upload_frames(first, project["id"], davis_clip[0])["id"]
    _prompt_and_propagate(first, mid, davis_clip[1])
    shown = first.get(f"/api/media/{mid}/masks").json()
    coco = first.get(f"/api/projects/{project['id']}/export?format=coco").content
    live = first.post(f"/api/media/{mid}/objects/1/clicks", json=CORRECTION).json()
    first.post(f"/api/media/{mid}/undo")
    history = first.get(f"/api/media/{mid}/history").json()
    first.__exit__(None, None, None)

    second = make_client(tmp_path / "data", database_url=db_url)
    assert second.get(f"/api/media/{mid}/history").json() == history  # 2 prompts (1 undone) and a propagation
    assert second.get(f"/api/media/{mid}/masks").json() == shown
    assert second.get(f"/api/projects/{project['id']}/export?format=coco").content == coco
    assert second.post(f"/api/media/{mid}/redo").status_code == 200
    second.post(f"/api/media/{mid}/undo")
    assert second.post(f"/api/media/{mid}/objects/1/clicks", json=CORRECTION).json()["masks"] == live["masks"]


def test_lru_bounds_sessions(make_client, davis_clip):
    client = make_client(max_sessions=2)
    project = client.post("/api/projects", json={"name": "p"}).json()
    mids = [upload_frames(client, project["id"], davis_clip[0][:2], folder=f"clip{i}")["id"] for i in range(3)]
    for mid in mids:
        client.post(f"/api/media/{mid}/objects")
        r = client.post(f"/api/media/{mid}/objects/1/clicks", json={"frame_idx": 0, "box": [100, 50, 300, 200]})
        assert r.status_code == 200, r.text
    stats = client.get("/api/stats").json()
    assert stats["sessions"] == 2 and stats["peak_sessions"] == 2 and stats["evictions"] == 1


def test_cancel_propagation(client, clip_media, davis_clip):
    _, media = clip_media
    mid = media["id"]
    client.post(f"/api/media/{mid}/objects")
    client.post(f"/api/media/{mid}/objects/1/clicks", json={"frame_idx": 0, "points": [inside_point(davis_clip[1][0])],
                                                            "labels": [1]})
    ws = client.app.state.workspace
    with ws.pool.hold(mid):  # the job waits (queued) for the video while we hold it
        job = client.post(f"/api/media/{mid}/propagations").json()
        assert job["state"] == "queued"
        assert client.post(f"/api/media/{mid}/propagations").status_code == 409
        assert client.post(f"/api/propagations/{job['job_id']}/cancel").status_code == 200
    events = sse_events(client, job["job_id"])
    assert events[-1][1]["state"] == "cancelled" and not [e for e in events if e[0] == "frame"]
    assert client.get(f"/api/media/{mid}/history").json()["steps"] == 1  # no propagation step left behind


def test_exports_every_format(client, clip_media, davis_clip):
    project, media = clip_media
    mid = media["id"]
    _prompt_and_propagate(client, mid, davis_clip[1])
    for form, names in {"davis": "blackswan/00004.png", "sav": "blackswan.json",
                        "yolo": "labels/blackswan/00004.txt", "mp4": "blackswan.mp4"}.items():
        r = client.get(f"/api/projects/{project['id']}/export", params={"format": form, "media_id": mid})
        assert r.status_code == 200, (form, r.text)
        assert names in zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert not list((client.app.state.workspace.data.root / "exports").iterdir())  # deleted once sent
