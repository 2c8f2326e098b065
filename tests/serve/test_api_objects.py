"""Mask prompts, removing objects (and undoing it), clearing a frame, suggestions accepted as
objects, renaming, deleting media and projects with their files."""

from __future__ import annotations

from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import decode, iou, sse_events

from masklet.io.rle import rle_encode


def test_mask_prompt_remove_and_undo(client, clip_media, davis_clip):
    _, media = clip_media
    mid, truth = media["id"], davis_clip[1]
    for _ in range(2):
        client.post(f"/api/media/{mid}/objects")
    counts = rle_encode(truth[0])["counts"]
    r = client.post(f"/api/media/{mid}/objects/1/mask", json={"frame_idx": 0, "counts": counts})
    assert r.status_code == 200, r.text
    assert iou(decode(r.json()["masks"][0], r.json()["size"]), truth[0]) > 0.9
    r = client.post(f"/api/media/{mid}/objects/2/clicks", json={"frame_idx": 2, "box": [0, 0, 60, 40]})
    assert sorted(m["obj_id"] for m in r.json()["masks"]) == [2]  # object 1 has no output on frame 2 yet
    job = client.post(f"/api/media/{mid}/propagations", json={"direction": "both", "start_frame": 0}).json()
    sse_events(client, job["job_id"])
    assert {m["obj_id"] for m in client.get(f"/api/media/{mid}/masks").json()["masks"]} == {1, 2}

    removed = client.delete(f"/api/media/{mid}/objects/2")
    assert removed.status_code == 200 and removed.json()["removed"]
    assert {m["obj_id"] for m in client.get(f"/api/media/{mid}/masks").json()["masks"]} == {1}
    assert client.post(f"/api/media/{mid}/objects/2/clicks", json={"frame_idx": 0, "box": [0, 0, 9, 9]}).status_code == 409
    client.post(f"/api/media/{mid}/undo")
    assert not client.get(f"/api/media/{mid}/objects").json()[1]["removed"]
    assert {m["obj_id"] for m in client.get(f"/api/media/{mid}/masks").json()["masks"]} == {1, 2}

    cleared = client.post(f"/api/media/{mid}/objects/2/clear", json={"frame_idx": 2})
    assert cleared.status_code == 200, cleared.text
    renamed = client.patch(f"/api/media/{mid}/objects/1", json={"name": "swan"})
    assert renamed.json()["name"] == "swan"


def test_suggestions_become_objects(client, clip_media):
    # serve's defaults: the bundled model's own thresholds (MODEL_THRESHOLDS), no flags
    _, media = clip_media
    mid = media["id"]
    found = client.get(f"/api/media/{mid}/frames/1/suggestions")
    assert found.status_code == 200, found.text
    suggestions = found.json()["suggestions"]
    assert suggestions and all(s["area"] > 0 for s in suggestions)
    assert [s["area"] for s in suggestions] == sorted((s["area"] for s in suggestions), reverse=True)
    r = client.post(f"/api/media/{mid}/frames/1/suggestions/accept", json={"index": 0, "name": "largest"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["object"]["name"] == "largest" and body["prompt"]["frame_idx"] == 1
    size = body["prompt"]["size"]
    suggested = decode(suggestions[0], size)
    assert iou(decode(body["prompt"]["masks"][0], size), suggested) > 0.8
    r = client.post(f"/api/media/{mid}/frames/1/suggestions/accept", json={"index": len(suggestions)})
    assert r.status_code == 400 and "does not exist" in r.json()["detail"]


def test_delete_media_and_project_remove_files(client, clip_media, davis_clip):
    project, media = clip_media
    root = client.app.state.workspace.data.root
    second = client.post(f"/api/projects/{project['id']}/media",
                         files=[("files", ("a.jpg", davis_clip[0][0], "image/jpeg"))]).json()
    assert second["name"] == "frames"  # names are unique within a project
    assert len(list((root / "media").iterdir())) == 2
    assert client.delete(f"/api/media/{media['id']}").status_code == 204
    assert client.get(f"/api/media/{media['id']}").status_code == 404
    assert len(list((root / "media").iterdir())) == 1
    assert client.delete(f"/api/projects/{project['id']}").status_code == 204
    assert list((root / "media").iterdir()) == [] and client.get("/api/projects").json() == []


def test_propagation_refused_while_an_object_has_no_prompts_left(client, clip_media):
    """An object whose only prompts were cleared would fail the propagation's first step (the
    model tracks every object from a prompt): the start is refused with a 409 instead of a job
    that fails; removing the object (or clicking it again) lets it start."""
    _, media = clip_media
    mid = media["id"]
    for _ in range(2):
        client.post(f"/api/media/{mid}/objects")
    client.post(f"/api/media/{mid}/objects/1/clicks", json={"frame_idx": 0, "box": [60, 40, 200, 160]})
    client.post(f"/api/media/{mid}/objects/2/clicks", json={"frame_idx": 1, "points": [[5, 5]], "labels": [1]})
    assert client.post(f"/api/media/{mid}/objects/2/clear", json={"frame_idx": 1}).status_code == 200
    refused = client.post(f"/api/media/{mid}/propagations", json={"max_frames": 1})
    assert refused.status_code == 409 and "object(s) 2 have no prompts left" in refused.json()["detail"]
    steps = client.get(f"/api/media/{mid}/history").json()["steps"]
    client.delete(f"/api/media/{mid}/objects/2")
    job = client.post(f"/api/media/{mid}/propagations", json={"max_frames": 1})
    assert job.status_code == 202, job.text
    assert sse_events(client, job.json()["job_id"])[-1][1]["state"] == "done"
    assert client.get(f"/api/media/{mid}/history").json()["steps"] == steps + 2  # the removal and the propagation
