"""One soak client: a thread that, until its deadline or request budget, picks weighted random
operations on its own project's media (valid ones, which it records in its model of the
acknowledged state, and invalid ones, which must be refused with the right 4xx) and reads
its media back (masks, frames, history, exports)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx
import numpy as np

from masklet.io.rle import rle_encode
from soak.checks import EXPORT_FORMATS
from soak.clips import UPLOADS, damaged_uploads, make_clip
from soak.expected import ExpectedMedia, Step
from soak.gate import ServerGate
from soak.record import Recorder

BUSY = 409  # the API's "busy video / all sessions busy", allowed on every change
STOPPING = 503  # "the server is stopping": allowed while a stop is under way
BIG_ID = 2**40
PROMPTS = ("click", "mask", "clear", "click_while_propagating")  # changes of one frame's masks


class ServerGone(Exception):
    """The request lost the server (stopped for a restart)."""


class SoakClient(threading.Thread):
    def __init__(self, index: int, base_url: str, token: str, seed: int, deadline: float, max_requests: int,
                 gate: ServerGate, recorder: Recorder, frames: tuple[int, int], frame_size: tuple[int, int],
                 max_media: int) -> None:
        super().__init__(name=f"soak-client-{index}", daemon=True)
        self.index, self.base_url, self.token = index, base_url, token
        self.rng = np.random.default_rng([seed, index])
        self.deadline, self.max_requests, self.sent = deadline, max_requests, 0
        self.gate, self.recorder = gate, recorder
        self.frames, self.frame_size, self.max_media = frames, frame_size, max_media
        self.media: dict[int, ExpectedMedia] = {}  # this client's media, also those a lost answer froze
        self.deleted: list[int] = []
        self.project_id: int | None = None
        self.http = self._client()
        self.ops: dict[str, tuple[float, Callable[[], None]]] = {
            # valid
            "upload": (3, self.upload), "add_object": (4, self.add_object), "rename_object": (1, self.rename_object),
            "click": (14, self.click), "mask": (2, self.mask), "clear": (1, self.clear),
            "remove_object": (1, self.remove_object), "propagate": (4, self.propagate), "undo": (3, self.undo),
            "redo": (2, self.redo), "read_masks": (4, self.read_masks), "read_frame": (3, self.read_frame),
            "read_state": (3, self.read_state), "export": (1.5, self.export), "delete_media": (0.7, self.delete_media),
            "delete_project": (0.2, self.delete_project),
            # invalid
            "bad_request": (6, self.bad_request), "bad_upload": (1, self.bad_upload),
            "undo_past_start": (0.5, self.undo_past_start), "cancel_finished": (0.5, self.cancel_finished),
            "oversized_body": (0.1, self.oversized_body),
        }

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=180)

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        names = list(self.ops)
        weights = np.array([self.ops[n][0] for n in names])
        try:
            while time.monotonic() < self.deadline and self.sent < self.max_requests:
                self.gate.park()
                self.http.close()  # after a restart, no pooled connection to the stopped server
                self.http = self._client()
                try:
                    self.ensure_project()
                    while self.gate.up and time.monotonic() < self.deadline and self.sent < self.max_requests:
                        self.ops[names[self.rng.choice(len(names), p=weights / weights.sum())]][1]()
                except ServerGone:
                    continue
        except Exception as e:  # a broken client is a finding: reported, the others go on
            self.recorder.violation(f"client {self.index} stopped: {type(e).__name__}: {e}")
        finally:
            self.gate.leave()
            self.http.close()

    def ensure_project(self) -> None:
        while self.project_id is None:
            r = self.call("create_project", "POST", "/api/projects", {201}, json={"name": f"soak {self.index}"})
            self.project_id = r.json()["id"] if r.status_code == 201 else None

    def call(self, op: str, method: str, url: str, expect: set[int], media: ExpectedMedia | None = None,
             **kwargs) -> httpx.Response:
        """Send a request; its status must be in `expect`. A lost server is ServerGone (and the
        media's model uncertain: the change may have landed) while a restart is under way, a
        violation otherwise."""
        self.sent += 1
        start = time.perf_counter()
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as e:
            self.recorder.request(op, "lost", time.perf_counter() - start)
            if media is not None:
                frame = (kwargs.get("json") or {}).get("frame_idx")
                touched = set(range(media.num_frames)) if op in ("undo", "redo", "remove_object") else set()
                media.lose(op, {frame} if op in PROMPTS and frame is not None else touched)
            if not self.gate.up:
                raise ServerGone from None
            self.recorder.violation(f"{op} {method} {url}: {type(e).__name__} while the server was up")
            raise ServerGone from None
        stopping = response.status_code == STOPPING and not self.gate.up
        self.recorder.request(op, response.status_code, time.perf_counter() - start, expected=stopping)
        if stopping:  # refused, changing nothing, by a server on its way down
            raise ServerGone
        if response.status_code not in expect:
            self.recorder.violation(f"{op} {method} {url}: {response.status_code} (expected {sorted(expect)}): "
                                    f"{response.text[:200]}")
        return response

    # ------------------------------------------------------------------ choosing

    def _pick_media(self, ready: Callable[[ExpectedMedia], bool] = lambda m: True) -> ExpectedMedia | None:
        usable = [m for m in self.media.values() if m.uncertain is None and ready(m)]
        return usable[self.rng.integers(len(usable))] if usable else None

    def _pick_object(self, media: ExpectedMedia, removed: bool = False) -> int | None:
        ids = [o for o in media.objects if (o in media.removed()) == removed]
        return int(self.rng.choice(ids)) if ids else None

    def _point(self, media: ExpectedMedia) -> list[float]:
        return [float(self.rng.uniform(0, media.width - 1)), float(self.rng.uniform(0, media.height - 1))]

    def _frame(self, media: ExpectedMedia) -> int:
        return int(self.rng.integers(media.num_frames))

    # ------------------------------------------------------------------ valid changes

    def upload(self) -> None:
        if sum(m.uncertain is None for m in self.media.values()) >= self.max_media:
            return self.delete_media()
        self.new_media(str(self.rng.choice(list(UPLOADS))), int(self.rng.integers(self.frames[0], self.frames[1] + 1)),
                       self.frame_size)

    def new_media(self, kind: str, frames: int, size: tuple[int, int]) -> ExpectedMedia | None:
        clip = make_clip(self.rng, frames, *size)
        files = UPLOADS[kind](clip, f"c{self.index}-{self.sent}")
        r = self.call(f"upload_{kind}", "POST", f"/api/projects/{self.project_id}/media", {201}, files=files)
        if r.status_code != 201:
            return None
        media = r.json()
        self.media[media["id"]] = ExpectedMedia(media["id"], self.project_id, media["num_frames"], media["width"],
                                                media["height"])
        return self.media[media["id"]]

    def annotate_new_media(self, frames: int, size: tuple[int, int]) -> None:
        """Upload a clip of `frames` at `size`, add an object, click it and propagate it through
        the clip: one more model session built, holding every frame's output and memory."""
        media = self.new_media("jpeg", frames, size)
        if media is not None:
            self.add_object(media)
            self.click(media)
            self.propagate(media, whole=True)

    def add_object(self, media: ExpectedMedia | None = None) -> None:
        media = media or self._pick_media(lambda m: len(m.objects) < 6)
        if media is None:
            return self.upload()
        body = {"name": f"thing {self.sent}"} if self.rng.random() < 0.5 else None
        r = self.call("add_object", "POST", f"/api/media/{media.media_id}/objects", {201}, media, json=body)
        if r.status_code == 201:
            media.objects[r.json()["obj_id"]] = r.json()["name"]

    def rename_object(self) -> None:
        media = self._pick_media(lambda m: bool(m.objects))
        if media is None:
            return self.add_object()
        obj_id = int(self.rng.choice(list(media.objects)))
        name = f"renamed {self.sent}"
        r = self.call("rename_object", "PATCH", f"/api/media/{media.media_id}/objects/{obj_id}", {200}, media,
                      json={"name": name})
        if r.status_code == 200:
            media.objects[obj_id] = name

    def _prompt(self, op: str, media: ExpectedMedia, obj_id: int, route: str, body: dict) -> None:
        r = self.call(op, "POST", f"/api/media/{media.media_id}/objects/{obj_id}/{route}", {200, BUSY}, media, json=body)
        if r.status_code == 200:
            out = r.json()
            media.add_step(Step(out["step_id"], "prompt", {(m["obj_id"], m["frame_idx"]): m["counts"] for m in out["masks"]}))

    def click(self, media: ExpectedMedia | None = None) -> None:
        media = media or self._pick_media()
        obj_id = None if media is None else self._pick_object(media)
        if obj_id is None:
            return self.add_object()
        body: dict = {"frame_idx": self._frame(media)}
        if self.rng.random() < 0.25:
            (x1, y1), (x2, y2) = sorted([self._point(media), self._point(media)])
            body["box"] = [x1, min(y1, y2), x2, max(y1, y2)]
        else:
            count = int(self.rng.integers(1, 4))
            body["points"] = [self._point(media) for _ in range(count)]
            body["labels"] = [1] + [int(v) for v in self.rng.integers(0, 2, count - 1)]
            body["clear_old_points"] = bool(self.rng.random() < 0.6)
        self._prompt("click", media, obj_id, "clicks", body)

    def mask(self) -> None:
        media = self._pick_media()
        obj_id = None if media is None else self._pick_object(media)
        if obj_id is None:
            return self.add_object()
        drawn = np.zeros((media.height, media.width), bool)
        (x1, y1), (x2, y2) = (sorted(map(int, p)) for p in zip(self._point(media), self._point(media)))
        drawn[y1:y2 + 1, x1:x2 + 1] = True
        self._prompt("mask", media, obj_id, "mask", {"frame_idx": self._frame(media), "counts": rle_encode(drawn)["counts"]})

    def clear(self) -> None:
        media = self._pick_media(lambda m: bool(m.prompted() - m.removed()))
        if media is None:
            return self.click()
        obj_id = int(self.rng.choice(sorted(media.prompted() - media.removed())))
        self._prompt("clear", media, obj_id, "clear", {"frame_idx": self._frame(media)})

    def remove_object(self) -> None:
        media = self._pick_media()
        obj_id = None if media is None else self._pick_object(media)
        if obj_id is None:
            return self.add_object()
        r = self.call("remove_object", "DELETE", f"/api/media/{media.media_id}/objects/{obj_id}", {200, BUSY}, media)
        if r.status_code == 200:
            media.add_step(Step(0, "prompt", {}, removes=obj_id))  # its id comes back with an undo

    def _move(self, op: str, media: ExpectedMedia) -> None:
        predicted = media.predicted_undo() if op == "undo" else media.predicted_redo()
        r = self.call(op, "POST", f"/api/media/{media.media_id}/{op}", {200, BUSY} if predicted else {BUSY}, media)
        if r.status_code != 200:
            return
        changed = r.json()["changed"]
        if [p for p in predicted if p] != [c for c, p in zip(changed, predicted) if p] or len(changed) != len(predicted):
            self.recorder.violation(f"media {media.media_id}: {op} changed steps {changed}, expected {predicted}")
            media.uncertain = op
        steps = [s for s in media.steps if s.undone != (op == "undo")]
        for step, step_id in zip(steps[-len(predicted):] if op == "undo" else steps[:len(predicted)], changed):
            step.step_id = step_id  # a removal's id is first learnt here
        media.mark(changed, undone=op == "undo")

    def undo(self) -> None:
        media = self._pick_media(lambda m: m.history()["can_undo"])
        if media is not None:
            self._move("undo", media)

    def redo(self) -> None:
        media = self._pick_media(lambda m: m.history()["can_redo"])
        if media is not None:
            self._move("redo", media)

    def propagate(self, media: ExpectedMedia | None = None, whole: bool = False) -> None:
        """A propagation in a random direction and range, streamed, sometimes cancelled, sometimes
        with a click sent while it runs (`whole`: forward through every frame, no more)."""
        media = media or self._pick_media(lambda m: bool(m.prompted() - m.removed()))
        if media is None:
            return self.click()
        body: dict = {"direction": "forward" if whole else str(self.rng.choice(["forward", "backward", "both"]))}
        if not whole and self.rng.random() < 0.4:
            body["start_frame"] = self._frame(media)
        if not whole and self.rng.random() < 0.3:
            body["max_frames"] = int(self.rng.integers(0, media.num_frames))
        r = self.call("propagate", "POST", f"/api/media/{media.media_id}/propagations", {202, BUSY}, media, json=body)
        if r.status_code != 202:
            return
        job_id = r.json()["job_id"]
        probe = None
        if not whole and self.rng.random() < 0.3:  # a click while it runs: refused (409), or taken once it has finished
            obj_id = self._pick_object(media)
            if obj_id is not None:
                probe = self.call("click_while_propagating", "POST", f"/api/media/{media.media_id}/objects/{obj_id}/clicks",
                                  {200, BUSY}, media, json={"frame_idx": 0, "points": [self._point(media)], "labels": [1]})
        cancel_after = int(self.rng.integers(1, media.num_frames + 1)) if not whole and self.rng.random() < 0.4 else None
        frames = self._stream(media, job_id, cancel_after)
        try:
            job = self.call("job_state", "GET", f"/api/propagations/{job_id}", {200}).json()
        except ServerGone:  # its frames were stored before they were streamed
            media.lose("propagation", set(range(media.num_frames)) - set(frames["seen"]))
            media.add_step(Step(-job_id, "propagation", frames["masks"]))
            raise
        if job.get("step_id") is None and frames["seen"]:
            self.recorder.violation(f"media {media.media_id}: job {job} streamed frames but has no step")
        if job["state"] not in ("done", "cancelled") or job["frames_done"] != len(frames["seen"]):
            self.recorder.violation(f"media {media.media_id}: job {job} after {len(frames.get('seen', []))} frames")
        if job["state"] == "failed":  # a violation already; whether its step was kept is not known
            media.lose("propagation", set(range(media.num_frames)))
        elif job["step_id"] is not None:
            media.add_step(Step(job["step_id"], "propagation", frames["masks"]))
        if probe is not None and probe.status_code == 200:
            out = probe.json()
            media.add_step(Step(out["step_id"], "prompt", {(m["obj_id"], m["frame_idx"]): m["counts"] for m in out["masks"]}))

    def _stream(self, media: ExpectedMedia, job_id: int, cancel_after: int | None) -> dict:
        """The propagation's streamed frames {"masks": {(obj, frame): counts}, "seen": [frame, ...]},
        cancelled after `cancel_after` frames. Frames streamed before a lost server are kept:
        they were stored before they were sent."""
        received: dict = {"masks": {}, "seen": []}
        start, kind = time.perf_counter(), None
        try:
            with self.http.stream("GET", f"/api/propagations/{job_id}/events") as response:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "frame":
                        data = json.loads(line[6:])
                        received["seen"].append(data["frame_idx"])
                        received["masks"].update({(m["obj_id"], m["frame_idx"]): m["counts"] for m in data["masks"]})
                        if len(received["seen"]) == cancel_after:
                            self.call("cancel", "POST", f"/api/propagations/{job_id}/cancel", {200})
            self.recorder.request("propagation_events", response.status_code, time.perf_counter() - start)
        except (httpx.TransportError, ServerGone) as e:
            if isinstance(e, httpx.TransportError):
                self.recorder.request("propagation_events", "lost", time.perf_counter() - start)
            media.lose("propagation", set(range(media.num_frames)) - set(received["seen"]))
            media.add_step(Step(-job_id, "propagation", received["masks"]))  # its frames were stored before they were sent
            if not self.gate.up:
                raise ServerGone from None
            self.recorder.violation(f"propagation {job_id}: stream lost while the server was up")
            raise ServerGone from None
        return received

    def delete_media(self) -> None:
        media = self._pick_media()
        if media is None:
            return
        r = self.call("delete_media", "DELETE", f"/api/media/{media.media_id}", {204, BUSY}, media)
        if r.status_code == 204:
            del self.media[media.media_id]
            self.deleted.append(media.media_id)
            self.call("read_deleted", "GET", f"/api/media/{media.media_id}", {404})

    def delete_project(self) -> None:
        r = self.call("create_project", "POST", "/api/projects", {201}, json={"name": f"doomed {self.sent}"})
        if r.status_code != 201:
            return
        project = r.json()["id"]
        clip = make_clip(self.rng, 2, *self.frame_size)
        media = self.call("upload_jpeg", "POST", f"/api/projects/{project}/media", {201}, files=UPLOADS["jpeg"](clip, "doomed"))
        self.call("delete_project", "DELETE", f"/api/projects/{project}", {204})
        if media.status_code == 201:
            self.call("read_deleted", "GET", f"/api/media/{media.json()['id']}", {404})

    # ------------------------------------------------------------------ reading

    def read_masks(self) -> None:
        media = self._pick_media()
        if media is None:
            return self.upload()
        params = {"frame_idx": self._frame(media)} if self.rng.random() < 0.5 else None
        self.call("read_masks", "GET", f"/api/media/{media.media_id}/masks", {200}, params=params)

    def read_frame(self) -> None:
        media = self._pick_media()
        if media is not None:
            self.call("read_frame", "GET", f"/api/media/{media.media_id}/frames/{self._frame(media)}", {200})

    def read_state(self) -> None:
        media = self._pick_media()
        route = str(self.rng.choice(["/api/info", "/api/stats", "/api/projects", f"/api/projects/{self.project_id}/media"]
                                    + ([] if media is None else [f"/api/media/{media.media_id}/history",
                                                                 f"/api/media/{media.media_id}/objects",
                                                                 f"/api/media/{media.media_id}/propagation"])))
        self.call("read_state", "GET", route, {200})

    def export(self) -> None:
        form = str(self.rng.choice(EXPORT_FORMATS))
        self.call(f"export_{form}", "GET", f"/api/projects/{self.project_id}/export", {200}, params={"format": form})

    # ------------------------------------------------------------------ invalid

    def bad_request(self) -> None:
        """One request that must be refused, and change nothing."""
        media = self._pick_media()
        if media is None:
            return self.upload()
        m, w, h = f"/api/media/{media.media_id}", media.width, media.height
        obj_id = self._pick_object(media) or 1
        clicks = f"{m}/objects/{obj_id}/clicks"
        raw = {"headers": {"content-type": "application/json"}}
        cases = [
            ("unknown_media", "POST", f"/api/media/{BIG_ID}/objects/1/clicks", {404}, {"json": {"frame_idx": 0, "points": [[1, 1]], "labels": [1]}}),
            ("unknown_object", "POST", f"{m}/objects/250/clicks", {404}, {"json": {"frame_idx": 0, "points": [[1, 1]], "labels": [1]}}),
            ("point_outside", "POST", clicks, {400, 404, BUSY}, {"json": {"frame_idx": 0, "points": [[w + 40.0, h / 2]], "labels": [1]}}),
            ("frame_outside", "POST", clicks, {400, 404, BUSY}, {"json": {"frame_idx": media.num_frames + 2, "points": [[1, 1]], "labels": [1]}}),
            ("wrong_types", "POST", clicks, {422}, {"json": {"frame_idx": "zero", "points": "here", "labels": [1]}}),
            ("no_prompt", "POST", clicks, {400, 404, BUSY}, {"json": {"frame_idx": 0}}),
            ("box_added_to_clicks", "POST", clicks, {400, 404, BUSY}, {"json": {"frame_idx": 0, "box": [1, 1, 5, 5], "clear_old_points": False}}),
            ("bad_json", "POST", clicks, {422}, {"content": b'{"frame_idx": 0, "points": [[1, 2]', **raw}),
            ("nan", "POST", clicks, {422}, {"content": b'{"frame_idx": 0, "points": [[NaN, 1]], "labels": [1]}', **raw}),
            ("extra_field", "POST", clicks, {422}, {"json": {"frame_idx": 0, "points": [[1, 1]], "labels": [1], "x": 1}}),
            ("bad_rle", "POST", f"{m}/objects/{obj_id}/mask", {400, 404, BUSY}, {"json": {"frame_idx": 0, "counts": "!!not rle"}}),
            ("id_too_big", "GET", f"/api/media/{2**60}", {422}, {}),
            ("unknown_job", "POST", f"/api/propagations/{BIG_ID}/cancel", {404}, {}),
            ("export_bad_format", "GET", f"/api/projects/{self.project_id}/export", {422}, {"params": {"format": "bmp"}}),
            ("export_foreign_media", "GET", f"/api/projects/{self.project_id}/export", {400}, {"params": {"media_id": BIG_ID}}),
            ("frame_image_outside", "GET", f"{m}/frames/{media.num_frames + 5}", {400}, {}),
            ("masks_negative_frame", "GET", f"{m}/masks", {422}, {"params": {"frame_idx": -1}}),
            ("empty_name", "PATCH", f"{m}/objects/{obj_id}", {404, 422}, {"json": {"name": ""}}),
            ("delete_unknown", "DELETE", f"/api/media/{BIG_ID}", {404}, {}),
            ("unknown_route", "GET", "/api/nothing/here", {404}, {}),
            ("wrong_method", "PUT", "/api/projects", {405}, {}),
            ("no_token", "GET", "/api/projects", {401}, {"headers": {"Authorization": "Bearer wrong"}}),
            ("cross_site", "POST", "/api/projects", {403}, {"json": {"name": "x"}, "headers": {"Origin": "http://evil.example"}}),
            ("upload_no_files", "POST", f"/api/projects/{self.project_id}/media", {400, 422}, {"data": {"x": "1"}}),
        ]
        removed = self._pick_object(media, removed=True)
        if removed is not None:
            cases.append(("click_removed_object", "POST", f"{m}/objects/{removed}/clicks", {BUSY},
                          {"json": {"frame_idx": 0, "points": [[1, 1]], "labels": [1]}}))
        if not media.prompted() - media.removed():
            cases.append(("propagate_unprompted", "POST", f"{m}/propagations", {BUSY}, {}))
        name, method, url, expect, kwargs = cases[self.rng.integers(len(cases))]
        self.call(f"bad_{name}", method, url, expect, **kwargs)

    def bad_upload(self) -> None:
        clip = make_clip(self.rng, 2, *self.frame_size)
        uploads = damaged_uploads(clip)
        name = str(self.rng.choice(list(uploads)))
        files, expect = uploads[name]
        self.call(f"bad_upload_{name}", "POST", f"/api/projects/{self.project_id}/media", expect, files=files)

    def undo_past_start(self) -> None:
        """Undo until there is nothing left to undo, then once more: a 409 that changes nothing."""
        media = self._pick_media(lambda m: len(m.active()) <= 4)
        if media is None:
            return
        while media.uncertain is None and media.history()["can_undo"]:
            self._move("undo", media)
        if media.uncertain is None:
            self.call("undo_past_start", "POST", f"/api/media/{media.media_id}/undo", {BUSY}, media)

    def cancel_finished(self) -> None:
        media = self._pick_media()
        if media is None:
            return
        job = self.call("read_state", "GET", f"/api/media/{media.media_id}/propagation", {200}).json()
        if job is not None and job["state"] in ("done", "cancelled"):
            after = self.call("cancel_finished", "POST", f"/api/propagations/{job['job_id']}/cancel", {200}).json()
            if after["state"] != job["state"] or after["frames_done"] != job["frames_done"]:
                self.recorder.violation(f"cancelling finished job {job} changed it: {after}")

    def oversized_body(self) -> None:
        self.call("oversized_body", "POST", "/api/projects", {413}, content=b" " * (17 * 2**20),
                  headers={"content-type": "application/json"})
