"""The checks after (and between) the soak's phases: the state each media shows against the
acknowledged changes, the database and data folder after a stop, and every project's exports
against exports built by replaying each media's stored log through a fresh model session."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from itertools import islice
from pathlib import Path

import httpx

from soak.expected import ExpectedMedia

EXPORT_FORMATS = ("coco", "davis", "sav", "yolo")


def state_differences(http: httpx.Client, media: list[ExpectedMedia], deleted: list[int]) -> list[str]:
    """Each media's history, objects and masks read back through the API against its model;
    deleted media must stay deleted."""
    problems = []
    for item in media:
        m = f"/api/media/{item.media_id}"
        if item.uncertain == "delete_media" and http.get(m).status_code == 404:
            continue
        history, objects, masks = (http.get(f"{m}/{route}") for route in ("history", "objects", "masks"))
        if {history.status_code, objects.status_code, masks.status_code} != {200}:
            problems.append(f"media {item.media_id}: read back {history.status_code} {objects.status_code} {masks.status_code}")
            continue
        problems += item.differences(history.json(), objects.json(), masks.json()["masks"])
    problems += [f"deleted media {d} is back" for d in deleted if http.get(f"/api/media/{d}").status_code != 404]
    return problems


def download_exports(http: httpx.Client, project_ids: list[int]) -> dict[str, dict[str, bytes]]:
    """{"<project>/<format>": {member name: bytes}} (COCO: one member, the JSON)."""
    out = {}
    for project_id in project_ids:
        for form in EXPORT_FORMATS:
            r = http.get(f"/api/projects/{project_id}/export", params={"format": form}, timeout=600)
            r.raise_for_status()
            out[f"{project_id}/{form}"] = unpacked(form, r.content)
    return out


def unpacked(form: str, content: bytes) -> dict[str, bytes]:
    """An export's files by name (a zip's members: their dates differ between two exports)."""
    if form == "coco":
        return {"coco.json": content}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist())}


def export_differences(first: dict[str, dict[str, bytes]], second: dict[str, dict[str, bytes]]) -> list[str]:
    problems = []
    for key in sorted(first.keys() | second.keys()):
        a, b = first.get(key, {}), second.get(key, {})
        differing = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
        if differing:
            problems.append(f"export {key}: {len(differing)} files differ, e.g. {differing[:3]}")
    return problems


def database_problems(data: Path, clean_stop: bool) -> list[str]:
    """After a stop: SQLite's integrity and foreign-key checks and every media's files there;
    after a clean stop (SIGTERM) also no propagation left running and no media folder that no
    media uses (a kill leaves them to the next start, which marks and sweeps them)."""
    problems = []
    db = sqlite3.connect(f"file:{data / 'masklet.db'}?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:5]}")
        if foreign := db.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign_key_check: {foreign[:5]}")
        running = db.execute("SELECT step_id FROM propagations WHERE state = 'running'").fetchall()
        if clean_stop and running:
            problems.append(f"propagations still marked running after the stop: {running[:5]}")
        paths = [row[0] for row in db.execute("SELECT path FROM media")]
    finally:
        db.close()
    problems += [f"media file {p} is missing" for p in paths if not (data / p).exists()]
    used = {Path(p).parts[1] for p in paths}
    if clean_stop:
        problems += [f"media folder {f.name} belongs to no media" for f in (data / "media").iterdir() if f.name not in used]
    return problems


def replayed_exports(data: Path, model, project_ids: list[int]) -> dict[str, dict[str, bytes]]:
    """The exports of `project_ids` built from masks recomputed by replaying every media's
    active steps (the server's replay functions) in a fresh session: what a server that had
    lost every stored mask would export. The server must be stopped (the data folder's lock)."""
    from masklet.io.video import open_video
    from masklet.predict.session import TrackingOptions, TrackingSession
    from masklet.serve.datadir import DataDir
    from masklet.serve.export import MediaMasks, export
    from masklet.serve.frames import FrameStore
    from masklet.serve.replay import apply_prompt, frame_masks, propagation_results
    from masklet.serve.storage import Catalog, History, open_database
    from masklet.serve.storage.database import sqlite_url
    from masklet.serve.storage.records import Propagation, StoredMask
    from masklet.serve.upload_names import media_name

    out = {}
    with DataDir(data) as folder:
        engine = open_database(sqlite_url(folder.root))
        catalog, history, frames = Catalog(engine), History(engine), FrameStore(folder)
        try:
            for project_id in project_ids:
                items = []
                for media in catalog.media_of(project_id):
                    masks: dict[tuple[int, int], StoredMask] = {}
                    with open_video(folder.resolve(media.path)) as video:
                        session = TrackingSession.for_video(model, video, TrackingOptions())
                        for step in history.steps(media.id):
                            if isinstance(step, Propagation):
                                session.commit_prompts()
                                results = list(islice(propagation_results(session, step.direction, step.start_frame,
                                                                          step.max_frames), step.frames_done))
                            else:
                                results = [r for r in [apply_prompt(session, step)] if r is not None]
                            for result in results:
                                frame = frame_masks(result)
                                masks.update({(m.obj_id, frame.frame_idx): StoredMask(step.step_id, m.obj_id,
                                              frame.frame_idx, m.counts, m.score) for m in frame.masks})
                    names = {o.obj_id: o.name for o in catalog.objects(media.id) if not o.removed}
                    items.append(MediaMasks(media, names, {k: v for k, v in masks.items() if k[0] in names}))
                base = media_name(catalog.project(project_id).name, set())
                for form in EXPORT_FORMATS:
                    file = export(items, form, base, folder, frames)
                    out[f"{project_id}/{form}"] = unpacked(form, file.path.read_bytes())
                    file.path.unlink()
        finally:
            frames.close()
            engine.dispose()
    return out
