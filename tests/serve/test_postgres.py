"""The annotation server on PostgreSQL (MASKLET_TEST_POSTGRES_URL; each test works in a schema of
its own, dropped at its end; without the variable they skip): the schema is created, checked and
upgraded; ids are 64-bit; concurrent writers; a full API flow exports the same masks as on
SQLite; a new app on the same database keeps every acknowledged prompt. Tests marked with `db_url`
run on both databases."""

from __future__ import annotations

import json
import threading

import pytest
from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import inside_point, sse_events, upload_frames
from sqlalchemy import create_engine, inspect, text

from masklet.serve.storage import Catalog, History, Masklets, migrations, open_database
from masklet.serve.storage.database import sqlite_url
from masklet.serve.storage.migrations import SCHEMA_VERSION, SchemaError, Upgrade, add_column
from masklet.serve.storage.records import Direction, FrameMasks, MediaKind, ObjectMask, Prompt, PromptKind


def test_schema_created_and_version_checked(postgres_url):
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # plain URLs mean psycopg 3 too
    engine = open_database(plain)
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    with engine.connect() as db:
        assert db.execute(text("SELECT version FROM schema_version")).scalars().all() == [SCHEMA_VERSION]
        columns = {c["name"]: c["type"] for c in inspect(db).get_columns("masklets")}
        assert {name: str(columns[name]) for name in ("id", "step_id", "media_id")} == dict.fromkeys(
            ("id", "step_id", "media_id"), "BIGINT")
        assert set(inspect(db).get_table_names()) == {
            "schema_version", "projects", "media", "objects", "steps", "prompts", "propagations", "masklets"}
    engine.dispose()
    open_database(postgres_url).dispose()  # opening again changes nothing
    with create_engine(postgres_url).begin() as db:
        assert db.execute(text("SELECT count(*) FROM schema_version")).scalar() == 1
        db.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaError, match="newer than this masklet"):
        open_database(postgres_url)
    with create_engine(postgres_url).begin() as db:
        db.execute(text("DELETE FROM schema_version"))
    with pytest.raises(SchemaError, match="schema_version table is empty"):
        open_database(postgres_url)
    with create_engine(postgres_url).begin() as db:
        db.execute(text("DROP TABLE schema_version"))
    with pytest.raises(SchemaError, match="not made by masklet serve"):
        open_database(postgres_url)


def test_servers_started_together_create_the_schema_once(postgres_url):
    engines, failures = [], []

    def start() -> None:
        try:
            engines.append(open_database(postgres_url))
        except Exception as e:  # reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and len(engines) == 4
    with engines[0].connect() as db:
        assert db.execute(text("SELECT version FROM schema_version")).scalars().all() == [SCHEMA_VERSION]
    for engine in engines:
        engine.dispose()


def test_connections_cut_by_the_server_are_replaced(postgres_url):
    """The server ends every connection (as on its restart): the next write still succeeds."""
    engine = open_database(postgres_url)
    catalog = Catalog(engine)
    catalog.create_project("before")
    with create_engine(postgres_url).connect() as admin:
        cut = admin.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                                 "application_name = current_setting('application_name') AND pid <> pg_backend_pid()"))
        assert cut.scalar() >= 1
    catalog.create_project("after")
    assert [p.name for p in catalog.projects()] == ["before", "after"]
    engine.dispose()


def test_upgrades_run_in_order(db_url, tmp_path, monkeypatch):
    url = db_url or sqlite_url(tmp_path)
    open_database(url).dispose()  # a database at today's version
    applied = []

    def upgrade(connection):
        add_column(connection, "objects", "note TEXT")
        connection.execute(text("UPDATE objects SET note = 'none'"))
        applied.append(SCHEMA_VERSION + 1)

    monkeypatch.setattr(migrations, "UPGRADES", [Upgrade(SCHEMA_VERSION + 1, "objects get a note", upgrade)])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    engine = open_database(url)
    with engine.connect() as db:
        assert db.execute(text("SELECT version FROM schema_version")).scalar() == SCHEMA_VERSION + 1
        assert "note" in {c["name"] for c in inspect(db).get_columns("objects")}
    engine.dispose()
    open_database(url).dispose()
    assert applied == [SCHEMA_VERSION + 1]  # once


def _restart_ids_at(engine, start: int) -> None:
    """Make every table's next id `start` or more (past 32 bits)."""
    tables = ["projects", "media", "objects", "steps", "masklets"]
    with engine.begin() as db:
        for i, table in enumerate(tables):
            if engine.dialect.name == "postgresql":
                db.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :v)"), {"v": start + i})
            else:
                db.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :v)"), {"t": table, "v": start + i})


def test_ids_past_32_bits(db_url, tmp_path):
    engine = open_database(db_url or sqlite_url(tmp_path))
    _restart_ids_at(engine, 5 * 2**32)
    catalog, history, masklets = Catalog(engine), History(engine), Masklets(engine)
    project = catalog.create_project("p")
    media = catalog.add_media(project.id, "m", MediaKind.FRAMES, "media/x/frames", 3, 8, 8, None)
    catalog.add_object(media.id)
    click = Prompt(0, PromptKind.CLICKS, 1, 0, [[1, 1]], [1])
    first = history.add_prompt(media.id, click, [FrameMasks(0, [ObjectMask(1, "0;4", 1.0)])])
    job = history.add_propagation(media.id, Direction.FORWARD, None, None)
    history.record_frame(media.id, job.step_id, FrameMasks(1, [ObjectMask(1, "1;3", -1.0)]))
    assert min(project.id, media.id, first.step_id, job.step_id) > 5 * 2**32
    assert history.undo(media.id) == [first.step_id, job.step_id] and masklets.current(media.id) == {}
    assert history.redo(media.id) == [first.step_id, job.step_id]
    assert {k: (m.step_id, m.counts) for k, m in masklets.current(media.id).items()} == {
        (1, 0): (first.step_id, "0;4"), (1, 1): (job.step_id, "1;3")}
    assert catalog.media(media.id).id == media.id
    engine.dispose()


def test_concurrent_new_objects_get_distinct_ids(db_url, tmp_path):
    engine = open_database(db_url or sqlite_url(tmp_path))
    catalog = Catalog(engine)
    media = catalog.add_media(catalog.create_project("p").id, "m", MediaKind.FRAMES, "media/x/frames", 3, 8, 8, None)
    ids, failures = [], []
    barrier = threading.Barrier(8)

    def add() -> None:
        try:
            barrier.wait(10)
            ids.append(catalog.add_object(media.id).obj_id)
        except Exception as e:  # reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and sorted(ids) == list(range(1, 9))
    engine.dispose()


def _annotate(client, jpegs, truth) -> dict:
    """Upload, click, propagate, correct, undo, redo, export: what the project shows and exports."""
    project = client.post("/api/projects", json={"name": "swans"}).json()
    mid = upload_frames(client, project["id"], jpegs)["id"]
    client.post(f"/api/media/{mid}/objects", json={"name": "swan"})
    click = client.post(f"/api/media/{mid}/objects/1/clicks",
                        json={"frame_idx": 0, "points": [inside_point(truth[0])], "labels": [1]})
    assert click.status_code == 200, click.text
    job = client.post(f"/api/media/{mid}/propagations", json={"direction": "forward"}).json()
    assert sse_events(client, job["job_id"])[-1][1]["state"] == "done"
    propagated = client.get(f"/api/media/{mid}/masks").json()
    correction = client.post(f"/api/media/{mid}/objects/1/clicks", json={
        "frame_idx": 2, "points": [[5.0, 5.0]], "labels": [0], "clear_old_points": False})
    assert correction.status_code == 200, correction.text
    assert client.post(f"/api/media/{mid}/undo").json()["can_redo"]
    assert client.get(f"/api/media/{mid}/masks").json() == propagated
    assert not client.post(f"/api/media/{mid}/redo").json()["can_redo"]
    coco = client.get(f"/api/projects/{project['id']}/export", params={"format": "coco"})
    assert coco.status_code == 200, coco.text
    return {"masks": client.get(f"/api/media/{mid}/masks").json(), "coco": coco.json(),
            "history": client.get(f"/api/media/{mid}/history").json(), "objects": client.get(f"/api/media/{mid}/objects").json()}


def _without_times(coco: dict) -> dict:
    return json.loads(json.dumps(coco), object_hook=lambda d: {k: v for k, v in d.items() if "date" not in k})


def test_api_flow_exports_the_same_masks_as_sqlite(postgres_url, make_client, tmp_path, davis_clip):
    jpegs, truth = davis_clip[0][:4], davis_clip[1][:4]
    on_sqlite = _annotate(make_client(tmp_path / "sqlite"), jpegs, truth)
    on_postgres = _annotate(make_client(tmp_path / "postgres", database_url=postgres_url), jpegs, truth)
    assert on_postgres["coco"]["annotations"] and len(on_postgres["masks"]["masks"]) == 4
    assert _without_times(on_postgres["coco"]) == _without_times(on_sqlite["coco"])
    assert on_postgres["masks"] == on_sqlite["masks"]
    assert on_postgres["history"] == on_sqlite["history"] and on_postgres["objects"] == on_sqlite["objects"]
    with create_engine(postgres_url).connect() as db:  # it was stored there, not in a file
        assert db.execute(text("SELECT count(*) FROM prompts")).scalar() == 2
    assert not (tmp_path / "postgres" / "masklet.db").exists()


def test_api_with_ids_past_32_bits(db_url, make_client, davis_clip):
    client = make_client(database_url=db_url)
    _restart_ids_at(client.app.state.workspace.engine, 2**40)
    project = client.post("/api/projects", json={"name": "p"}).json()
    mid = upload_frames(client, project["id"], davis_clip[0][:2])["id"]
    assert min(project["id"], mid) > 2**40
    assert client.post(f"/api/media/{mid}/objects").status_code == 201
    click = client.post(f"/api/media/{mid}/objects/1/clicks", json={"frame_idx": 0, "box": [100, 50, 300, 200]})
    assert click.status_code == 200, click.text
    assert click.json()["step_id"] > 2**40
    job = client.post(f"/api/media/{mid}/propagations").json()  # job ids are the server's own, from 1
    assert sse_events(client, job["job_id"])[-1][1]["state"] == "done"
    assert client.get(f"/api/propagations/{job['job_id']}").json()["step_id"] > 2**40
    assert len(client.get(f"/api/media/{mid}/masks").json()["masks"]) == 2
    assert client.post(f"/api/media/{mid}/undo").json()["changed"]
    assert client.get(f"/api/projects/{project['id']}/export", params={"format": "coco", "media_id": mid}).status_code == 200


def test_text_postgresql_cannot_hold_is_refused(db_url, make_client, davis_clip):
    """A NUL character (PostgreSQL's text has none) is refused on both databases, never a 500."""
    client = make_client(database_url=db_url)
    nul = {"content-type": "application/json"}
    assert client.post("/api/projects", content=b'{"name": "a\\u0000b"}', headers=nul).status_code == 422
    project = client.post("/api/projects", json={"name": "p"}).json()
    mid = upload_frames(client, project["id"], davis_clip[0][:1])["id"]
    assert client.post(f"/api/media/{mid}/objects", content=b'{"name": "\\u0000"}', headers=nul).status_code == 422
    assert client.post(f"/api/media/{mid}/objects").status_code == 201
    assert client.patch(f"/api/media/{mid}/objects/1", content=b'{"name": "x\\u0000"}', headers=nul).status_code == 422
    for counts in (b"0\\u0000", b"\\u0000"):  # a NUL may even be part of a valid RLE (a negative delta)
        r = client.post(f"/api/media/{mid}/objects/1/mask", content=b'{"frame_idx": 0, "counts": "' + counts + b'"}',
                        headers=nul)
        assert r.status_code == 400 and "'0' to 'o'" in r.text, r.text
    assert client.get(f"/api/media/{mid}/history").json()["steps"] == 0


def test_media_stored_with_another_database_are_never_swept(postgres_url, make_client, tmp_path, davis_clip):
    """A data folder used with SQLite, then given a new PostgreSQL database: refused, media kept."""
    from masklet.serve.datadir import ForeignMedia

    first = make_client(tmp_path / "data")
    project = first.post("/api/projects", json={"name": "p"}).json()
    upload_frames(first, project["id"], davis_clip[0][:1])
    first.__exit__(None, None, None)
    folders = sorted((tmp_path / "data" / "media").iterdir())
    assert len(folders) == 1
    with pytest.raises(ForeignMedia, match="1 uploaded media that the database .* does not know"):
        make_client(tmp_path / "data", database_url=postgres_url)
    assert sorted((tmp_path / "data" / "media").iterdir()) == folders
    again = make_client(tmp_path / "data")  # with its own database it opens as before
    assert len(again.get(f"/api/projects/{project['id']}/media").json()) == 1
