"""The annotation API on a real DAVIS clip with the bundled model: upload, click, propagate,
correct, undo / redo, masks, history, export."""

from __future__ import annotations

import numpy as np
from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import FRAMES, SIZE, decode, inside_point, iou, sse_events

from masklet.io.rle import rle_decode


def test_upload_click_propagate_correct_undo(client, clip_media, davis_clip):
    project, media = clip_media
    _, truth = davis_clip
    assert (media["kind"], media["num_frames"], media["width"], media["height"]) == ("frames", FRAMES, *SIZE)
    assert media["name"] == "blackswan"
    frame = client.get(f"/api/media/{media['id']}/frames/2")
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"

    mid = media["id"]
    obj = client.post(f"/api/media/{mid}/objects", json={"name": "swan"}).json()
    assert obj["obj_id"] == 1 and obj["color"].startswith("#")
    click = client.post(f"/api/media/{mid}/objects/1/clicks",
                        json={"frame_idx": 0, "points": [inside_point(truth[0])], "labels": [1]})
    assert click.status_code == 200, click.text
    first = click.json()
    assert first["size"] == [SIZE[1], SIZE[0]] and [m["obj_id"] for m in first["masks"]] == [1]
    assert iou(decode(first["masks"][0], first["size"]), truth[0]) > 0.5

    job = client.post(f"/api/media/{mid}/propagations", json={"direction": "forward"})
    assert job.status_code == 202, job.text
    events = sse_events(client, job.json()["job_id"])
    frames = [data for kind, data in events if kind == "frame"]
    assert [f["frame_idx"] for f in frames] == list(range(FRAMES))
    assert events[-1][0] == "state" and events[-1][1]["state"] == "done"
    assert frames[-1]["frames_done"] == frames[-1]["frames_total"] == FRAMES

    shown = client.get(f"/api/media/{mid}/masks").json()
    assert sorted((m["obj_id"], m["frame_idx"]) for m in shown["masks"]) == [(1, t) for t in range(FRAMES)]
    streamed = {f["frame_idx"]: f["masks"][0]["counts"] for f in frames}
    assert all(streamed[m["frame_idx"]] == m["counts"] for m in shown["masks"])

    # a negative correction click on frame 3, then propagate both ways
    before = decode(next(m for m in shown["masks"] if m["frame_idx"] == 3), shown["size"])
    ys, xs = np.nonzero(before & ~truth[3]) if (before & ~truth[3]).any() else np.nonzero(before)
    correction = client.post(f"/api/media/{mid}/objects/1/clicks",
                             json={"frame_idx": 3, "points": [[float(xs[0]), float(ys[0])]], "labels": [0],
                                   "clear_old_points": False})
    assert correction.status_code == 200, correction.text
    job = client.post(f"/api/media/{mid}/propagations", json={"direction": "both", "start_frame": 3}).json()
    events = sse_events(client, job["job_id"])
    assert [d["frame_idx"] for k, d in events if k == "frame"] == [3, 4, 3, 2, 1, 0]
    assert client.get(f"/api/propagations/{job['job_id']}").json()["state"] == "done"

    history = client.get(f"/api/media/{mid}/history").json()
    assert history == {"steps": 4, "can_undo": True, "can_redo": False, "changed": []}
    undone = client.post(f"/api/media/{mid}/undo").json()
    assert len(undone["changed"]) == 2 and undone["can_redo"]
    after_undo = client.get(f"/api/media/{mid}/masks").json()
    assert after_undo == shown  # back to the first propagation's masks
    redone = client.post(f"/api/media/{mid}/redo").json()
    assert redone["changed"] == undone["changed"] and not redone["can_redo"]

    export = client.get(f"/api/projects/{project['id']}/export", params={"format": "coco"})
    assert export.status_code == 200 and export.headers["content-type"] == "application/json"
    coco = export.json()
    current = {m["frame_idx"]: decode(m, shown["size"]) for m in client.get(f"/api/media/{mid}/masks").json()["masks"]}
    by_image = {img["id"]: img for img in coco["images"]}
    assert len(coco["images"]) == FRAMES
    for ann in coco["annotations"]:
        t = int(by_image[ann["image_id"]]["file_name"].split("/")[-1][:5])
        assert ann["category_id"] == 1
        assert iou(rle_decode(ann["segmentation"]), current[t]) == 1.0
