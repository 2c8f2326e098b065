"""The VOS benchmark runner end to end with a tiny seeded model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import micro_config, require_shared_data, seeded_model, visible_objects
from PIL import Image

import masklet
from masklet.eval.run_vos import label_map, predict_sequence, run_vos_benchmark
from masklet.io.vos_dataset import ObjectPrompt, open_vos_dataset
from masklet.predict.results import FrameResult

SEQUENCES = ["blackswan", "dog"]
MAX_FRAMES = 5


@pytest.fixture(scope="module")
def model():
    return visible_objects(seeded_model(micro_config(128)))


def _check_results(results, sequences):
    assert set(results["sequences"]) == set(sequences)
    for seq in results["sequences"].values():
        for metric in ("J", "F"):
            assert set(seq[metric]) == {"mean", "recall", "decay"}
            assert 0.0 <= seq[metric]["mean"] <= 1.0 and 0.0 <= seq[metric]["recall"] <= 1.0
        assert seq["frames"] == MAX_FRAMES - 2
    assert set(results["global"]) == {"J", "F", "J&F"}
    assert all(0.0 <= v <= 1.0 for v in results["global"].values())


def test_davis2016_sequences_end_to_end(model, tmp_path):
    data = require_shared_data() / "davis2016-val"
    run = run_vos_benchmark(model, data, tmp_path, SEQUENCES, max_frames=MAX_FRAMES, workers=1, show_progress=False)
    for name in SEQUENCES:
        written = sorted(p.name for p in (tmp_path / name).glob("*.png"))
        assert written == [f"{i:05d}.png" for i in range(MAX_FRAMES)]
        first = Image.open(tmp_path / name / "00000.png")
        assert first.mode == "P" and first.size == (854, 480)
        assert set(np.unique(np.asarray(first)).tolist()) <= {0, 1}  # DAVIS-2016 0/255 is object 1
    assert run.frames == 2 * MAX_FRAMES and run.frames_per_second > 0
    _check_results(json.loads((tmp_path / "results.json").read_text()), SEQUENCES)
    assert (tmp_path / "results.csv").exists()


class OraclePredictor:
    """Answers every frame with the ground truth of one DAVIS-2016 sequence: the runner's label
    maps, PNGs and scoring must then give exactly 1."""

    def __init__(self, annotation_dir):
        self.annotations = sorted(annotation_dir.glob("*.png"))
        self.prompted = []

    def init_state(self, video):
        return {"num_frames": len(video)}

    def add_new_mask(self, state, frame_idx, obj_id, mask):
        self.prompted.append((frame_idx, obj_id))

    def propagate(self, state):
        for t in range(state["num_frames"]):
            truth = torch.from_numpy(np.asarray(Image.open(self.annotations[t])) > 0)
            logits = torch.where(truth, 10.0, -10.0)[None]
            yield FrameResult(t, [1], logits, torch.ones(1))


def test_ground_truth_answers_score_one(tmp_path):
    data = require_shared_data() / "davis2016-val"
    oracle = OraclePredictor(data / "Annotations" / "480p" / "car-shadow")
    run = run_vos_benchmark(oracle, data, tmp_path, ["car-shadow"], max_frames=8, workers=1, show_progress=False)
    assert oracle.prompted == [(0, 1)]
    assert run.results["global"] == {"J": 1.0, "F": 1.0, "J&F": 1.0}
    assert run.results["sequences"]["car-shadow"]["frames"] == 6
    with pytest.raises(TypeError, match="VideoPredictor or SAM2Model"):
        run_vos_benchmark("sam2.1-hiera-tiny", data, tmp_path)


def test_label_map_overlaps_and_objects_not_yet_prompted():
    logits = torch.full((2, 4, 6), -5.0)
    logits[0, :, :4] = 2.0  # object 1 on columns 0-3
    logits[1, :, 2:] = 3.0  # object 3 on columns 2-5, more confident where they overlap
    prompts = {1: ObjectPrompt(0, np.ones((4, 6), bool)), 3: ObjectPrompt(2, np.ones((4, 6), bool))}
    on_prompt_frame = label_map(FrameResult(2, [1, 3], logits, torch.ones(2)), prompts)
    np.testing.assert_array_equal(on_prompt_frame[0], [1, 1, 3, 3, 3, 3])
    before_prompt = label_map(FrameResult(1, [1, 3], logits, torch.ones(2)), prompts)
    np.testing.assert_array_equal(before_prompt[0], [1, 1, 1, 1, 0, 0])
    assert on_prompt_frame.dtype == np.uint8


class OverlappingPredictor:
    """Answers every frame with the same two overlapping objects, whatever it is prompted with:
    object 1's logits fall from 5 at the left edge, object 3's rise to 5 at the right edge; both
    are above 0 on columns 25-39, where object 1's are the higher up to column 32."""

    def __init__(self, *args, **kwargs):  # also stands in for VideoPredictor(model, ...)
        self.obj_ids = []

    def init_state(self, video, bounded_memory=False):
        self.num_frames, self.width, self.height = len(video), video.width, video.height
        return self

    def add_new_mask(self, state, frame_idx, obj_id, mask):
        self.obj_ids.append(obj_id)

    def propagate(self, state, start_frame_idx=0, max_frame_num_to_track=None, reverse=False):
        x = torch.arange(self.width, dtype=torch.float32).expand(self.height, -1)
        logits = torch.stack([5 - x / 8, (x - 24) / 8])  # [2, H, W]: objects 1 and 3
        for t in range(self.num_frames):
            yield FrameResult(t, [1, 3], logits, torch.ones(2))


def test_track_and_run_vos_write_the_same_davis_pngs(tmp_path, capsys, monkeypatch):
    from masklet.cli import main

    root = tmp_path / "dataset"
    frames, annotations = root / "JPEGImages" / "vid", root / "Annotations" / "vid"
    frames.mkdir(parents=True)
    annotations.mkdir(parents=True)
    labels = np.zeros((48, 64), np.uint8)
    labels[10:30, 5:20], labels[10:30, 40:60] = 1, 3
    Image.fromarray(labels).save(annotations / "00000.png")
    for obj_id in (1, 3):
        Image.fromarray((labels == obj_id).astype(np.uint8) * 255).save(tmp_path / f"mask{obj_id}.png")
    for t in range(3):
        Image.fromarray(np.full((48, 64, 3), 40 * t, np.uint8)).save(frames / f"{t:05d}.jpg")

    predict_sequence(OverlappingPredictor(), open_vos_dataset(root).sequence("vid"), tmp_path / "run-vos")
    monkeypatch.setattr("masklet.VideoPredictor", OverlappingPredictor)
    monkeypatch.setattr("masklet.cli.track.resolve_model", lambda args: None)
    argv = ["track", frames, "--obj", "1", "--mask", tmp_path / "mask1.png", "--obj", "3",
            "--mask", tmp_path / "mask3.png", "--format", "davis", "--output", tmp_path / "track", "--no-progress"]
    assert main([str(a) for a in argv]) == 0, capsys.readouterr().err

    for t in range(3):
        written = (tmp_path / "track" / f"{t:05d}.png").read_bytes()
        assert written == (tmp_path / "run-vos" / f"{t:05d}.png").read_bytes()
    row = np.asarray(Image.open(tmp_path / "track" / "00000.png"))[0]
    assert row.tolist() == [1] * 33 + [3] * 31  # the overlap goes to the higher logit (column 32: a tie, id 1)


def _synthetic_dataset(root, youtube_layout=True):
    """One video of 5 frames annotated on 0, 2 and 4: object 1 throughout, object 3 from
    frame 2 on."""
    level = () if youtube_layout else ("480p",)
    frames_dir = root.joinpath("JPEGImages", *level, "vid")
    annotations_dir = root.joinpath("Annotations", *level, "vid")
    frames_dir.mkdir(parents=True)
    annotations_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(5):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(frames_dir / f"{t:05d}.jpg")
        if t % 2 == 0:
            labels = np.zeros((48, 64), np.uint8)
            labels[5:20, 5:20] = 1
            if t >= 2:
                labels[25:40, 30:50] = 3
            Image.fromarray(labels).save(annotations_dir / f"{t:05d}.png")
    return root


def test_objects_appearing_later_are_prompted_where_they_appear(model, tmp_path):
    dataset = _synthetic_dataset(tmp_path / "ytvos")
    sequence = open_vos_dataset(dataset).sequence("vid")
    assert sorted(sequence.annotations) == [0, 2, 4]
    assert {o: p.frame_idx for o, p in sequence.object_prompts(later_objects=True).items()} == {1: 0, 3: 2}
    assert list(sequence.object_prompts(later_objects=False)) == [1]
    assert sorted(sequence.first_frames(3).annotations) == [0, 2]
    with pytest.raises(ValueError, match="at least 1"):
        sequence.first_frames(0)

    added = []

    class RecordingPredictor(masklet.VideoPredictor):
        def add_new_mask(self, state, frame_idx, obj_id, mask):
            added.append((frame_idx, obj_id, int(np.asarray(mask).sum())))
            return super().add_new_mask(state, frame_idx, obj_id, mask)

    predictor = RecordingPredictor(model, show_progress=False)
    run = run_vos_benchmark(predictor, dataset, tmp_path / "later", later_objects=True, workers=1, show_progress=False)
    assert added == [(0, 1, 15 * 15), (2, 3, 15 * 20)]
    before = np.asarray(Image.open(tmp_path / "later" / "vid" / "00001.png"))
    assert 3 not in np.unique(before)  # not drawn before it is prompted
    assert sorted(p.name for p in (tmp_path / "later" / "vid").glob("*.png")) == [f"{t:05d}.png" for t in range(5)]
    assert set(run.results["sequences"]["vid"]["objects"]) == {"1", "3"}


def test_cli_run_vos_with_a_checkpoint(model, tmp_path, capsys, monkeypatch):
    from masklet.cli import main

    checkpoint = masklet.save_model(model, tmp_path / "micro.pt")
    dataset = _synthetic_dataset(tmp_path / "davis", youtube_layout=False)
    out = tmp_path / "out"
    argv = ["eval", "run-vos", "--dataset", str(dataset), "--output", str(out), "--max-frames", "5", "--workers", "1"]
    assert main([*argv, "--model", str(checkpoint)]) == 0
    printed = capsys.readouterr().out
    assert "frames/s" in printed and "global" in printed
    results = json.loads((out / "results.json").read_text())["sequences"]["vid"]
    assert results["frames"] == 1
    assert results["objects"]["3"]["J"]["mean"] == 0.0  # without --later-objects it is never tracked
    monkeypatch.setattr("masklet.cli.common.embedded_model_path", lambda: None)  # an install without it
    assert main(argv) == 2
    assert "pass --model" in capsys.readouterr().err
    monkeypatch.undo()
    assert main([*argv, "--model", str(checkpoint), "--dataset", str(tmp_path / "nope")]) == 2
    assert "not a VOS dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "run-vos", "--help"])
    assert exit_info.value.code == 0
