"""Writing checkpoint files: whole or not at all, also with several writers at once."""

from __future__ import annotations

import threading

import torch

from masklet.checkpoint.formats import read_checkpoint, write_meta

ROUNDS = 4


def test_concurrent_writers_leave_one_whole_checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    payloads = [{"weight": torch.full((1 << 21,), float(k))} for k in range(2)]  # 8 MiB each
    start, errors = threading.Barrier(2), []

    def write(state_dict):
        try:
            for _ in range(ROUNDS):
                start.wait()
                write_meta(path, state_dict)
        except Exception as e:  # reported below: a thread's exception would otherwise be lost
            errors.append(e)
            start.abort()

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    weight = read_checkpoint(path).state_dict["weight"]
    assert any(torch.equal(weight, p["weight"]) for p in payloads)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind
