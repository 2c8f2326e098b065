"""Masklet's CVAT functions, checked with the real cvat-sdk and cvat-cli (no CVAT server: the
agent's server side cannot run here). cvat-cli's own parser and function loader read the
commands of the README; its agent worker (a spawned process loading the function as `run-agent`
does), its interactor driver and cvat-sdk's annotation mapper (the checks `task auto-annotate`
runs before uploading) run the functions; every returned shape is decoded with cvat-sdk's
helpers and compared with Masklet's own predictors on real DAVIS frames."""

from __future__ import annotations

import argparse
import logging

import numpy as np
import PIL.Image
import pytest
from conftest import REPO, davis_frame, micro_config, seeded_model
from scipy import ndimage

import masklet

cvataa = pytest.importorskip("cvat_sdk.auto_annotation", reason="the CVAT functions are tested with cvat-sdk (pip install 'masklet[cvat]')")
pytest.importorskip("cvat_cli", reason="the CVAT functions are tested with cvat-cli (pip install 'masklet[cvat]')")

from cvat_cli._internal import agent  # noqa: E402  (cvat-cli's agent, as `function run-agent` runs it)
from cvat_cli._internal import agent_driver_interaction as interaction_driver  # noqa: E402
from cvat_cli._internal import agent_driver_tracking as tracking_driver  # noqa: E402
from cvat_cli._internal.commands_all import COMMANDS  # noqa: E402
from cvat_cli._internal.common import FunctionLoader, configure_common_arguments  # noqa: E402
from cvat_sdk import models  # noqa: E402
from cvat_sdk.auto_annotation.driver import _AnnotationMapper, _DetectionFunctionContextImpl  # noqa: E402
from cvat_sdk.masks import decode_mask  # noqa: E402

from masklet.integrations.cvat import CvatShapeError  # noqa: E402
from masklet.integrations.cvat.detector import MaskletDetector  # noqa: E402
from masklet.integrations.cvat.interactor import MaskletInteractor  # noqa: E402
from masklet.integrations.cvat.shapes import mask_shape_points, shape_mask  # noqa: E402
from masklet.integrations.cvat.tracker import MaskletTracker  # noqa: E402
from masklet.io.polygons import rasterise_polygon  # noqa: E402

DETECTOR = "masklet.integrations.cvat.detector"
INTERACTOR = "masklet.integrations.cvat.interactor"
TRACKER = "masklet.integrations.cvat.tracker"
FRAMES = 4


@pytest.fixture(scope="module")
def swan() -> list[tuple[np.ndarray, np.ndarray]]:
    return [davis_frame("blackswan", i) for i in range(FRAMES)]


def prompts(pos=(), neg=(), box=None) -> cvataa.InteractionPrompts:
    """Prompts as cvat-cli's interactor driver builds them from a request."""
    return interaction_driver._InteractionPromptsImpl(pos_points=tuple(pos), neg_points=tuple(neg), bounding_box=box)


def decoded(points, image: np.ndarray) -> np.ndarray:
    return decode_mask(points, image_width=image.shape[1], image_height=image.shape[0])


def best_mask(predictor: masklet.ImagePredictor, **kwargs) -> tuple[np.ndarray, float]:
    masks, scores, _ = predictor.predict(**kwargs)
    return masks[np.argmax(scores)], float(scores.max())


def point_on(mask: np.ndarray) -> tuple[float, float]:
    """(x, y) of a pixel of the mask (the middle one in raster order)."""
    ys, xs = np.nonzero(mask)
    return float(xs[len(xs) // 2]), float(ys[len(ys) // 2])


def box_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def cli_loader(*argv: str) -> FunctionLoader:
    """The function loader `cvat-cli ARGV` hands to its command, from cvat-cli's own parser."""
    parser = argparse.ArgumentParser()
    configure_common_arguments(parser)
    COMMANDS.configure_parser(parser)
    args = parser.parse_args(list(argv))
    return FunctionLoader(args.function_module, args.function_file, args.function_parameters)


def to_json(value):
    """cvat-sdk models as the plain JSON the client sends."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return to_json(value.to_dict()) if hasattr(value, "to_dict") else value


# ---------------------------------------------------------------------------- cvat-cli


@pytest.mark.parametrize(
    "where, kind, fields",
    [
        (["--function-module", DETECTOR], "detector", {"labels_v2": [{"name": "object", "type": "mask", "attributes": []}]}),
        (["--function-module", INTERACTOR], "interactor", {"min_pos_points": 0, "min_neg_points": 0, "startswith_box_optional": True}),
        (["--function-module", TRACKER], "tracker", {"supported_shape_types": ["mask", "polygon", "rectangle"]}),
        (["--function-file", str(REPO / "src/masklet/integrations/cvat/tracker.py")], "tracker", None),
    ],
)
def test_cvat_cli_loads_the_functions(where, kind, fields):
    for command in (["function", "create-native", "Masklet"], ["function", "run-agent", "7"]):
        function = cli_loader(*command, *where, "-p", "model=str:masklet-nano", "-p", "device=str:cpu").load()
        driver = agent.get_function_driver_class(function.spec)
        assert driver.FUNCTION_KIND == kind  # what create-native registers with CVAT
        if fields is not None:
            assert to_json(driver.get_remote_function_fields(function.spec)) == fields


def test_bad_parameters_are_reported():
    with pytest.raises(masklet.MaskletError, match="no-such-model"):
        cli_loader("function", "create-native", "M", "--function-module", TRACKER, "-p", "model=str:no-such-model").load()
    with pytest.raises(TypeError, match="size"):
        cli_loader("function", "create-native", "M", "--function-module", TRACKER, "-p", "size=int:3").load()


# ---------------------------------------------------------------------------- detector


def test_detector_annotates_with_the_generators_masks(nano, swan):
    image, _ = swan[0]
    # masklet-nano's scores fall below the generator's default thresholds: keep everything.
    generator = masklet.MaskGenerator(nano, points_per_side=4, pred_iou_thresh=0, stability_score_thresh=0)
    records = generator.generate(image)
    function = MaskletDetector(generator)
    task_labels = [models.Label(id=41, name="object", type="any", attributes=[], sublabels=[])]  # a task's label, as CVAT sends it
    for threshold, conv_mask_to_poly in ((None, False), (0.4, True)):
        kept = [r["segmentation"] for r in records if r["segmentation"].any() and (threshold is None or r["predicted_iou"] >= threshold)]
        context = _DetectionFunctionContextImpl(frame_name="00000.jpg", conf_threshold=threshold, conv_mask_to_poly=conv_mask_to_poly)
        shapes = function.detect(context, PIL.Image.fromarray(image))
        # cvat-sdk's driver checks and maps the shapes as `task auto-annotate` does before uploading.
        mapper = _AnnotationMapper(
            logging.getLogger(__name__), function.spec.labels, task_labels, allow_unmatched_labels=False, conv_mask_to_poly=conv_mask_to_poly
        )
        _, mapped = mapper.validate_and_remap(shapes, ds_frame=5)
        assert {(s.label_id, s.frame, s.source) for s in mapped} == {(41, 5, "auto")}
        if conv_mask_to_poly:  # one polygon per 4-connected part, mask after mask; together they cover the mask, holes filled
            assert {s.type.value for s in mapped} == {"polygon"}
            polygons = iter(mapped)
            for m in kept:
                parts = [next(polygons) for _ in range(ndimage.label(m)[1])]
                covered = np.any([rasterise_polygon(np.reshape(s.points, (-1, 2)), *m.shape) for s in parts], axis=0)
                np.testing.assert_array_equal(covered, ndimage.binary_fill_holes(m, structure=np.ones((3, 3))))
            assert next(polygons, None) is None
        else:
            assert {s.type.value for s in mapped} == {"mask"} and len(mapped) == len(kept)
            for s, m in zip(mapped, kept):
                np.testing.assert_array_equal(decoded(s.points, image), m)
    assert 0 < len([r for r in records if r["predicted_iou"] >= 0.4]) < len(records)  # the threshold filtered


# ---------------------------------------------------------------------------- interactor


def test_interactor_gives_the_image_predictors_masks(nano, swan):
    image, truth = swan[0]
    function = MaskletInteractor(nano)
    pp_image = function.preprocess_image(None, PIL.Image.fromarray(image))
    predictor = masklet.ImagePredictor(nano)
    predictor.set_image(image)
    inside, outside = point_on(truth), (20.0, 20.0)
    box = box_of(truth)
    corners = ((box[0], box[1]), (box[2], box[3]))
    cases = [  # (CVAT prompts, the same prompts for ImagePredictor: one click alone gets three candidates)
        (prompts(pos=[inside]), dict(point_coords=np.array([inside]), point_labels=np.array([1]), multimask_output=True)),
        (prompts(pos=[inside], neg=[outside]),
         dict(point_coords=np.array([inside, outside]), point_labels=np.array([1, 0]), multimask_output=False)),
        (prompts(box=corners), dict(box=np.array(box), multimask_output=False)),
        (prompts(neg=[outside], box=corners),
         dict(point_coords=np.array([outside]), point_labels=np.array([0]), box=np.array(box), multimask_output=False)),
    ]
    for cvat_prompts, kwargs in cases:
        [shape] = function.detect(None, pp_image, cvat_prompts)
        expected, score = best_mask(predictor, **kwargs)
        assert shape.type == "mask"
        np.testing.assert_array_equal(decoded(shape.points, image), expected)
        [confidence] = shape.attributes
        assert confidence.spec_id == cvataa.InteractionResultAttributes.CONFIDENCE
        assert float(confidence.value) == pytest.approx(min(max(score, 0.0), 1.0))
    with pytest.raises(CvatShapeError, match="no prompt"):
        function.detect(None, pp_image, prompts())


def test_agent_runs_the_interactor(nano, swan):
    """`run-agent` with the interactor, minus the server: cvat-cli's worker process loads the
    function, embeds the frame and answers clicks; its driver checks the request and writes the
    JSON result the agent would send, from the worker's cached embedding."""
    image, truth = swan[0]
    inside = point_on(truth)
    predictor = masklet.ImagePredictor(nano)
    predictor.set_image(image)
    loader = FunctionLoader(INTERACTOR, None, {"model": "masklet-nano"})
    with agent.RecoverableExecutor(agent._worker_init, (loader, agent._default_tracking_state_id_generator)) as executor:
        spec = executor.result(executor.submit(agent._worker_job_get_function_spec))
        driver = agent.get_function_driver_class(spec)(None, executor, spec)
        cache_key = (1, 0, ())  # (task, frame, roi), as the driver keys it
        job = executor.submit(interaction_driver._worker_job_interact, cache_key, PIL.Image.fromarray(image), prompts(pos=[inside]))
        [shape] = executor.result(job)
        expected, _ = best_mask(predictor, point_coords=np.array([inside]), point_labels=np.array([1]))
        np.testing.assert_array_equal(decoded(shape.points, image), expected)
        request = {"type": "interact", "task": 1, "frame": 0, "pos_points": [inside], "neg_points": [[20.0, 20.0]], "obj_bbox": []}
        [result] = driver.calculate_result_for_ar(request, check_in=None)["shapes"]
    expected, _ = best_mask(predictor, point_coords=np.array([inside, (20, 20)]), point_labels=np.array([1, 0]), multimask_output=False)
    assert result["type"] == "mask"
    np.testing.assert_array_equal(decoded(result["points"], image), expected)


# ---------------------------------------------------------------------------- tracker


def reference_tracker(model, frame: np.ndarray, shape: cvataa.TrackableShape) -> masklet.StreamTracker:
    """A StreamTracker prompted as the tracking function should prompt it, fed raw frames."""
    tracker = masklet.StreamTracker(model)
    tracker.track(frame)
    if shape.type == "rectangle":
        tracker.add_new_points_or_box(1, box=shape.points)
    else:
        tracker.add_new_mask(1, shape_mask(shape.type, shape.points, *frame.shape[:2]))
    return tracker


def shape_context(shape_type: str) -> cvataa.TrackingFunctionShapeContext:
    return tracking_driver._TrackingFunctionShapeContextImpl(original_shape_type=shape_type)


def test_tracker_follows_masks_polygons_and_boxes_with_memory(nano, swan):
    function = MaskletTracker(nano)
    first, truth = swan[0]
    shapes = [cvataa.TrackableShape(type=t, points=mask_shape_points(t, truth)) for t in ("mask", "polygon", "rectangle")]
    pp_image = function.preprocess_image(None, PIL.Image.fromarray(first))
    states = [function.init_tracking_state(shape_context(s.type), pp_image, s) for s in shapes]
    references = [reference_tracker(nano, first, s) for s in shapes]
    for frame, truth in swan[1:]:
        pp_image = function.preprocess_image(None, PIL.Image.fromarray(frame))  # once for all three shapes
        outputs = [function.track(shape_context(s.type), pp_image, state) for s, state in zip(shapes, states)]
        for shape, got, reference in zip(shapes, outputs, references):
            assert got.type == shape.type
            assert got.points == mask_shape_points(shape.type, reference.track(frame).masks[0])
        swan_mask = decoded(outputs[0].points, frame)
        assert (swan_mask & truth).sum() / (swan_mask | truth).sum() > 0.7  # masklet-nano: 0.77 to 0.80
    # The memory bank holds the prompted frame and every frame since: masks come from memory.
    assert states[0].memory_stats()["frames"] == {1: FRAMES}


def test_agent_worker_runs_the_tracker(nano, swan):
    """`run-agent` with the tracker, minus the server: cvat-cli's worker process loads the
    function, keeps the tracking states under its ids and tracks them frame after frame."""
    first, truth = swan[0]
    shapes = [cvataa.TrackableShape(type="mask", points=mask_shape_points("mask", truth)),
              cvataa.TrackableShape(type="rectangle", points=[10.0, 10.0, 120.0, 90.0])]  # a patch of water
    references = [reference_tracker(nano, first, s) for s in shapes]
    loader = FunctionLoader(TRACKER, None, {"model": "masklet-nano"})
    with agent.RecoverableExecutor(agent._worker_init, (loader, agent._default_tracking_state_id_generator)) as executor:
        state_ids = executor.result(executor.submit(tracking_driver._worker_job_init_tracking, 1, PIL.Image.fromarray(first), shapes))
        assert len(set(state_ids)) == 2
        for frame, _ in swan[1:]:
            outputs = executor.result(executor.submit(tracking_driver._worker_job_track, 1, PIL.Image.fromarray(frame), state_ids))
            for shape, got, reference in zip(shapes, outputs, references):
                assert got == cvataa.TrackableShape(type=shape.type, points=mask_shape_points(shape.type, reference.track(frame).masks[0]))


def test_a_lost_object_is_none():
    model = seeded_model(micro_config(64))  # its object-score head calls every object absent
    function = MaskletTracker(model)
    frames = np.random.default_rng(0).integers(0, 255, (2, 48, 64, 3), dtype=np.uint8)
    shape = cvataa.TrackableShape(type="polygon", points=[8, 8, 40, 8, 40, 30, 8, 30])
    state = function.init_tracking_state(shape_context("polygon"), function.preprocess_image(None, PIL.Image.fromarray(frames[0])), shape)
    assert function.track(shape_context("polygon"), function.preprocess_image(None, PIL.Image.fromarray(frames[1])), state) is None


@pytest.mark.parametrize(
    "shape_type, points, message",
    [
        ("points", [1, 2], "cannot track a 'points' shape"),
        ("polygon", [1, 2, 3, 4], "at least 3"),
        ("polygon", [1.2, 1.2, 1.4, 1.2, 1.4, 1.4], "covers no pixel"),
        ("mask", mask_shape_points("mask", np.ones((100, 100), bool)), "does not fit the 64x48 image"),
        ("rectangle", [30, 10, 20, 40], "x1 < x2"),
    ],
)
def test_bad_shapes_are_reported(micro_model, shape_type, points, message):
    function = MaskletTracker(micro_model)
    pp_image = function.preprocess_image(None, PIL.Image.new("RGB", (64, 48)))
    shape = cvataa.TrackableShape(type=shape_type, points=points)
    with pytest.raises(CvatShapeError, match=message):
        function.init_tracking_state(shape_context(shape_type), pp_image, shape)


def test_shapes_read_back_as_the_same_pixels(swan):
    _, truth = swan[0]
    height, width = truth.shape
    assert mask_shape_points("mask", np.zeros_like(truth)) is None
    np.testing.assert_array_equal(shape_mask("mask", mask_shape_points("mask", truth), height, width), truth)
    blob = np.zeros((40, 50), bool)
    blob[5:30, 10:20] = blob[20:35, 15:45] = True  # one part, no hole
    blob[2, 2] = True  # a smaller part, left out of the polygon
    polygon = mask_shape_points("polygon", blob)
    expected = blob.copy()
    expected[2, 2] = False
    np.testing.assert_array_equal(shape_mask("polygon", polygon, 40, 50), expected)
    assert mask_shape_points("rectangle", blob) == [2.0, 2.0, 45.0, 35.0]
