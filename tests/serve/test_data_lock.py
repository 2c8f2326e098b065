"""One server per data folder: a second workspace or `masklet serve` on a folder in use is
refused with a clear error, and the lock of a server killed with `kill -9` does not block its
restart."""

from __future__ import annotations

import signal

import pytest
from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import free_port, make_settings, serve_process, start_serve

from masklet.serve.datadir import DataDirInUse
from masklet.serve.workspace import Workspace


def test_second_workspace_on_a_folder_is_refused_until_the_first_closes(nano, tmp_path):
    first = Workspace(make_settings(tmp_path / "data"), nano)
    with pytest.raises(DataDirInUse, match=r"in use by another masklet serve \(pid \d+\)"):
        Workspace(make_settings(tmp_path / "data"), nano)
    other = Workspace(make_settings(tmp_path / "other"), nano)  # another folder is free
    first.close()
    again = Workspace(make_settings(tmp_path / "data"), nano)
    again.close()
    other.close()


def test_refused_workspace_leaves_the_folder_free(nano, tmp_path):
    """A workspace that fails to open (here: a database it cannot read) releases the lock."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "masklet.db").write_bytes(b"not a database" * 100)
    with pytest.raises(Exception, match="file is not a database"):
        Workspace(make_settings(tmp_path / "data"), nano)
    (tmp_path / "data" / "masklet.db").unlink()
    Workspace(make_settings(tmp_path / "data"), nano).close()


def test_second_server_is_refused_and_a_killed_one_restarts(tmp_path):
    first, http = start_serve(tmp_path / "data")
    try:
        project = http.post("/api/projects", json={"name": "kept"}).json()
        second = serve_process(tmp_path / "data", free_port())
        output = second.communicate(timeout=120)[0].decode()
        assert second.returncode == 2, output
        assert f"is in use by another masklet serve (pid {first.pid})" in output, output
        assert http.get(f"/api/projects/{project['id']}").status_code == 200  # the first one is untouched
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
        http.close()
    restarted, http = start_serve(tmp_path / "data")  # the kernel dropped the killed server's lock
    try:
        assert http.get(f"/api/projects/{project['id']}").json()["name"] == "kept"
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(30)
        http.close()
