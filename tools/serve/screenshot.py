"""The README's screenshot of `masklet serve`: scikit-image's 'coffee' photo (CC0) as a short
clip of a camera panning over it, the cup clicked and propagated in headless Chromium.

    .venv/bin/python tools/serve/screenshot.py [--output docs/serve.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image


def pan_frames(folder: Path, count: int = 8) -> list[Path]:
    from skimage import data

    photo = data.coffee()  # 400 x 600
    paths = []
    for t in range(count):
        x = 10 + 8 * t
        crop = photo[20:380, x : x + 480]
        paths.append(folder / f"{t:05d}.jpg")
        Image.fromarray(np.ascontiguousarray(crop)).save(paths[-1], quality=92)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/serve.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    import masklet
    from masklet.serve.app import create_app
    from masklet.serve.settings import ServeSettings
    from masklet.serve.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "coffee").mkdir()
        paths = pan_frames(tmp / "coffee")
        ws = Workspace(ServeSettings(data_dir=tmp / "data"), masklet.load_model("masklet-nano"), "masklet-nano")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning"))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 620}, device_scale_factor=1)
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{sock.getsockname()[1]}/")
            page.set_input_files("#upload", [str(p) for p in paths])
            page.wait_for_function("window.masklet.media && document.getElementById('frame').complete")
            stage = page.locator("#overlay").bounding_box()
            scale = stage["width"] / 480
            for x, y in ((205, 190), (150, 190)):  # the cup, then its saucer (image pixels)
                page.mouse.click(stage["x"] + x * scale, stage["y"] + y * scale)
                time.sleep(1)
            page.click("#prop-forward")
            page.wait_for_function("window.masklet.jobsFinished === 1")
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            time.sleep(0.5)
            page.screenshot(path=args.output)
            browser.close()
        Image.open(args.output).convert("RGB").quantize(colors=128).save(args.output, optimize=True)
        server.should_exit = True
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
