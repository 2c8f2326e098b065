"""A run killed mid-way (SIGKILL to a real `masklet annotate` process) and started again gives
the same bytes as an uninterrupted run, and never leaves a half-written output file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from autolabel_fixtures import *  # noqa: F401,F403
from autolabel_fixtures import tree

import masklet
from masklet.autolabel.manifest import ManifestMismatchError

KILL_AFTER_ITEMS = 2


def annotate_command(sample, output):
    return [sys.executable, "-m", "masklet.cli", "annotate", str(sample.folder), "--boxes", str(sample.coco),
            "--format", "coco", "--shard-size", "1", "--output", str(output), "--no-progress"]


def test_killed_run_resumes_to_the_same_bytes(coco_sample, tmp_path):
    reference = tmp_path / "reference"
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=reference, output_format="coco",
                     shard_size=1, progress=False)
    expected = tree(reference)
    output = tmp_path / "killed"
    process = subprocess.Popen(annotate_command(coco_sample, output), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = output / ".masklet-run" / "done"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if done.is_dir() and len(list(done.glob("*.json"))) >= KILL_AFTER_ITEMS:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    finished = len(list(done.glob("*.json")))
    assert KILL_AFTER_ITEMS <= finished < len(coco_sample.gt), "the run ended before it could be killed"
    assert not (output / "annotations.json").exists()  # joined only at the end
    for name, content in tree(output).items():  # whatever was written is whole
        if not name.rsplit("/", 1)[-1].startswith("."):
            assert content == expected[name], name
    report = masklet.annotate(coco_sample.folder, coco_sample.coco, output=output, output_format="coco",
                              shard_size=1, progress=False)
    assert report.resumed == finished
    assert tree(output) == expected  # no temporary file left either


def test_a_different_run_in_the_same_output_is_refused_unless_restarted(coco_sample, tmp_path):
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path, shard_size=3, progress=False)
    with pytest.raises(ManifestMismatchError, match="--restart"):
        masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path, shard_size=2, progress=False)
    report = masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path, shard_size=2, restart=True,
                              progress=False)
    assert (report.items, report.resumed) == (3, 0)
    again = masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path, shard_size=2, progress=False)
    assert again.resumed == 3
