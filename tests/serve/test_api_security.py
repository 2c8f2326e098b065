"""Token auth on every route, uploads that try to leave the data folder, limits, types, and
bad requests answered with a 4xx that says what was wrong."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from serve_fixtures import *  # noqa: F401,F403

from masklet.serve.settings import UploadLimits

SERVE = Path(__file__).resolve().parents[2] / "src" / "masklet" / "serve"


def media_folders(client) -> list[Path]:
    return list((client.app.state.workspace.data.root / "media").iterdir())


def test_token_is_required_everywhere(make_client):
    client = make_client(token="s3cret")
    for path in ("/api/projects", "/api/info", "/openapi.json", "/docs", "/", "/ui/app.js", "/api/media/1/frames/0"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert "token" in r.json()["detail"]
    assert client.get("/api/projects", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/projects", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/projects", headers={"X-Masklet-Token": "s3cret"}).status_code == 200
    page = client.get("/?token=s3cret")
    assert page.status_code == 200 and "masklet_token" in page.headers["set-cookie"]
    assert client.get("/api/info").json()["auth"] is True  # the cookie now carries it
    schema = client.get("/openapi.json").json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_changes_from_other_sites_are_refused(client):
    assert client.post("/api/projects", json={"name": "p"}, headers={"Origin": "http://testserver"}).status_code == 201
    r = client.post("/api/projects", json={"name": "p"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    assert client.get("/api/projects", headers={"Origin": "https://evil.example"}).status_code == 200
    assert len(client.get("/api/projects").json()) == 1


@pytest.mark.parametrize("name", ["../evil.jpg", "/etc/evil.jpg", "C:\\evil.jpg", "a/../../evil.jpg", "x\x00.jpg"])
def test_upload_names_cannot_leave_the_data_folder(client, davis_clip, name):
    project = client.post("/api/projects", json={"name": "p"}).json()
    r = client.post(f"/api/projects/{project['id']}/media", files=[("files", (name, davis_clip[0][0], "image/jpeg"))])
    # refused, or (where the multipart layer keeps only the base name) stored under a name made here
    assert r.status_code in (400, 201), r.text
    root = client.app.state.workspace.data.root
    stored = [p for p in root.rglob("*") if p.is_file() and p.parent.name == "frames"]
    assert [p.name for p in stored] == ([] if r.status_code == 400 else ["00000.jpg"])
    assert all(p.resolve().is_relative_to(root / "media") for p in stored)
    assert not list(root.parent.rglob("evil.jpg"))


def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_zip_of_frames_and_zip_tricks(client, davis_clip):
    jpegs = davis_clip[0]
    project = client.post("/api/projects", json={"name": "p"}).json()
    url = f"/api/projects/{project['id']}/media"
    good = _zip({f"clip/{t}.jpg": data for t, data in enumerate(jpegs[:3])} | {"__MACOSX/._0.jpg": b"x"})
    r = client.post(url, files=[("files", ("clip.zip", good, "application/zip"))])
    assert r.status_code == 201 and r.json()["num_frames"] == 3, r.text
    before = media_folders(client)
    bad = {
        "traversal": (_zip({"../../evil.jpg": jpegs[0]}), 400),
        "absolute": (_zip({"/tmp/evil.jpg": jpegs[0]}), 400),
        "symlink": (_zip({"0.jpg": jpegs[0]}, symlink="1.jpg"), 400),
        "bomb": (_zip({"0.jpg": jpegs[0], "1.jpg": b"\0" * 5_000_000}), 413),
        "damaged": (good[: len(good) // 2], 415),  # no central directory: not a zip
        "not-images": (_zip({"a.txt": b"hello"}), 400),
    }
    for what, (data, status) in bad.items():
        r = client.post(url, files=[("files", ("x.zip", data, "application/zip"))])
        assert r.status_code == status, (what, r.text)
        assert r.json()["detail"]
    assert media_folders(client) == before


def test_types_and_limits(make_client, davis_clip):
    jpegs = davis_clip[0]
    client = make_client(uploads=UploadLimits(max_bytes=300_000, max_frames=3), max_json_bytes=10_000)
    project = client.post("/api/projects", json={"name": "p"}).json()
    url = f"/api/projects/{project['id']}/media"
    cases = [
        ([("files", ("a.txt", b"hello", "text/plain"))], 415),
        ([("files", ("a.jpg", b"not an image", "image/jpeg"))], 415),
        ([("files", ("a.mp4", b"not a video at all", "video/mp4"))], 415),
        ([("files", ("a.mp4", jpegs[0], "video/mp4"))], 415),  # an image declared as a video
        ([("files", (f"{t}.jpg", jpegs[t], "image/jpeg")) for t in range(4)], 413),  # > max_frames
        ([("files", ("big.jpg", b"\xff" * 400_000, "image/jpeg"))], 413),  # > max_bytes
    ]
    for files, status in cases:
        r = client.post(url, files=files)
        assert r.status_code == status, (files[0][1][0], r.text)
        assert r.json()["detail"]
    assert media_folders(client) == []
    r = client.post("/api/projects", json={"name": "x" * 20_000})
    assert r.status_code == 413 and "bytes" in r.json()["detail"]

    def chunks(head: bytes, size: int, tail: bytes):  # a body without Content-Length
        yield head
        for _ in range(size // 1000):
            yield b"\xff" * 1000
        yield tail

    r = client.post("/api/projects", content=chunks(b'{"name": "', 20_000, b'"}'),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "more than" in r.json()["detail"]
    head = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    r = client.post(url, content=chunks(head, 400_000, b"\r\n--b--\r\n"),
                    headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "upload" in r.json()["detail"]
    assert media_folders(client) == []


def test_video_upload_through_pyav(client, tmp_path, davis_clip):
    import av
    import numpy as np
    from PIL import Image

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=6)
        stream.width, stream.height, stream.pix_fmt = 320, 176, "yuv420p"
        for data in davis_clip[0][:4]:
            image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((320, 176)))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    project = client.post("/api/projects", json={"name": "p"}).json()
    r = client.post(f"/api/projects/{project['id']}/media", files=[("files", ("my clip.mp4", path.read_bytes(), "video/mp4"))])
    assert r.status_code == 201, r.text
    media = r.json()
    assert (media["kind"], media["num_frames"], media["width"], media["height"], media["name"]) == ("video", 4, 320, 176, "my_clip")
    frame = client.get(f"/api/media/{media['id']}/frames/3")
    assert frame.status_code == 200 and Image.open(io.BytesIO(frame.content)).size == (320, 176)
    client.post(f"/api/media/{media['id']}/objects")
    r = client.post(f"/api/media/{media['id']}/objects/1/clicks", json={"frame_idx": 3, "box": [100, 40, 250, 150]})
    assert r.status_code == 200, r.text


def test_bad_requests_are_clear_4xx(client, clip_media):
    project, media = clip_media
    mid = media["id"]
    client.post(f"/api/media/{mid}/objects")
    clicks = f"/api/media/{mid}/objects/1/clicks"
    cases = [
        ("get", "/api/projects/99", None, 404),
        ("get", "/api/media/99/frames/0", None, 404),
        ("get", f"/api/media/{mid}/frames/5", None, 400),
        ("post", f"/api/media/{mid}/propagations", {}, 409),  # nothing prompted yet
        ("post", f"/api/media/{mid}/undo", None, 409),
        ("post", f"/api/media/{mid}/objects/7/clicks", {"frame_idx": 0, "box": [1, 1, 9, 9]}, 404),
        ("post", clicks, {"frame_idx": 9, "points": [[10, 10]], "labels": [1]}, 400),
        ("post", clicks, {"frame_idx": 0, "points": [[10000, 10]], "labels": [1]}, 400),
        ("post", clicks, {"frame_idx": 0, "points": [[10, 10]], "labels": [1, 0]}, 400),
        ("post", clicks, {"frame_idx": 0}, 400),
        ("post", clicks, {"frame_idx": 0, "box": [1, 1, 9, 9], "clear_old_points": False}, 400),
        ("post", clicks, {"frame_idx": -1, "box": [1, 1, 9, 9]}, 422),
        ("post", f"/api/media/{mid}/objects/1/mask", {"frame_idx": 0, "counts": "not rle ~~"}, 400),
        ("post", f"/api/media/{mid}/objects/1/clear", {"frame_idx": 0}, 409),
        ("get", f"/api/projects/{project['id']}/export?format=pdf", None, 422),
        ("get", "/ui/..%2Fapp.py", None, 404),
        ("get", "/ui/nothing.js", None, 404),
    ]
    for method, url, body, status in cases:
        r = client.request(method.upper(), url, json=body)
        assert r.status_code == status, (url, body, r.text)
        assert r.json()["detail"], url
    assert client.get(f"/api/media/{mid}/history").json()["steps"] == 0  # nothing was stored


def test_no_pickle_in_the_server():
    for path in SERVE.rglob("*.py"):
        text = path.read_text()
        assert "pickle" not in text and "torch.load" not in text, path


def test_prompt_values_are_checked(client, clip_media):
    _, media = clip_media
    mid = media["id"]
    client.post(f"/api/media/{mid}/objects")
    url = f"/api/media/{mid}/objects/1/clicks"
    for body in ('{"frame_idx": 0, "points": [[NaN, 5]], "labels": [1]}',
                 '{"frame_idx": 0, "points": [[5, 5]], "labels": [2]}',
                 '{"frame_idx": 0, "points": [[5, 5]], "labels": [1180591620717411303424]}',
                 '{"frame_idx": 0, "box": [9, 9, 1, 1]}',
                 '{"frame_idx": 0, "points": [[5, 5]], "labels": [1], "extra": 1}',
                 '{"frame_idx": 0, "points": [[5, 5]], "labels": [1]'):
        r = client.post(url, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), (body, r.text)
        assert r.json()["detail"]
