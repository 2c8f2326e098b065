"""The database: schema versions (new, current, newer, foreign), WAL mode, undo / redo of the
step log (on SQLite and PostgreSQL), and the data folder's path rules. test_postgres.py has
PostgreSQL's own."""

from __future__ import annotations

import pytest
from serve_fixtures import db_url, postgres_url  # noqa: F401
from sqlalchemy import create_engine, text

from masklet.serve.datadir import DataDir, UnsafePath
from masklet.serve.storage import Catalog, History, Masklets, open_database
from masklet.serve.storage.database import sqlite_url
from masklet.serve.storage.migrations import SCHEMA_VERSION, SchemaError
from masklet.serve.storage.records import Direction, FrameMasks, MediaKind, ObjectMask, Prompt, PromptKind


def test_schema_versions(tmp_path):
    url = sqlite_url(tmp_path)
    engine = open_database(url)
    with engine.connect() as db:
        assert db.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.execute(text("SELECT version FROM schema_version")).scalar() == SCHEMA_VERSION
    engine.dispose()
    open_database(url).dispose()  # opening again changes nothing
    with create_engine(url).begin() as db:
        db.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaError, match="newer than this masklet"):
        open_database(url)
    foreign = tmp_path / "other"
    foreign.mkdir()
    with create_engine(sqlite_url(foreign)).begin() as db:
        db.execute(text("CREATE TABLE things (id INTEGER)"))
    with pytest.raises(SchemaError, match="not made by masklet serve"):
        open_database(sqlite_url(foreign))


def _mask(step_frame: int, obj_id: int = 1) -> list[FrameMasks]:
    return [FrameMasks(step_frame, [ObjectMask(obj_id, f"counts{step_frame}", 1.0)])]


def test_undo_redo_log(db_url, tmp_path):  # noqa: F811
    engine = open_database(db_url or sqlite_url(tmp_path))
    catalog, history, masklets = Catalog(engine), History(engine), Masklets(engine)
    project = catalog.create_project("p")
    media = catalog.add_media(project.id, "m", MediaKind.FRAMES, "media/x/frames", 3, 8, 8, None)
    click = Prompt(0, PromptKind.CLICKS, 1, 0, [[1, 1]], [1])
    first = history.add_prompt(media.id, click, _mask(0))
    job = history.add_propagation(media.id, Direction.FORWARD, None, None)
    history.record_frame(media.id, job.step_id, _mask(1)[0])
    second = history.add_prompt(media.id, click, _mask(2))
    assert history.undo(media.id) == [second.step_id]
    assert history.undo(media.id) == [first.step_id, job.step_id]  # a prompt and the propagation after it
    assert history.undo(media.id) == [] and masklets.current(media.id) == {}
    assert history.redo(media.id) == [first.step_id, job.step_id]
    assert sorted(masklets.current(media.id)) == [(1, 0), (1, 1)]
    history.add_prompt(media.id, click, _mask(2))  # a new prompt ends the redo history
    assert history.redo(media.id) == [] and history.undone_ids(media.id) == []
    engine.dispose()


def test_data_folder_paths(tmp_path):
    data = DataDir(tmp_path / "data")
    for bad in ("../x", "/etc/passwd", "media/../../x"):
        with pytest.raises(UnsafePath):
            data.resolve(bad)
    folder = data.new_media_folder()
    (folder / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePath, match="symbolic link"):
        data.resolve(data.relative(folder / "link") + "/x")
    with pytest.raises(UnsafePath, match="only media"):
        data.remove("masklet.db")
    assert data.sweep(set()) == [data.relative(folder)] and not folder.exists()
