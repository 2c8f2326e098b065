"""`masklet.annotate` on real COCO_MVal images with boxes from their ground truth (bundled
masklet-nano): masks measured against the ground truth, YOLO-seg read back, bad inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from autolabel_fixtures import *  # noqa: F401,F403
from autolabel_fixtures import COCO_IMAGES, iou, tree
from scipy import ndimage

import masklet
from masklet.io import read_coco_json, read_yolo_classes, read_yolo_labels


@pytest.fixture(scope="module")
def coco_run(coco_sample, tmp_path_factory):
    output = tmp_path_factory.mktemp("annotate") / "coco"
    report = masklet.annotate(coco_sample.folder, coco_sample.coco, output=output, output_format="coco",
                              shard_size=4, progress=False)
    images, categories = read_coco_json(output / "annotations.json")
    return report, {img.file_name.removesuffix(".jpg"): img for img in images}, categories


def test_masks_from_ground_truth_boxes_are_measured_against_the_ground_truth(coco_sample, coco_run):
    report, images, categories = coco_run
    assert (report.items, report.problems, report.failed) == (2, [], [])
    assert categories == {1: "object"} and sorted(images) == sorted(COCO_IMAGES)
    ious = {stem: iou(images[stem].instances[0].mask, coco_sample.gt[stem]) for stem in COCO_IMAGES}
    box_filled = []
    for stem in COCO_IMAGES:
        x1, y1, x2, y2 = (int(v) for v in coco_sample.boxes[stem])
        filled = np.zeros_like(coco_sample.gt[stem])
        filled[y1:y2, x1:x2] = True
        box_filled.append(iou(filled, coco_sample.gt[stem]))
    mean = float(np.mean(list(ious.values())))
    print(f"\nmasklet-nano box -> mask mIoU on {len(ious)} COCO_MVal images: {mean:.3f} "
          f"(per image {', '.join(f'{v:.2f}' for v in ious.values())}); filled boxes {np.mean(box_filled):.3f}; empty masks 0")
    # Measured 0.186: the bundled model is weak at box prompts (the filled boxes themselves score
    # 0.60), but a pipeline that lost the boxes or put them on the wrong images scores near 0
    # (the masks equal the image predictor's: next test).
    assert mean > 0.15
    assert all(ious[stem] > 0.25 for stem in ("cat00_000000197528", "pizza00_000000197022"))


def test_masks_are_the_image_predictors(coco_sample, coco_run):
    _, images, _ = coco_run
    predictor = masklet.ImagePredictor(masklet.load_model("masklet-nano"))
    for stem in COCO_IMAGES[:2]:
        image = masklet.io.read_rgb(coco_sample.folder / f"{stem}.jpg")
        predictor.set_image(image)
        masks, _, _ = predictor.predict(box=np.array(coco_sample.boxes[stem]), multimask_output=False)
        np.testing.assert_array_equal(images[stem].instances[0].mask, masks[0])


def filled_pieces(mask: np.ndarray) -> np.ndarray:
    """The mask with the holes of each 4-connected piece filled."""
    labels, count = ndimage.label(mask)
    return np.any([ndimage.binary_fill_holes(labels == n) for n in range(1, count + 1)], axis=0)


def test_yolo_seg_labels_read_back_as_the_masks(coco_sample, coco_run, tmp_path):
    _, images, _ = coco_run
    output = tmp_path / "labels"
    report = masklet.annotate(coco_sample.folder, coco_sample.yolo, output=output, shard_size=4, progress=False)
    assert report.problems == []
    assert read_yolo_classes(output / "classes.txt") == ["object"]
    checked = 0
    for stem, image in images.items():
        mask = image.instances[0].mask
        lines, classes = read_yolo_labels(output / f"{stem}.txt", image.height, image.width)
        assert set(classes) <= {0}
        back = lines.any(axis=0) if len(lines) else np.zeros_like(mask)
        if not mask.any():
            assert not back.any()
            continue
        # Polygons are the outlines of the mask's pieces, so each piece comes back with its holes
        # filled. (YOLO boxes are the COCO boxes to 1e-9, so the masks are the COCO run's.)
        assert not (mask & ~back).any(), stem
        assert iou(back, filled_pieces(mask)) > 0.99, stem  # measured >= 0.995 (holes at diagonal pinches)
        checked += 1
    assert checked >= 3


def test_coco_polygons_read_back_as_the_masks(coco_sample, coco_run, tmp_path):
    _, images, _ = coco_run
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path, output_format="coco-polygons",
                     shard_size=4, progress=False)
    polygons, categories = read_coco_json(tmp_path / "annotations.json")
    assert categories == {1: "object"} and len(polygons) == len(images)
    for image in polygons:
        mask = images[image.file_name.removesuffix(".jpg")].instances[0].mask
        back = image.instances[0].mask
        assert not (mask & ~back).any()
        if mask.any():
            assert iou(back, filled_pieces(mask)) > 0.99


def test_coco_outputs_load_in_pycocotools(coco_sample, coco_run, tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco", reason="needs pycocotools (the dev extra)")
    _, images, _ = coco_run
    masklet.annotate(coco_sample.folder, coco_sample.coco, output=tmp_path, output_format="coco-polygons",
                     shard_size=4, progress=False)
    dataset = coco_api.COCO(str(tmp_path / "annotations.json"))
    for annotation in dataset.loadAnns(dataset.getAnnIds()):
        name = dataset.loadImgs(annotation["image_id"])[0]["file_name"].removesuffix(".jpg")
        mask = images[name].instances[0].mask
        if mask.any():  # pycocotools rasterises outlines its own way: close, not equal
            assert iou(dataset.annToMask(annotation).astype(bool), filled_pieces(mask)) > 0.95


def test_box_formats_give_the_same_outputs(coco_sample, tmp_path):
    outputs = {}
    for form, boxes in (("coco", coco_sample.coco), ("csv", coco_sample.csv)):
        masklet.annotate(coco_sample.folder, boxes, output=tmp_path / form, shard_size=3, progress=False)
        outputs[form] = {k: v for k, v in tree(tmp_path / form).items() if not k.startswith(".masklet-run")}
    assert outputs["coco"] == outputs["csv"] and len(outputs["coco"]) == len(COCO_IMAGES) + 2


def test_bad_inputs_give_one_line_each_and_the_rest_completes(coco_sample, tmp_path):
    folder = tmp_path / "images"
    shutil.copytree(coco_sample.folder, folder)
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    listing = tmp_path / "list.txt"
    names = [f"images/{s}.jpg" for s in COCO_IMAGES] + ["images/broken.jpg", "images/missing.jpg"]
    listing.write_text("\n".join(names) + "\n")
    labels = tmp_path / "labels"
    shutil.copytree(coco_sample.yolo, labels)
    (labels / f"{COCO_IMAGES[0]}.txt").write_text("0 0.5 0.5\n")  # malformed
    (labels / f"{COCO_IMAGES[1]}.txt").write_text("0 1.8 1.8 0.2 0.2\n0 0.5 0.5 0.2 0.2\n")  # a box outside
    report = masklet.annotate(listing, labels, output=tmp_path / "out", shard_size=3, progress=False)
    lines = (tmp_path / "out" / "report.txt").read_text().splitlines()
    assert lines == report.problems and len(lines) == 4, lines
    assert f"{COCO_IMAGES[0]}.txt:1: expected '<class> cx cy w h [score]'" in lines[0]
    assert "lies outside" in lines[1] and COCO_IMAGES[1] in lines[1] and "box skipped" in lines[1]
    assert "broken.jpg" in lines[2] and "missing.jpg" in lines[3]
    written = sorted(p.stem for p in (tmp_path / "out").glob("*.txt") if p.name not in ("report.txt", "classes.txt"))
    assert written == sorted(COCO_IMAGES[1:])  # the image with the malformed label and the bad files: none
    # Only the box inside the image (centre 0.5, 0.5, size 0.2) was segmented: every polygon of the
    # file (one object may give several) lies around it, none near the skipped box's corner.
    polygons = [np.array(line.split()[1:], float) for line in (tmp_path / "out" / f"{COCO_IMAGES[1]}.txt").read_text().splitlines()]
    assert polygons and all((abs(p - 0.5) < 0.25).all() for p in polygons)
