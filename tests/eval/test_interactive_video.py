"""The interactive video protocol on hand-made videos with fake segmenters (the rules), and one
small real run of `masklet eval interactive-video` with masklet-nano on DAVIS and GrabCut."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import require_shared_data, run_cli
from PIL import Image

from masklet.eval.interactive import Click, next_click
from masklet.eval.interactive_video import ProtocolSettings, interaction_ratio, run_object
from masklet.eval.interactive_video.annotator import PromptFrame, choose_prompt_frame, mask_box, worst_frame
from masklet.eval.interactive_video.data import InteractiveVideo, VideoObject
from masklet.eval.interactive_video.report import InteractiveVideoReport, MethodResult
from masklet.eval.interactive_video.scoring import boundary_in_box
from masklet.eval.interactive_video.summary import (
    Bound,
    area_under_curve,
    interactions_to_reach,
    ratio_at_method_best,
    summarize_curves,
)
from masklet.eval.vos_metrics import boundary_measure, region_similarity

SIZE = (40, 48)  # H, W of the hand-made videos


def moving_square(frames: int = 5, sizes: tuple[int, ...] = (10, 10, 16, 10, 10)) -> InteractiveVideo:
    """A square moving right by 4 pixels a frame; its side on each frame from `sizes`."""
    truth = {}
    for t in range(frames):
        mask = np.zeros(SIZE, bool)
        mask[10 : 10 + sizes[t], 4 + 4 * t : 4 + 4 * t + sizes[t]] = True
        truth[t] = mask
    obj = VideoObject(1, truth, dict.fromkeys(truth))
    return InteractiveVideo("square", np.zeros((frames, *SIZE, 3), np.uint8), [obj])


class Perfect:
    """Returns the true masks for any prompt and on every frame when propagating."""

    def __init__(self, obj: VideoObject) -> None:
        self.obj = obj
        self.calls: list[tuple] = []

    def start(self, frames):
        self.calls.append(("start",))

    def add_click(self, frame_idx, click):
        self.calls.append(("click", frame_idx, click))
        return self.obj.truth[frame_idx]

    def add_box(self, frame_idx, box):
        self.calls.append(("box", frame_idx, box))
        return self.obj.truth[frame_idx]

    def add_mask(self, frame_idx, mask):
        self.calls.append(("mask", frame_idx))
        return mask

    def propagate(self):
        self.calls.append(("propagate",))
        return iter(self.obj.truth.items())


class Frozen(Perfect):
    """Never changes its (empty) masks, whatever it is told."""

    def add_click(self, frame_idx, click):
        super().add_click(frame_idx, click)
        return np.zeros(SIZE, bool)

    def add_box(self, frame_idx, box):
        super().add_box(frame_idx, box)
        return np.zeros(SIZE, bool)

    def propagate(self):
        super().propagate()
        return iter(())


class CopyPromptFrame(Perfect):
    """Paints a 7x7 square around each positive click of the prompt frame (erases around
    negative ones) and copies that mask to every frame when propagating."""

    def start(self, frames):
        super().start(frames)
        self.mask = np.zeros(SIZE, bool)

    def add_click(self, frame_idx, click):
        super().add_click(frame_idx, click)
        self.mask[max(0, click.y - 3) : click.y + 4, max(0, click.x - 3) : click.x + 4] = click.positive
        return self.mask.copy()

    def propagate(self):
        super().propagate()
        return ((t, self.mask.copy()) for t in self.obj.truth)


def test_perfect_segmenter_needs_one_interaction():
    video = moving_square()
    segmenter = Perfect(video.objects[0])
    run = run_object(segmenter, video, video.objects[0], ProtocolSettings("clicks1", "first", 4))
    assert run.curve == [1.0] * 4
    assert interactions_to_reach(run.curve, 0.99) == 1
    assert [i.prompt for i in run.interactions] == ["clicks1", "none", "none", "none"]
    # nothing left to correct: no call after the first click and its propagation
    assert [c[0] for c in segmenter.calls] == ["start", "click", "propagate"]
    assert summarize_curves([run.curve], 0.99, 4).interactions_to_target == 1


@pytest.mark.parametrize("first_prompt", ["clicks1", "clicks5", "box"])
def test_frozen_segmenter_never_reaches_the_target(first_prompt):
    video = moving_square()
    run = run_object(Frozen(video.objects[0]), video, video.objects[0], ProtocolSettings(first_prompt, "first", 8))
    assert len(set(run.curve)) == 1 and run.curve[0] < 0.5  # flat, at the empty mask's score
    assert interactions_to_reach(run.curve, 0.8) is None
    summary = summarize_curves([run.curve], 0.8, 8)
    assert (summary.reached, summary.objects, summary.interactions_to_target) == (0, 1, 9)  # budget + 1
    assert summary.auc == pytest.approx(run.curve[0])
    # a click that changed nothing stalls its frame: the annotator moves on, then stops
    assert [i.frame_idx for i in run.interactions[1:]] == [0, 1, 2, 3, 4, None, None]


def test_first_prompts_and_their_frames():
    video = moving_square()
    obj = video.objects[0]
    # 3 clicks on the largest frame (2), each on the error left by the clicks before
    segmenter = CopyPromptFrame(obj)
    run = run_object(segmenter, video, obj, ProtocolSettings("clicks3", "largest", 1))
    clicks = [c for c in segmenter.calls if c[0] == "click"]
    assert [c[1] for c in clicks] == [2, 2, 2] and run.prompt_frame == 2
    assert clicks[0][2] == Click(19, 17, True)  # centre of the 16x16 square at x 12..27, y 10..25
    assert len(set(c[2] for c in clicks)) == 3
    assert run.interactions[0].clicks == tuple(c[2] for c in clicks)
    # a box prompt is the true mask's box on the first frame
    segmenter = Perfect(obj)
    run_object(segmenter, video, obj, ProtocolSettings("box", "first", 1))
    assert segmenter.calls[1] == ("box", 0, mask_box(obj.truth[0]))
    assert mask_box(obj.truth[0]).as_tuple() == (4.0, 10.0, 13.0, 19.0)


def test_correction_click_goes_to_the_worst_frame():
    video = moving_square()
    obj = video.objects[0]
    segmenter = CopyPromptFrame(obj)
    run = run_object(segmenter, video, obj, ProtocolSettings("clicks1", "first", 3))
    second = run.interactions[1]
    # after interaction 1 every frame has frame 0's 7x7 square; J&F of each frame, by hand:
    copied = _square_at(obj, 0)
    scores = {t: (region_similarity(obj.truth[t], copied) + boundary_measure(obj.truth[t], copied)) / 2
              for t in obj.truth}
    assert scores[0] > scores[1] > max(scores[2], scores[3], scores[4])  # the square moved away
    assert second.prompt == "click" and second.frame_idx == min(scores, key=scores.get) == 3
    assert second.clicks == (next_click(obj.truth[3], copied),) and second.clicks[0].positive
    assert segmenter.calls[3] == ("click", 3, second.clicks[0])
    assert [c[0] for c in segmenter.calls].count("propagate") == 3  # after every interaction


def _square_at(obj, frame):
    """CopyPromptFrame's mask after its first click on `frame`."""
    ys, xs = np.nonzero(obj.truth[frame])
    y, x = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    mask = np.zeros(SIZE, bool)
    mask[y - 3 : y + 4, x - 3 : x + 4] = True
    return mask


def test_worst_frame_rule():
    assert worst_frame({0: 0.9, 1: 0.3, 2: 0.3, 3: 1.0}) == 1  # lowest, earliest on ties
    assert worst_frame({3: 0.2, 1: 0.5}) == 3
    assert worst_frame({0: 1.0, 1: 1.0}) is None  # nothing to correct
    assert worst_frame({0: 0.9, 1: 0.3, 2: 0.3, 3: 1.0}, stalled={1, 2}) == 0
    assert worst_frame({0: 1.0, 1: 0.3}, stalled={1}) is None


def test_a_stalled_frame_comes_back_when_its_mask_changes():
    video = moving_square()
    obj = video.objects[0]

    class DeafOnFrame4(CopyPromptFrame):
        """Copies the painted mask to every frame, but clicks on frame 4 change nothing."""

        def add_click(self, frame_idx, click):
            if frame_idx != 4:
                return super().add_click(frame_idx, click)
            self.calls.append(("click", frame_idx, click))
            return self.mask.copy()

    run = run_object(DeafOnFrame4(obj), video, obj, ProtocolSettings("clicks1", "first", 6))
    # frame 4 stalls, is skipped for frame 2, whose click repaints every frame (frame 4
    # too), so frame 4 is the worst again and gets the next click
    assert [i.frame_idx for i in run.interactions[:5]] == [0, 3, 4, 2, 4]


def test_prompt_frame_rules():
    video = moving_square(sizes=(10, 12, 16, 16, 0))
    obj = video.objects[0]
    assert choose_prompt_frame(obj, PromptFrame.FIRST) == 0
    assert choose_prompt_frame(obj, PromptFrame.LARGEST) == 2  # earliest of the two largest
    hidden = VideoObject(2, {0: np.zeros(SIZE, bool)}, {0: None})
    with pytest.raises(ValueError, match="never visible"):
        choose_prompt_frame(hidden, PromptFrame.FIRST)


def test_void_pixels_are_not_errors():
    truth = np.zeros(SIZE, bool)
    truth[5:15, 5:15] = True
    void = np.zeros(SIZE, bool)
    void[20:, :] = True
    obj = VideoObject(1, {0: truth}, {0: void})
    video = InteractiveVideo("v", np.zeros((1, *SIZE, 3), np.uint8), [obj])

    class OverVoid(Perfect):
        def add_click(self, frame_idx, click):
            super().add_click(frame_idx, click)
            return truth | void  # wrong only inside the void band

    run = run_object(OverVoid(obj), video, obj, ProtocolSettings("clicks1", "first", 2))
    assert run.curve == [1.0, 1.0]


def test_area_under_curve():
    assert area_under_curve([0.2, 0.4, 0.6], 3) == pytest.approx(0.4)  # (0.3 + 0.5) / 2
    assert area_under_curve([0.2, 0.4, 1.0, 1.0], 2) == pytest.approx(0.3)  # over the first 2 only
    assert area_under_curve([0.7], 1) == pytest.approx(0.7)
    assert area_under_curve([0.5] * 8, 8) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        area_under_curve([0.5, 0.6], 3)


def test_interaction_ratios_and_their_bounds():
    def summary(*curves):
        return summarize_curves([list(c) for c in curves], 0.8, 2)

    method = summary([0.5, 0.9, 0.9, 0.9])  # reaches at 2
    exact = interaction_ratio(summary([0.1, 0.2, 0.5, 0.85]), method)
    assert (exact.value, exact.bound) == (2.0, Bound.EXACT) and str(exact) == "2.00x"
    never = summary([0.1, 0.2, 0.3, 0.4])  # 4 + 1 counted
    at_least = interaction_ratio(never, method)
    assert (at_least.value, at_least.bound) == (2.5, Bound.AT_LEAST) and str(at_least) == ">= 2.50x"
    at_most = interaction_ratio(summary([0.9, 0.9, 0.9, 0.9]), never)
    assert (at_most.value, at_most.bound) == (0.2, Bound.AT_MOST)
    neither = interaction_ratio(never, never)
    assert neither.value is None and neither.bound is Bound.NONE and str(neither) == "n/a"


def test_ratio_at_the_methods_best():
    method = [[0.3, 0.5, 0.5], [0.9, 0.9, 0.9]]  # best 0.5 after 2, 0.9 after 1
    exact = ratio_at_method_best([[0.1, 0.2, 0.4, 0.5, 0.6], [0.5, 0.9, 0.9, 0.9, 0.9]], method)
    assert (exact.value, exact.bound) == (pytest.approx((4 + 2) / (2 + 1)), Bound.EXACT)
    missed = ratio_at_method_best([[0.6, 0.6, 0.6, 0.6, 0.6], [0.5, 0.6, 0.7, 0.8, 0.85]], method)
    assert (missed.value, missed.bound) == (pytest.approx((1 + 6) / (2 + 1)), Bound.AT_LEAST)  # budget 5 + 1
    with pytest.raises(ValueError):
        ratio_at_method_best([[0.5]], method)


def test_report_table_and_json_from_fake_runs():
    video = moving_square()
    obj = video.objects[0]
    settings = ProtocolSettings("clicks1", "first", 3)
    runs = {name: run_object(cls(obj), video, obj, settings) for name, cls in (("video", Perfect), ("image-per-frame", Frozen))}
    report = InteractiveVideoReport("data", settings, 0.8, {n: MethodResult(3, [r], 0.1) for n, r in runs.items()})
    data = report.to_dict()
    assert data["methods"]["video"]["summary"]["interactions_to_target"] == 1
    assert data["methods"]["image-per-frame"]["videos"]["square"]["summary"]["reached"] == 0
    ratios = data["ratios_vs_video"]["image-per-frame"]
    assert ratios["at_target"]["overall"] == {"value": 4.0, "bound": "at least"}
    assert ratios["at_method_best"]["videos"]["square"] == {"value": 4.0, "bound": "at least"}
    assert len(data["methods"]["video"]["videos"]["square"]["objects"][0]["interactions"]) == 3
    table = report.markdown()
    assert "| **mean** | image-per-frame |" in table and ">= 4.00x" in table


# ----------------------------------------------------------------- real data, masklet-nano


@pytest.fixture(scope="module")
def small_davis(tmp_path_factory):
    """The first 6 frames of DAVIS blackswan at half size (427x240), in the DAVIS layout."""
    source = require_shared_data() / "davis2016-val"
    root = tmp_path_factory.mktemp("davis-small")
    for kind, suffix, resample in (("JPEGImages", ".jpg", Image.BILINEAR), ("Annotations", ".png", Image.NEAREST)):
        folder = root / kind / "480p" / "blackswan"
        folder.mkdir(parents=True)
        for t in range(6):
            image = Image.open(source / kind / "480p" / "blackswan" / f"{t:05d}{suffix}")
            image.resize((427, 240), resample).save(folder / f"{t:05d}{suffix}")
    return root


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_cli_on_davis_with_all_methods(small_davis, tmp_path, capsys, one_thread):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        capsys, "eval", "interactive-video", small_davis, "--model", "masklet-nano", "--first-prompt", "clicks3",
        "--prompt-frame", "largest", "--max-interactions", "3", "--per-frame-max-interactions", "8",
        "--methods", "video", "image-per-frame", "image-then-propagate", "--target", "0.5", "--output", out,
    )
    assert code == 0, stderr
    data = json.loads((out / "results.json").read_text())
    assert data["settings"] == {"first_prompt": "clicks3", "prompt_frame": "largest", "max_interactions": 3}
    for name, budget in (("video", 3), ("image-per-frame", 8), ("image-then-propagate", 3)):
        method = data["methods"][name]
        run = method["videos"]["blackswan"]["objects"][0]
        assert method["max_interactions"] == budget and len(run["curve"]) == budget
        assert all(0 <= value <= 1 for value in run["curve"])
        assert all(0 <= i[k] <= 1 for i in run["interactions"] for k in ("J", "F", "J&F"))
        first = run["interactions"][0]
        assert first["prompt"] == "clicks3" and len(first["clicks"]) == 3 and first["frame"] == run["prompt_frame"]
        assert {i["prompt"] for i in run["interactions"][1:]} <= {"click", "none"}
    # one frame of six holds a mask after the first prompt of the per-frame baseline
    assert data["methods"]["image-per-frame"]["summary"]["curve"][0] < data["methods"]["video"]["summary"]["curve"][0]
    assert set(data["ratios_vs_video"]) == {"image-per-frame", "image-then-propagate"}
    for ratios in data["ratios_vs_video"].values():
        assert ratios["at_method_best"]["overall"]["value"] > 0 and set(ratios) == {"at_target", "at_method_best"}
    assert (out / "curves.png").stat().st_size > 0 and "| **mean** | video |" in (out / "summary.md").read_text()
    assert "| blackswan | image-then-propagate |" in stdout


def test_cli_on_grabcut_images_as_one_frame_videos(tmp_path, capsys, one_thread):
    grabcut = require_shared_data() / "interactive" / "GrabCut"
    code, _, stderr = run_cli(capsys, "eval", "interactive-video", grabcut, "--limit", "2", "--max-interactions", "2",
                              "--first-prompt", "box", "--output", tmp_path)
    assert code == 0, stderr
    data = json.loads((tmp_path / "results.json").read_text())
    assert list(data["methods"]) == ["video"] and len(data["methods"]["video"]["videos"]) == 2
    for video in data["methods"]["video"]["videos"].values():
        assert video["objects"][0]["interactions"][0] == {**video["objects"][0]["interactions"][0], "prompt": "box", "clicks": []}


def test_video_correction_survives_propagation(small_davis, one_thread):
    import masklet
    from masklet.eval.interactive_video import VideoClicks
    from masklet.eval.interactive_video.data import read_videos

    video = next(read_videos(small_davis, ["blackswan"]))
    segmenter = VideoClicks(masklet.load_model("masklet-nano"))
    segmenter.start(video.frames)
    segmenter.add_click(0, Click(200, 120, True))
    list(segmenter.propagate())
    corrected = segmenter.add_click(4, Click(60, 60, False))
    after = dict(segmenter.propagate())
    assert sorted(after) == list(range(6))
    np.testing.assert_array_equal(after[4], corrected)


def test_cli_errors(small_davis, tmp_path, capsys):
    code, _, err = run_cli(capsys, "eval", "interactive-video", tmp_path, "--output", tmp_path / "o")
    assert code == 2 and "neither a VOS dataset" in err
    code, _, err = run_cli(capsys, "eval", "interactive-video", small_davis, "--max-interactions", "5",
                           "--per-frame-max-interactions", "2", "--output", tmp_path / "o")
    assert code == 2 and "below --max-interactions" in err
    code, _, err = run_cli(capsys, "eval", "interactive-video", small_davis, "--target", "80", "--output", tmp_path)
    assert code == 2 and "fraction" in err


def _blobs(rng, shape, count):
    mask = np.zeros(shape, bool)
    for _ in range(count):
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        mask[max(0, y - rng.integers(1, 12)) : y + rng.integers(1, 12), max(0, x - rng.integers(1, 12)) : x + rng.integers(1, 12)] = True
    return mask


@pytest.mark.parametrize("seed", range(12))
def test_boundary_in_box_equals_boundary_on_the_whole_frame(seed):
    rng = np.random.default_rng(seed)
    shape = (120, 180)  # tolerance 2 pixels
    truth = _blobs(rng, shape, 4)  # blobs touch the borders too
    pred = np.roll(truth, (seed % 3, 1 - seed % 2), axis=(0, 1)) ^ _blobs(rng, shape, 1 + seed % 3)
    void = _blobs(rng, shape, 2) if seed % 2 else None
    assert boundary_in_box(truth, pred, void) == boundary_measure(truth, pred, void)
    empty = np.zeros(shape, bool)
    assert boundary_in_box(empty, pred) == boundary_measure(empty, pred)
    assert boundary_in_box(empty, empty) == boundary_measure(empty, empty) == 1.0


def test_unknown_sequence_is_a_clear_error_before_any_work(small_davis, tmp_path, capsys):
    code, _, err = run_cli(capsys, "eval", "interactive-video", small_davis, "--sequences", "blackswan", "swan",
                           "--output", tmp_path)
    assert code == 2 and "no video named ['swan']" in err and not (tmp_path / "results.json").exists()
