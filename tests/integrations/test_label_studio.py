"""`masklet label-studio`, the Label Studio ML backend.

The protocol is checked with FastAPI's TestClient on the seeded micro model, the task media
served by a local HTTP server; the brush RLE against label_studio_sdk's own encoder and decoder
(run in Label Studio's venv, made by .ci/label_studio.sh); and once end to end against a real
Label Studio server with its own SQLite: projects made through its API, the backend connected,
interactive and stored predictions read back and compared with Masklet's own predictors.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import davis_frame
from PIL import Image

import masklet
from masklet.io.label_studio_rle import BrushRleError, decode_values, encode_values, mask_to_rle, rle_to_mask
from masklet.io.video import open_video

fastapi_testclient = pytest.importorskip("fastapi.testclient", reason="the backend needs the serve extra")
httpx = pytest.importorskip("httpx", reason="the tests talk HTTP through httpx")

from masklet.serve.label_studio import MaskletBackend, create_app  # noqa: E402

LABEL_STUDIO = Path(os.environ.get("MASKLET_TEST_LABEL_STUDIO")
                    or Path.home() / ".cache/masklet/label-studio-1.23.2/venv/bin/label-studio")
TEMPLATE = Path(os.environ.get("MASKLET_TEST_LABEL_STUDIO_TEMPLATE")
                or Path.home() / ".cache/masklet/label-studio-1.23.2/template/label_studio.sqlite3")
TRACK_FRAMES = 3

IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <BrushLabels name="mask" toName="image"><Label value="swan"/><Label value="water"/></BrushLabels>
  <KeyPointLabels name="click" toName="image" smart="true"><Label value="swan"/><Label value="water"/></KeyPointLabels>
  <RectangleLabels name="box" toName="image" smart="true"><Label value="swan"/><Label value="water"/></RectangleLabels>
</View>"""

VIDEO_CONFIG = """<View>
  <Labels name="labels" toName="video"><Label value="swan"/></Labels>
  <Video name="video" value="$video" framerate="6"/>
  <VideoRectangle name="track" toName="video" smart="true"/>
</View>"""


def keypoint(x, y, label="swan", positive=True, width=320, height=176) -> dict:
    return {"id": f"k{x}-{y}", "from_name": "click", "to_name": "image", "type": "keypointlabels", "is_positive": positive,
            "original_width": width, "original_height": height, "value": {"x": x, "y": y, "width": 1, "keypointlabels": [label]}}


def rectangle(x, y, w, h, label="swan", width=320, height=176) -> dict:
    return {"id": "r1", "from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": width,
            "original_height": height, "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def video_box(frame, x, y, w, h) -> dict:
    keyframe = {"frame": frame, "x": x, "y": y, "width": w, "height": h, "rotation": 0, "time": frame / 6, "enabled": True}
    return {"id": "swan1", "from_name": "track", "to_name": "video", "type": "videorectangle",
            "value": {"framesCount": 4, "duration": 4 / 6, "sequence": [keyframe], "labels": ["swan"]}}


def expected_logits(model, image: np.ndarray, points=None, labels=None, box=None) -> tuple[np.ndarray, float]:
    """The logits [H, W] and IoU of what Masklet's ImagePredictor gives for the prompt (the best
    of three for one click)."""
    predictor = masklet.ImagePredictor(model)
    predictor.set_image(image)
    multimask = box is None and len(points) == 1
    logits, ious, _ = predictor.predict(point_coords=None if points is None else np.array(points, np.float32),
                                        point_labels=None if labels is None else np.array(labels),
                                        box=None if box is None else np.array(box, np.float32), multimask_output=multimask,
                                        return_logits=True)
    return logits[int(np.argmax(ious))], float(ious.max())


def expected_mask(model, image: np.ndarray, points=None, labels=None, box=None) -> tuple[np.ndarray, float]:
    """What Masklet's ImagePredictor gives for the prompt, as a mask."""
    logits, iou = expected_logits(model, image, points, labels, box)
    return logits > 0, iou


def assert_same_mask_from_another_process(actual: np.ndarray, logits: np.ndarray) -> None:
    """`actual` (computed by the masklet label-studio process) equals the mask of `logits` (computed
    here) wherever the logit is clear of the threshold: another process may sum in another order
    (its own thread pool), which can flip a pixel whose logit is within rounding of 0."""
    clear = np.abs(logits) > 1e-2
    np.testing.assert_array_equal(actual[clear], (logits > 0)[clear])
    assert (actual != (logits > 0)).sum() <= 10


def expected_boxes(model, path: Path, frame: int, box_px, frames: int) -> dict[int, list[float] | None]:
    """Masklet's VideoPredictor tracking one box: 1-based frame -> [x, y, w, h] in percent."""
    predictor = masklet.VideoPredictor(model, show_progress=False)
    with open_video(path) as video:
        state = predictor.init_state(video)
        predictor.add_new_points_or_box(state, frame, 0, box=np.array(box_px, np.float32))
        boxes = {}
        for result in predictor.propagate(state, frame, frames):
            mask = result.masks[0]
            ys, xs = np.nonzero(mask)
            h, w = mask.shape
            boxes[result.frame_idx + 1] = None if not (result.visible[0] and xs.size) else [
                100 * xs.min() / w, 100 * ys.min() / h, 100 * (xs.max() + 1 - xs.min()) / w, 100 * (ys.max() + 1 - ys.min()) / h]
    return boxes


def tracked_boxes(result: dict) -> dict[int, list[float]]:
    return {k["frame"]: [k["x"], k["y"], k["width"], k["height"]] for k in result["value"]["sequence"] if k.get("enabled", True)}


def write_clip(path: Path, size=(320, 176), frames=4) -> Path:
    """The first frames of DAVIS blackswan as an MPEG-4 clip at 6 fps."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=6)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            image = np.asarray(Image.fromarray(davis_frame("blackswan", i)[0]).resize(size))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


# ---------------------------------------------------------------- brush RLE


def sample_masks() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:480, :854]
    disc = (yy - 240) ** 2 + (xx - 300) ** 2 < 150**2
    return [np.zeros((3, 5), bool), np.ones((1, 1), bool), rng.random((40, 70)) > 0.5, disc, ~disc,
            np.ones((300, 300), bool)]  # 360000 values: one run split into blocks of 65536


def test_brush_rle_round_trip_and_errors():
    for mask in sample_masks():
        np.testing.assert_array_equal(rle_to_mask(mask_to_rle(mask), *mask.shape), mask)
    values = np.array([7] * 20 + [1, 2, 3] + [0] * 300, np.uint8)
    np.testing.assert_array_equal(decode_values(encode_values(values)), values)
    rle = mask_to_rle(np.ones((4, 4), bool))
    with pytest.raises(BrushRleError, match="original_width / original_height"):
        rle_to_mask(rle, 4, 5)
    with pytest.raises(BrushRleError, match="cut short"):
        decode_values(rle[:-3])
    with pytest.raises(BrushRleError, match="byte values"):
        decode_values([300, 1])
    with pytest.raises(BrushRleError, match="2-D"):
        mask_to_rle(np.ones(4, bool))


def label_studio_python() -> Path:
    python = LABEL_STUDIO.parent / "python"
    if not python.exists():
        pytest.skip(f"Label Studio is not installed at {LABEL_STUDIO} (run `bash .ci/label_studio.sh`, or set MASKLET_TEST_LABEL_STUDIO)")
    return python


def test_brush_rle_is_label_studios_own(tmp_path):
    """Byte for byte what label_studio_sdk's mask2rle writes, and its decoder reads ours back."""
    masks = sample_masks()
    np.savez(tmp_path / "masks.npz", *masks)
    (tmp_path / "ours.json").write_text(json.dumps([mask_to_rle(m) for m in masks]))
    script = """
import json, sys, numpy as np
from label_studio_sdk.converter import brush
folder = sys.argv[1]
masks = list(np.load(folder + "/masks.npz").values())
ours = json.load(open(folder + "/ours.json"))
decoded = [brush.decode_rle(bytes(r)).reshape(m.shape[0], m.shape[1], 4)[:, :, 3].tolist() for r, m in zip(ours, masks)]
print(json.dumps({"encoded": [list(map(int, brush.mask2rle(m.astype(np.uint8) * 255))) for m in masks], "decoded": decoded}))
"""
    run = subprocess.run([label_studio_python(), "-c", script, tmp_path], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    theirs = json.loads(run.stdout)
    for mask, ours, encoded, decoded in zip(masks, json.loads((tmp_path / "ours.json").read_text()), theirs["encoded"], theirs["decoded"]):
        assert ours == encoded
        np.testing.assert_array_equal(np.array(decoded) == 255, mask)
        np.testing.assert_array_equal(rle_to_mask(encoded, *mask.shape), mask)


# ---------------------------------------------------------------- the protocol (TestClient)


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and keeps each request's Authorization header."""

    seen: list = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A frame and a 4-frame clip of DAVIS blackswan at 320x176 on a local HTTP server."""
    folder = tmp_path_factory.mktemp("media")
    image = np.asarray(Image.fromarray(davis_frame("blackswan", 0)[0]).resize((320, 176)))
    Image.fromarray(image).save(folder / "swan.png")
    write_clip(folder / "swan.mp4")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RecordingHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "image": image, "folder": folder}
    server.shutdown()


@pytest.fixture(scope="module")
def client(micro_model):
    return fastapi_testclient.TestClient(create_app(MaskletBackend(micro_model, "masklet-test", track_frames=TRACK_FRAMES)))


def predict(client, tasks, config=IMAGE_CONFIG, context=None, project="1.1700000000"):
    return client.post("/predict", json={"tasks": tasks, "label_config": config, "project": project,
                                         "params": {"login": None, "password": None, "context": context}})


def test_health_setup_webhook(client):
    for path in ("/health", "/"):
        assert client.get(path).json()["status"] == "UP"
    assert client.get("/health").json()["model_class"] == "MaskletBackend"
    r = client.post("/setup", json={"project": "3.1700000000", "schema": IMAGE_CONFIG, "hostname": "http://localhost:8080",
                                    "access_token": "abc", "extra_params": None})
    assert r.status_code == 200 and r.json() == {"model_version": "masklet-test"}
    r = client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 3}})
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_click_and_box_give_masklets_masks(client, media, micro_model):
    task = {"id": 1, "data": {"image": media["url"] + "/swan.png"}}
    r = predict(client, [task], context={"result": [keypoint(50, 25)]})  # 160, 44 in pixels
    assert r.status_code == 200, r.text
    (prediction,) = r.json()["results"]
    (region,) = prediction["result"]
    assert (region["type"], region["from_name"], region["to_name"]) == ("brushlabels", "mask", "image")
    assert (region["original_width"], region["original_height"], region["value"]["brushlabels"]) == (320, 176, ["swan"])
    mask, iou = expected_mask(micro_model, media["image"], [[160, 44]], [1])
    np.testing.assert_array_equal(rle_to_mask(region["value"]["rle"], 176, 320), mask)
    assert region["score"] == pytest.approx(iou) and prediction["score"] == pytest.approx(iou)
    assert prediction["model_version"] == "masklet-test"

    regions = [rectangle(25, 25, 50, 50, label="water"), keypoint(50, 50, label="water", positive=False)]
    (prediction,) = predict(client, [task], context={"result": regions}).json()["results"]
    (region,) = prediction["result"]
    mask, _ = expected_mask(micro_model, media["image"], [[160, 88]], [0], box=[80, 44, 240, 132])
    np.testing.assert_array_equal(rle_to_mask(region["value"]["rle"], 176, 320), mask)
    assert region["value"]["brushlabels"] == ["water"]


def test_retrieve_predictions_takes_each_tasks_latest_annotation(client, media, micro_model):
    url = media["url"] + "/swan.png"
    old = {"id": 1, "updated_at": "2026-01-01T00:00:00Z", "result": [keypoint(10, 10)]}
    new = {"id": 2, "updated_at": "2026-01-02T00:00:00Z", "result": [keypoint(50, 25)]}
    skipped = {"id": 3, "updated_at": "2026-01-03T00:00:00Z", "was_cancelled": True, "result": [keypoint(90, 90)]}
    tasks = [{"id": 1, "data": {"image": url}, "annotations": [old, new, skipped]},
             {"id": 2, "data": {"image": url}, "annotations": []}]
    r = predict(client, tasks)
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    np.testing.assert_array_equal(rle_to_mask(first["result"][0]["value"]["rle"], 176, 320),
                                  expected_mask(micro_model, media["image"], [[160, 44]], [1])[0])
    assert second == []  # no prompts: no prediction


def test_video_box_is_tracked(client, media, micro_model):
    task = {"id": 5, "data": {"video": media["url"] + "/swan.mp4"}}
    region = video_box(1, 25, 25, 50, 50)
    r = predict(client, [task], config=VIDEO_CONFIG, context={"result": [region]})
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"][0]["result"]
    assert (result["id"], result["type"], result["from_name"], result["to_name"]) == ("swan1", "videorectangle", "track", "video")
    value = result["value"]
    assert (value["framesCount"], value["labels"], value["sequence"][0]) == (4, ["swan"], region["value"]["sequence"][0])
    expected = expected_boxes(micro_model, media["folder"] / "swan.mp4", 0, [80, 44, 240, 132], TRACK_FRAMES)
    del expected[1]  # the drawn keyframe stays as drawn
    assert tracked_boxes(result) == {f: pytest.approx(b) for f, b in expected.items() if b is not None} | {1: [25, 25, 50, 50]}
    assert [k["frame"] for k in value["sequence"]] == sorted(k["frame"] for k in value["sequence"])
    assert all(k["time"] == pytest.approx(k["frame"] / 6) for k in value["sequence"])


def test_label_studio_paths_use_setup_url_and_token(client, media):
    shutil.copy(media["folder"] / "swan.png", media["folder"] / "swan-2.png")  # not the image embedded last
    RecordingHandler.seen.clear()
    client.post("/setup", json={"project": "7.1700000000", "hostname": media["url"], "access_token": "legacy-token"})
    task = {"id": 1, "data": {"image": "/swan-2.png"}}
    r = predict(client, [task], context={"result": [keypoint(50, 25)]}, project="7.1700000000")
    assert r.status_code == 200, r.text
    assert RecordingHandler.seen == [("/swan-2.png", "Token legacy-token")]
    r = predict(client, [task], context={"result": [keypoint(50, 25)]}, project="8.1700000000")
    assert r.status_code == 400 and "--label-studio-url" in r.json()["detail"]


@pytest.mark.parametrize("config, regions, message", [
    (IMAGE_CONFIG.replace("BrushLabels", "PolygonLabels"), [keypoint(50, 25)], "no <BrushLabels toName='image'>"),
    (IMAGE_CONFIG, [keypoint(50, 25, label="duck")], "'duck' is not a label of <BrushLabels name='mask'>"),
    (IMAGE_CONFIG, [{**rectangle(1, 1, 5, 5), "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 30}}], "rotated"),
    (IMAGE_CONFIG, [{**keypoint(1, 1), "value": {"y": 1}}], "no number 'x'"),
    ("<View><Image", [keypoint(50, 25)], "not valid XML"),
    (VIDEO_CONFIG, [video_box(9, 1, 1, 5, 5)], "keyframe is on frame 9 but the video has 4 frames"),
])
def test_bad_requests_say_what_is_wrong(client, media, config, regions, message):
    field = "video" if "Video" in config else "image"
    task = {"id": 1, "data": {field: media["url"] + ("/swan.mp4" if field == "video" else "/swan.png")}}
    r = predict(client, [task], config=config, context={"result": regions})
    assert r.status_code == 400 and message in r.json()["detail"], r.text


def test_no_prompt_in_context_gives_an_empty_prediction(client, media):
    task = {"id": 1, "data": {"image": media["url"] + "/swan.png"}}
    r = predict(client, [task], context={"result": [{"type": "choices", "to_name": "image", "value": {"choices": ["a"]}}]})
    assert r.status_code == 200 and r.json()["results"][0]["result"] == []


# ---------------------------------------------------------------- a real Label Studio server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll /health until it answers; skip if the process ends or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"{url} stopped at start (exit {process.returncode}): {log.read_text()[-1500:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.skip(f"{url} did not answer within {timeout:.0f} s: {log.read_text()[-1500:]}")


@pytest.fixture
def started(tmp_path):
    """Start processes in their own session; stop them (and their children) afterwards."""
    processes = []

    def start(argv, log: Path, env=None) -> subprocess.Popen:
        process = subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def label_studio(tmp_path, started):
    """A Label Studio server on loopback with its own SQLite in tmp_path: (API client, URL)."""
    if not LABEL_STUDIO.exists():
        pytest.skip(f"Label Studio is not installed at {LABEL_STUDIO} (run `bash .ci/label_studio.sh`, or set MASKLET_TEST_LABEL_STUDIO)")
    data = tmp_path / "label-studio"
    data.mkdir()
    if TEMPLATE.exists():
        shutil.copy(TEMPLATE, data / "label_studio.sqlite3")  # migrated already: starts in seconds
    port, token = free_port(), "masklet-test-token"
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "ML_BLOCK_LOCAL_IP": "false",
           "SSRF_PROTECTION_ENABLED": "false", "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false",
           "fflag_feat_utc_210_prediction_validation_15082025": "true"}  # Label Studio checks predictions on save
    server = started([LABEL_STUDIO, "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(port),
                      "--data-dir", data, "--username", "masklet@example.com", "--password", "masklet-test",
                      "--user-token", token, "--enable-legacy-api-token"], tmp_path / "label-studio.log", env)
    url = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    wait_until_up(url, server, tmp_path / "label-studio.log", 180)
    print(f"Label Studio answered after {time.monotonic() - began:.1f} s")
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=120) as api:
        yield api


def new_project(api, config: str, media: Path, backend_url: str) -> tuple[int, int, int]:
    """(project id, task id, ML backend id): a project with one uploaded file and Masklet connected."""
    project = api.post("/api/projects", json={"title": media.stem, "label_config": config})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    r = api.post(f"/api/projects/{pid}/import", files={"file": (media.name, media.read_bytes())})
    assert r.status_code == 201, r.text
    (task,) = api.get("/api/tasks", params={"project": pid}).json()["tasks"]
    ml = api.post("/api/ml", json={"url": backend_url, "project": pid, "is_interactive": True, "title": "masklet"})
    assert ml.status_code == 201 and ml.json()["readable_state"] == "Connected", ml.text
    return pid, task["id"], ml.json()["id"]


def stored_prediction(api, pid: int, tid: int, annotation: list) -> dict:
    """The prediction Label Studio stores after 'retrieve predictions' for a task with this annotation."""
    assert api.post(f"/api/tasks/{tid}/annotations", json={"result": annotation}).status_code == 201
    r = api.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": pid},
                 json={"selectedItems": {"all": True, "excluded": []}})
    assert r.status_code == 200, r.text
    (prediction,) = api.get("/api/predictions", params={"task": tid}).json()
    return prediction


@pytest.mark.label_studio
def test_label_studio_server_end_to_end(label_studio, started, tmp_path, truck_image):
    api = label_studio
    # a personal access token, as Label Studio's default organisation settings want
    pat = api.post("/api/token/")
    assert pat.status_code == 201, pat.text
    port = free_port()
    backend_url = f"http://127.0.0.1:{port}"
    backend = started([sys.executable, "-m", "masklet.cli", "label-studio", "--port", str(port), "--track-frames",
                       str(TRACK_FRAMES), "--label-studio-token", pat.json()["token"]], tmp_path / "masklet.log")
    wait_until_up(backend_url, backend, tmp_path / "masklet.log", 120)
    nano = masklet.load_model("masklet-nano")

    # an image: an interactive click, then a box from a stored annotation
    truck = tmp_path / "truck.png"
    Image.fromarray(truck_image).save(truck)
    height, width = truck_image.shape[:2]
    pid, tid, ml = new_project(api, IMAGE_CONFIG, truck, backend_url)
    r = api.post(f"/api/ml/{ml}/interactive-annotating",
                 json={"task": tid, "context": {"result": [keypoint(40, 50, width=width, height=height)]}})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    (region,) = r.json()["data"]["result"]
    logits, _ = expected_logits(nano, truck_image, [[0.4 * width, 0.5 * height]], [1])
    assert_same_mask_from_another_process(rle_to_mask(region["value"]["rle"], height, width), logits)

    prediction = stored_prediction(api, pid, tid, [rectangle(10, 20, 50, 40, width=width, height=height)])
    (region,) = prediction["result"]
    assert (region["type"], region["from_name"], region["to_name"]) == ("brushlabels", "mask", "image")
    logits, iou = expected_logits(nano, truck_image, box=[0.1 * width, 0.2 * height, 0.6 * width, 0.6 * height])
    assert_same_mask_from_another_process(rle_to_mask(region["value"]["rle"], height, width), logits)
    assert prediction["score"] == pytest.approx(iou, abs=1e-4) and prediction["model_version"].startswith("masklet-")

    # a video: a drawn box tracked through the clip
    clip = write_clip(tmp_path / "swan.mp4")
    pid, tid, _ = new_project(api, VIDEO_CONFIG, clip, backend_url)
    prediction = stored_prediction(api, pid, tid, [video_box(1, 25, 25, 50, 50)])
    (result,) = prediction["result"]
    assert (result["type"], result["from_name"], result["to_name"]) == ("videorectangle", "track", "video")
    expected = expected_boxes(nano, clip, 0, [80, 44, 240, 132], TRACK_FRAMES)
    assert set(expected) == {1, 2, 3, 4} and all(expected.values())  # the swan stays in sight
    del expected[1]
    # boxes in percent; abs=0.5 (about a pixel of the 320x180 clip) allows a boundary pixel to flip as above
    assert tracked_boxes(result) == {f: pytest.approx(b, abs=0.5) for f, b in expected.items()} | {1: [25, 25, 50, 50]}
