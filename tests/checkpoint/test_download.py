"""Downloads: a real HTTP transfer from a server on loopback, atomic placement, offline errors."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from masklet.checkpoint import download as download_official
from masklet.checkpoint.download import DownloadError, download_file
from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS, cached_path


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_writes_complete_file_only(http_root, tmp_path):
    root, url = http_root
    payload = bytes(range(256)) * 4096  # 1 MiB
    (root / "weights.pt").write_bytes(payload)
    dest = tmp_path / "cache" / "weights.pt"
    download_file(f"{url}/weights.pt", dest, progress=False)
    assert dest.read_bytes() == payload
    assert [p.name for p in dest.parent.iterdir()] == ["weights.pt"], "temporary file left behind"


def test_missing_remote_file_leaves_nothing(http_root, tmp_path):
    _, url = http_root
    dest = tmp_path / "cache" / "absent.pt"
    with pytest.raises(DownloadError, match="absent.pt"):
        download_file(f"{url}/absent.pt", dest, progress=False)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_offline_error_names_url_and_destination(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLET_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(
        OFFICIAL_CHECKPOINTS, "sam2.1-hiera-tiny",
        OFFICIAL_CHECKPOINTS["sam2.1-hiera-tiny"].__class__(
            "sam2.1-hiera-tiny", "http://127.0.0.1:9/segment_anything_2/092824/sam2.1_hiera_tiny.pt", 156
        ),
    )
    with pytest.raises(DownloadError) as err:
        download_official("sam2.1-hiera-tiny", progress=False)
    message = str(err.value)
    assert "http://127.0.0.1:9/segment_anything_2/092824/sam2.1_hiera_tiny.pt" in message
    assert str(cached_path("sam2.1-hiera-tiny")) in message


def test_official_urls_and_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLET_HOME", str(tmp_path))
    assert cached_path("sam2-hiera-large") == tmp_path / "checkpoints" / "sam2_hiera_large.pt"
    assert OFFICIAL_CHECKPOINTS["sam2.1-hiera-base-plus"].url.endswith("/092824/sam2.1_hiera_base_plus.pt")
    assert len(OFFICIAL_CHECKPOINTS) == 8
