"""Both engines give byte-identical outputs: local worker processes, and a local Ray cluster of 2
workers (loopback only) started by the test."""

from __future__ import annotations

import sys

import pytest
from autolabel_fixtures import *  # noqa: F401,F403
from autolabel_fixtures import NANO_MINING, tree

import masklet
from masklet.autolabel import EngineError, LocalEngine, RayEngine
from masklet.autolabel.engines import make_engine


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="--engine ray needs the 'ray' extra (pip install 'masklet[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=128 * 1024**2, log_to_driver=False)
    yield ray
    ray.shutdown()


def run_all(engine, coco_sample, swan_clip, output):
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=output / "images", output_format="coco",
                     shard_size=2, engine=engine, progress=False)
    masklet.annotate(swan_clip.videos, swan_clip.boxes_csv, output=output / "videos", engine=engine, progress=False)
    masklet.mine(swan_clip.videos, output=output / "mined", options=NANO_MINING, engine=engine, progress=False)
    return tree(output)


def test_ray_and_local_engines_write_the_same_bytes(ray_cluster, coco_sample, swan_clip, tmp_path):
    with LocalEngine(workers=2) as engine:  # its two processes serve all three runs
        local = run_all(engine, coco_sample, swan_clip, tmp_path / "local")
    on_ray = run_all(RayEngine(), coco_sample, swan_clip, tmp_path / "ray")
    assert ray_cluster.is_initialized()  # the engine used the test's cluster and left it running
    assert sorted(local) == sorted(on_ray)
    assert {"images/annotations.json", "videos/blackswan.json", "mined/blackswan_auto.json"} <= set(local)
    assert [name for name in local if local[name] != on_ray[name]] == []


def test_in_process_run_matches_worker_processes(coco_sample, tmp_path):
    kwargs = dict(output_format="coco", shard_size=3, progress=False)
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path / "one", engine=LocalEngine(1), **kwargs)
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path / "two", engine="local", workers=2, **kwargs)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_ray_engine_without_ray_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(EngineError, match=r"pip install 'masklet\[ray\]'"):
        make_engine("ray")
