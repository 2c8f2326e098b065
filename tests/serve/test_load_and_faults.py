"""On loopback: 4 sessions propagating at once under an LRU of 2; and `kill -9` of a real
`masklet serve` process in the middle of a propagation, restarted: every acknowledged prompt
and streamed frame is there, and the project exports the same every time."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
import numpy as np
import uvicorn
from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import davis_frames, inside_point, make_settings, serve_in_thread, start_serve

from masklet.io.rle import rle_decode


def upload(http: httpx.Client, project_id: int, jpegs: list[bytes], folder: str) -> dict:
    files = [("files", (f"{folder}/{t:05d}.jpg", data, "image/jpeg")) for t, data in enumerate(jpegs)]
    r = http.post(f"/api/projects/{project_id}/media", files=files)
    assert r.status_code == 201, r.text
    return r.json()


def stream(http: httpx.Client, job_id: int, on_frame=None) -> list[tuple[str, dict]]:
    events, kind = [], None
    with http.stream("GET", f"/api/propagations/{job_id}/events") as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
                if on_frame is not None and kind == "frame":
                    on_frame(events[-1][1])
    return events


def test_four_sessions_propagate_at_once_under_the_lru(live_server):
    url, ws = live_server(max_sessions=2, max_session_bytes=2**20)
    jpegs, truth = davis_frames(4, (214, 120))
    results, failures = {}, []

    def annotate(i: int) -> None:
        try:
            with httpx.Client(base_url=url, timeout=120) as http:
                project = http.post("/api/projects", json={"name": f"p{i}"}).json()
                media = upload(http, project["id"], jpegs, f"clip{i}")
                mid = media["id"]
                http.post(f"/api/media/{mid}/objects")
                r = http.post(f"/api/media/{mid}/objects/1/clicks",
                              json={"frame_idx": 0, "points": [inside_point(truth[0])], "labels": [1]})
                assert r.status_code == 200, r.text
                job = http.post(f"/api/media/{mid}/propagations").json()
                events = stream(http, job["job_id"])
                results[i] = (events[-1][1]["state"], len(http.get(f"/api/media/{mid}/masks").json()["masks"]))
        except Exception as e:  # reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=annotate, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not failures, failures
    assert results == {i: ("done", 4) for i in range(4)}
    stats = ws.pool.stats()
    assert stats.peak_sessions <= 2 and stats.sessions <= 2
    assert stats.bytes <= stats.max_bytes  # idle sessions past the memory budget were dropped
    assert stats.builds >= 4 and stats.evictions >= 2


def test_kill_9_mid_propagation_loses_nothing_acknowledged(db_url, tmp_path):
    """On SQLite and on PostgreSQL (--database-url)."""
    jpegs, truth = davis_frames(16, (214, 120))
    process, http = start_serve(tmp_path / "data", db_url)
    try:
        project = http.post("/api/projects", json={"name": "crash"}).json()
        mid = upload(http, project["id"], jpegs, "blackswan")["id"]
        http.post(f"/api/media/{mid}/objects")
        acknowledged = [http.post(f"/api/media/{mid}/objects/1/clicks", json=body).json() for body in (
            {"frame_idx": 0, "points": [inside_point(truth[0])], "labels": [1]},
            {"frame_idx": 0, "points": [[2.0, 2.0]], "labels": [0], "clear_old_points": False},
        )]
        job = http.post(f"/api/media/{mid}/propagations").json()
        received = {}

        def kill_after_three(frame: dict) -> None:
            received[frame["frame_idx"]] = frame["masks"][0]["counts"]
            if len(received) == 3:
                os.kill(process.pid, signal.SIGKILL)

        try:
            stream(http, job["job_id"], kill_after_three)
        except httpx.TransportError:
            pass  # the stream is cut by the kill
        assert process.wait(30) == -signal.SIGKILL
        assert len(received) >= 3
    finally:
        if process.poll() is None:
            process.kill()
        http.close()

    process, http = start_serve(tmp_path / "data", db_url)
    try:
        assert http.get(f"/api/media/{mid}/history").json()["steps"] == 3  # 2 prompts + the cut propagation
        shown = {m["frame_idx"]: m["counts"] for m in http.get(f"/api/media/{mid}/masks").json()["masks"]}
        for t, counts in received.items():
            assert shown[t] == counts, t
        assert len(shown) < 16  # the propagation was cut off
        first = http.get(f"/api/projects/{project['id']}/export?format=coco").content
        assert http.get(f"/api/projects/{project['id']}/export?format=coco").content == first
        coco = json.loads(first)
        names = {img["id"]: int(img["file_name"][-9:-4]) for img in coco["images"]}
        for ann in coco["annotations"]:
            t = names[ann["image_id"]]
            expected = rle_decode({"size": [120, 214], "counts": shown[t]})
            assert np.array_equal(rle_decode(ann["segmentation"]), expected)
        # the rebuilt session carries on: undo the cut propagation and the last click, redo, propagate to the end
        assert http.post(f"/api/media/{mid}/undo").json()["changed"]
        redo = http.post(f"/api/media/{mid}/redo").json()
        assert redo["steps"] == 3
        again = http.post(f"/api/media/{mid}/objects/1/clicks", json={
            "frame_idx": 0, "points": [[2.0, 2.0]], "labels": [0], "clear_old_points": False}).json()
        assert again["masks"] != [] and acknowledged[1]["masks"]
        job = http.post(f"/api/media/{mid}/propagations").json()
        assert stream(http, job["job_id"])[-1][1]["state"] == "done"
        assert len(http.get(f"/api/media/{mid}/masks").json()["masks"]) == 16
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        http.close()


def test_a_stop_refuses_waiting_requests_and_ends_event_streams(nano, tmp_path, davis_clip):
    """As `masklet serve` begins to stop, a click waiting for a session slot gets a 503 at once
    (it used to be cut off with a 500 once the graceful shutdown ran out, possibly after storing
    its change) and a propagation's event stream ends with the job cancelled."""
    from masklet.cli.serve import stopping_server
    from masklet.serve.workspace import Workspace

    ws = Workspace(make_settings(tmp_path / "data", max_sessions=1), nano, "masklet-nano")
    url, server, thread = serve_in_thread(ws, stopping_server(uvicorn.Server, ws), timeout_graceful_shutdown=60)
    jpegs, truth = davis_clip
    with httpx.Client(base_url=url, timeout=120) as http:
        project = http.post("/api/projects", json={"name": "stop"}).json()
        a, b = (upload(http, project["id"], jpegs[:2], name)["id"] for name in ("a", "b"))
        for mid in (a, b):
            http.post(f"/api/media/{mid}/objects")
        click = {"frame_idx": 0, "points": [inside_point(truth[0])], "labels": [1]}
        assert http.post(f"/api/media/{a}/objects/1/clicks", json=click).status_code == 200
        answers = {}
        with ws.pool.use(a):  # holds the only session slot: the job queues, the click on b waits
            job = http.post(f"/api/media/{a}/propagations").json()
            waiting = [threading.Thread(target=lambda: answers.update(
                           click=http.post(f"/api/media/{b}/objects/1/clicks", json=click))),
                       threading.Thread(target=lambda: answers.update(events=stream(http, job["job_id"])))]
            for request in waiting:
                request.start()
            time.sleep(1.0)
            began = time.monotonic()
            server.should_exit = True
            for request in waiting:
                request.join(30)
        assert time.monotonic() - began < 30
        assert answers["click"].status_code == 503 and "stopping" in answers["click"].json()["detail"]
        kind, last = answers["events"][-1]
        assert kind == "state" and last["state"] == "cancelled"
    thread.join(60)
    assert not thread.is_alive()
