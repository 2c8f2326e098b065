"""End to end in real headless Chromium (Debian's, driven by Playwright): upload a DAVIS clip
through the page, click the swan, propagate, add a negative correction click, propagate again,
export COCO; the exported masks equal the session's, and the overlay is drawn on the swan."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import FRAMES, SIZE, inside_point

from masklet.io.rle import rle_decode

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OBJECT_COLOUR = np.array([128, 0, 0])  # DAVIS palette entry 1


def _require_browser():
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium); the browser test needs it")


@pytest.fixture
def server(live_server):
    return live_server()


def wait(page, condition: str) -> None:
    """Wait until `condition` holds in the page, failing at once with the page's error if one shows."""
    page.wait_for_function(f"({condition}) || !document.getElementById('error').hidden")
    assert page.is_hidden("#error"), page.inner_text("#error-text")


def _masks(state_masks: dict, height: int, width: int) -> dict[int, np.ndarray]:
    return {int(t): rle_decode({"size": [height, width], "counts": counts}) for t, counts in state_masks.items()}


def test_click_propagate_correct_export(server, davis_clip, tmp_path):
    _require_browser()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    url, ws = server
    jpegs, truth = davis_clip
    folder = tmp_path / "upload"
    folder.mkdir()
    paths = []
    for t, data in enumerate(jpegs):
        paths.append(folder / f"{t:05d}.jpg")
        paths[-1].write_bytes(data)
    width, height = SIZE
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1, accept_downloads=True)
        page.set_default_timeout(120_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.set_input_files("#upload", [str(p) for p in paths])
        wait(page, "window.masklet.media && !window.masklet.loading && window.masklet.media.num_frames === %d" % FRAMES)
        page.wait_for_function("document.getElementById('frame').complete && document.getElementById('frame').naturalWidth > 0")

        # an error is shown in the page: nothing to propagate yet
        page.click("#prop-forward")
        page.wait_for_selector("#error:not([hidden])")
        assert "no object has prompts" in page.inner_text("#error-text")
        page.click("#error-close")

        stage = page.locator("#overlay").bounding_box()
        assert (round(stage["width"]), round(stage["height"])) == (width, height)
        x, y = inside_point(truth[0])
        page.mouse.click(stage["x"] + x + 0.5, stage["y"] + y + 0.5)
        wait(page, "window.masklet.masks.get(0) && window.masklet.masks.get(0).size === 1")
        page.click("#prop-forward")
        wait(page, "window.masklet.jobsFinished === 1 && window.masklet.masks.size === %d" % FRAMES)
        assert page.locator("#progress").get_attribute("value") == str(FRAMES)
        assert page.evaluate("document.getElementById('timeline').width") == FRAMES  # a column per frame

        # correction: a negative (shift) click on frame 3 outside the swan, then propagate again
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        assert page.inner_text("#frame-label").startswith("4 /")
        before = page.evaluate("window.masklet.masks.get(3).get(1).counts")
        current = rle_decode({"size": [height, width], "counts": before})
        wrong = current & ~truth[3]
        ys, xs = np.nonzero(wrong if wrong.any() else ~truth[3])
        page.keyboard.down("Shift")
        page.mouse.click(stage["x"] + xs[0] + 0.5, stage["y"] + ys[0] + 0.5)
        page.keyboard.up("Shift")
        wait(page, "window.masklet.masks.get(3).get(1).counts !== %s" % json.dumps(before))
        page.click("#prop-forward")
        wait(page, "window.masklet.jobsFinished === 2")
        steps = page.evaluate("fetch('/api/media/1/history').then(r => r.json())")
        assert steps["steps"] == 4 and steps["can_undo"]

        page_masks = page.evaluate("Object.fromEntries([...window.masklet.masks].map(([t, m]) => [t, m.get(1).counts]))")
        with page.expect_download() as info:
            page.click("#export-coco")
        coco = json.loads(Path(info.value.path()).read_text())
        shot = np.asarray(Image.open(io.BytesIO(page.locator("#stage").screenshot())).convert("RGB")).astype(int)
        assert not errors, errors
        browser.close()

    session = {m.frame_idx: rle_decode({"size": [height, width], "counts": m.counts})
               for m in ws.annotator.masks(1).values()}
    assert sorted(session) == list(range(FRAMES))
    shown = _masks(page_masks, height, width)
    images = {img["id"]: int(img["file_name"].split("/")[-1][:5]) for img in coco["images"]}
    exported = {images[a["image_id"]]: rle_decode(a["segmentation"]) for a in coco["annotations"]}
    for t in range(FRAMES):
        assert np.array_equal(shown[t], session[t]), t
        if session[t].any():
            assert np.array_equal(exported[t], session[t]), t  # IoU 1
        assert t in exported or not session[t].any()

    # the overlay on frame 3 (shown in the screenshot) is drawn where the object's mask is
    frame = np.asarray(Image.open(io.BytesIO(jpegs[3])).convert("RGB")).astype(int)
    assert shot.shape[:2] == (height, width)
    mask = session[3]
    from scipy import ndimage
    inner, outer = ndimage.binary_erosion(mask, iterations=2), ~ndimage.binary_dilation(mask, iterations=2)
    expected = (frame + OBJECT_COLOUR) / 2
    assert np.abs(shot[inner] - expected[inner]).mean() < 12
    assert np.abs(shot[outer] - frame[outer]).mean() < 6
    assert np.abs(shot[inner] - frame[inner]).mean() > 25


def test_box_tool_suggestions_and_undo_keys(server, davis_clip):
    """Keyboard and mouse: B and a dragged box, N for a new object, S for suggestions and a click
    accepting one, Ctrl+Z / Ctrl+Shift+Z undoing and redoing it."""
    _require_browser()
    import httpx
    from playwright.sync_api import sync_playwright
    from serve_fixtures import upload_frames

    url, ws = server
    jpegs, truth = davis_clip
    with httpx.Client(base_url=url) as http:
        project = http.post("/api/projects", json={"name": "keys"}).json()
        upload_frames(http, project["id"], jpegs[:3])
    width, height = SIZE
    ys, xs = (v.astype(float) for v in np.nonzero(truth[0]))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        page.set_default_timeout(120_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The frame images are held back: the overlay must have the media's size before its first
        # frame loads (it once took the size of the not-yet-loaded <img>, and a box dragged then,
        # on a loaded machine, was lost).
        held = []
        page.route("**/api/media/*/frames/*", lambda route: held.append(route))
        page.goto(url)
        wait(page, "window.masklet.media && !window.masklet.loading && window.masklet.media.num_frames === 3")
        assert page.evaluate("document.getElementById('frame').naturalWidth") == 0
        stage = page.locator("#overlay").bounding_box()
        assert (round(stage["width"]), round(stage["height"])) == (width, height)
        page.keyboard.press("b")
        assert "active" in page.get_attribute("#tool-box", "class")
        page.mouse.move(stage["x"] + float(xs.min()), stage["y"] + float(ys.min()))
        page.mouse.down()
        page.mouse.move(stage["x"] + float(xs.max()), stage["y"] + float(ys.max()), steps=5)
        page.mouse.up()
        wait(page, "window.masklet.masks.get(0) && window.masklet.masks.get(0).size === 1")
        boxed = rle_decode({"size": [height, width], "counts": page.evaluate("window.masklet.masks.get(0).get(1).counts")})
        assert boxed[truth[0]].mean() > 0.5  # the box found the swan
        for route in held:
            route.continue_()
        page.unroute("**/api/media/*/frames/*")
        page.wait_for_function("document.getElementById('frame').complete && document.getElementById('frame').naturalWidth > 0")
        assert page.locator("#overlay").bounding_box() == stage

        page.keyboard.press("n")
        wait(page, "window.masklet.objects.length === 2 && window.masklet.active === 2")
        page.keyboard.press("s")
        wait(page, "window.masklet.suggestions && window.masklet.suggestions.items.length > 0")
        items = page.evaluate("window.masklet.suggestions.items")
        smallest = min(items, key=lambda s: s["area"])
        x, y = inside_point(rle_decode({"size": [height, width], "counts": smallest["counts"]}))
        page.mouse.click(stage["x"] + x + 0.5, stage["y"] + y + 0.5)  # the pixel's centre
        wait(page, "window.masklet.objects.length === 3 && window.masklet.masks.get(0).has(3)")
        page.keyboard.press("Control+z")
        wait(page, "!window.masklet.masks.get(0) || !window.masklet.masks.get(0).has(3)")
        assert len(ws.annotator.masks(1)) == 1  # only the boxed object's mask is shown
        page.keyboard.press("Control+Shift+z")
        wait(page, "window.masklet.masks.get(0) && window.masklet.masks.get(0).has(3)")
        assert sorted(obj for obj, _ in ws.annotator.masks(1)) == [1, 3]
        assert not errors, errors
        browser.close()
