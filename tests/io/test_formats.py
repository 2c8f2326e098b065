"""Round trips of the mask formats in masklet.io, on real masks and synthetic edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image
from scipy import ndimage

from masklet.eval.vos import score_sav_video, score_sequence
from masklet.io import (
    DAVIS_PALETTE,
    CocoImage,
    CocoInstance,
    OutputNotWritableError,
    SavVideo,
    label_map_to_masks,
    logits_to_label_map,
    masks_to_label_map,
    masks_to_yolo_polygons,
    read_coco_json,
    read_davis_png,
    read_sav_json,
    read_sav_pngs,
    read_yolo_classes,
    read_yolo_labels,
    write_coco_json,
    write_davis_png,
    write_sav_json,
    write_sav_pngs,
    write_yolo_classes,
    write_yolo_labels,
)
from masklet.io.polygons import outer_contours, rasterise_polygon

COCO_GT = ("airplane00_000000281693", "bicycle07_000000065350", "donut01_000000377814",
           "hot dog08_000000029675", "skateboard02_000000431848", "vase06_000000285349")


def davis_gt(frame: int = 0) -> np.ndarray:
    path = require_shared_data() / "davis2016-val" / "Annotations" / "480p" / "blackswan" / f"{frame:05d}.png"
    return read_davis_png(path) > 0


def coco_gt(name: str) -> np.ndarray:
    path = require_shared_data() / "images-with-masks" / "COCO_MVal" / "gt" / f"{name}.png"
    return np.asarray(Image.open(path).convert("L")) > 0


def sav_video() -> SavVideo:
    return read_sav_json(require_shared_data() / "sav-example" / "sav_000001_manual.json")


def disk(shape, centre, radius) -> np.ndarray:
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / max((a | b).sum(), 1)


# --- DAVIS palette PNGs ---------------------------------------------------------------------


def test_palette_is_the_davis_one():
    assert DAVIS_PALETTE[:5].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]]
    assert DAVIS_PALETTE[8].tolist() == [64, 0, 0] and DAVIS_PALETTE[255].tolist() == [224, 224, 192]
    osvos = require_shared_data() / "davis2016-val" / "osvos-predictions" / "blackswan" / "00000.png"
    with Image.open(osvos) as image:
        assert np.array_equal(np.array(image.getpalette()[:768], np.uint8).reshape(256, 3), DAVIS_PALETTE)


def test_davis_png_round_trip_on_real_masks(tmp_path):
    swan = davis_gt()
    blob = disk(swan.shape, (400, 700), 60)
    label_map = masks_to_label_map(np.stack([swan, blob]), [1, 2])
    path = write_davis_png(tmp_path / "00000.png", label_map)
    with Image.open(path) as image:
        assert image.mode == "P"
        assert np.array_equal(np.array(image.getpalette()[:768], np.uint8).reshape(256, 3), DAVIS_PALETTE)
    read = read_davis_png(path)
    assert read.dtype == np.uint8 and np.array_equal(read, label_map)
    masks, ids = label_map_to_masks(read)
    assert ids == [1, 2]
    assert np.array_equal(masks[0], swan) and np.array_equal(masks[1], blob & ~swan)


def test_osvos_prediction_rewrites_identically(tmp_path):
    source = require_shared_data() / "davis2016-val" / "osvos-predictions" / "dog" / "00010.png"
    labels = read_davis_png(source)
    assert np.array_equal(read_davis_png(write_davis_png(tmp_path / "x.png", labels)), labels)


@pytest.mark.parametrize(("rule", "expected"), [("first", [1, 1, 2, 3]), ("last", [3, 3, 3, 3])])
def test_overlap_rule(rule, expected):
    masks = np.zeros((3, 1, 4), bool)
    masks[0, 0, :2] = True  # object 1: columns 0-1
    masks[1, 0, 1:3] = True  # object 2: columns 1-2
    masks[2, 0, :] = True  # object 3: everything
    assert masks_to_label_map(masks, [1, 2, 3], overlap=rule)[0].tolist() == expected


def test_overlap_can_be_an_error_and_disjoint_masks_agree_under_every_rule():
    masks = np.zeros((2, 4, 4), bool)
    masks[0, :2] = True
    masks[1, 1:] = True
    with pytest.raises(ValueError, match="objects 5 and 7 overlap|objects 7 and 5 overlap"):
        masks_to_label_map(masks, [7, 5], overlap="raise")
    masks[1, 1] = False
    maps = [masks_to_label_map(masks, [7, 5], overlap=r) for r in ("first", "last", "raise")]
    assert all(np.array_equal(m, maps[0]) for m in maps)


def test_overlapping_objects_go_to_the_higher_logit():
    logits = np.full((3, 2, 5), -4.0, np.float32)
    logits[0, :, :3] = 2.0  # object 7: columns 0-2
    logits[1, :, 2:] = 3.0  # object 5: columns 2-4, more confident where they overlap
    logits[2, 1, :] = 2.0  # object 9: row 1, as confident as object 7 there
    expected = [[7, 7, 5, 5, 5], [7, 7, 5, 5, 5]]
    label_map = logits_to_label_map(logits, [7, 5, 9])
    assert label_map.dtype == np.uint8 and label_map.tolist() == expected  # 7 ties 9: the lower id wins
    assert logits_to_label_map(logits, [7, 5, 9], threshold=2.5).tolist() == [[0, 0, 5, 5, 5]] * 2
    assert logits_to_label_map(logits[:0], []).tolist() == [[0] * 5] * 2
    with pytest.raises(ValueError, match="1..254"):
        logits_to_label_map(logits, [7, 5, 255])
    with pytest.raises(ValueError, match=r"\[N, H, W\]"):
        logits_to_label_map(logits[0], [7])


def test_grey_pngs_read_as_labels_or_as_a_binary_mask(tmp_path):
    Image.fromarray(np.array([[0, 255, 128]], np.uint8)).save(tmp_path / "mask.png")
    Image.fromarray(np.array([[0, 1, 2]], np.uint8)).save(tmp_path / "labels.png")
    Image.fromarray(np.array([[0, 200, 100]], np.uint8)).convert("RGB").save(tmp_path / "rgb.png")
    write_davis_png(tmp_path / "palette.png", np.array([[0, 200, 3]]))
    assert read_davis_png(tmp_path / "mask.png").tolist() == [[0, 255, 128]]
    assert read_davis_png(tmp_path / "mask.png", grey="binary").tolist() == [[0, 1, 1]]
    assert read_davis_png(tmp_path / "labels.png", grey="binary").tolist() == [[0, 1, 2]]
    assert read_davis_png(tmp_path / "rgb.png", grey="binary").tolist() == [[0, 1, 0]]
    for rule in ("labels", "binary"):  # palette indices are labels under both rules
        assert read_davis_png(tmp_path / "palette.png", grey=rule).tolist() == [[0, 200, 3]]
    with pytest.raises(ValueError, match="grey must be"):
        read_davis_png(tmp_path / "mask.png", grey="threshold")


def test_label_map_errors(tmp_path):
    masks = np.ones((1, 2, 2), bool)
    for bad_id in (0, 255, 300):
        with pytest.raises(ValueError, match="1..254"):
            masks_to_label_map(masks, [bad_id])
    with pytest.raises(ValueError, match="bool"):
        masks_to_label_map(np.full((1, 2, 2), 0.7), [1])
    with pytest.raises(ValueError, match=r"\[N, H, W\]"):
        masks_to_label_map(np.ones((2, 2), bool), [1])
    with pytest.raises(ValueError, match="one id per mask"):
        masks_to_label_map(masks, [1, 2])
    with pytest.raises(ValueError, match="0..255"):
        write_davis_png(tmp_path / "x.png", np.full((2, 2), 300))
    Image.new("RGB", (2, 2)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="not a label map"):
        read_davis_png(tmp_path / "rgb.png")


def test_label_map_to_masks_with_given_ids():
    labels = np.array([[0, 3], [255, 3]], np.uint8)
    masks, ids = label_map_to_masks(labels, [3, 4])
    assert ids == [3, 4] and masks[0].sum() == 2 and not masks[1].any()
    assert label_map_to_masks(labels)[1] == [3]  # void 255 is not an object


def test_davis_pngs_score_perfectly_with_masklet_eval(tmp_path):
    for root in ("gt", "pred"):
        for frame in range(3):
            swan = davis_gt(frame)
            write_davis_png(tmp_path / root / f"{frame:05d}.png", masks_to_label_map(swan[None], [1]))
    result = score_sequence(tmp_path / "gt", tmp_path / "pred")
    assert result["J"]["mean"] == 1.0 and result["F"]["mean"] == 1.0


# --- SA-V per-object PNGs ----------------------------------------------------------------------


def test_sav_pngs_round_trip_and_layout(tmp_path):
    video = sav_video()
    written = []
    for t in (0, 60, 120):
        written += write_sav_pngs(tmp_path, "sav_000001", t, dict(zip(video.object_ids, video.masks(t))))
    assert (tmp_path / "sav_000001" / "003" / "00060.png") in written
    with Image.open(tmp_path / "sav_000001" / "001" / "00000.png") as image:
        assert image.mode == "L" and set(np.unique(np.asarray(image))) <= {0, 255}
    read = read_sav_pngs(tmp_path, "sav_000001")
    assert sorted(read) == video.object_ids
    for t in (0, 60, 120):
        for obj, mask in zip(video.object_ids, video.masks(t)):
            assert np.array_equal(read[obj][t], mask)


def test_sav_pngs_score_perfectly_with_masklet_eval(tmp_path):
    video = sav_video()
    for root in ("gt", "pred"):
        for t in range(4):
            write_sav_pngs(tmp_path / root, "v", t, dict(zip(video.object_ids, video.masks(t))))
    result = score_sav_video(tmp_path / "gt" / "v", tmp_path / "pred" / "v")
    assert result["frames"] == 2 * len(video.object_ids)
    assert result["J"]["mean"] == pytest.approx(1.0)


def test_sav_pngs_errors(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        write_sav_pngs(tmp_path, "v", 0, {1: np.ones((1, 2, 2), bool)})
    with pytest.raises(ValueError, match=">= 0"):
        write_sav_pngs(tmp_path, "v", 0, {-1: np.ones((2, 2), bool)})
    with pytest.raises(ValueError, match="no such video folder"):
        read_sav_pngs(tmp_path, "missing")


# --- SA-V JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["manual", "auto"])
def test_sav_json_round_trip_keeps_masks_and_statistics(tmp_path, kind):
    source = require_shared_data() / "sav-example" / f"sav_000001_{kind}.json"
    video = read_sav_json(source)
    again = read_sav_json(write_sav_json(tmp_path / "out.json", video))
    assert (again.video_id, again.height, again.width, again.frame_count, again.object_ids) == (
        video.video_id, video.height, video.width, video.frame_count, video.object_ids)
    assert again.masklet == video.masklet  # identical RLE strings, hence identical masks
    for t in (0, 113, 120):
        assert np.array_equal(again.masks(t), video.masks(t))
    original, written = json.loads(source.read_text()), json.loads((tmp_path / "out.json").read_text())
    assert set(written) == set(original)
    for key, value in original.items():
        if key in ("masklet_size_abs", "masklet_size_rel"):  # the file rounds them to ~10 digits
            assert written[key] == pytest.approx(value, rel=1e-6), key
        elif key != "masklet":
            assert written[key] == value, key


def test_sav_json_from_masks(tmp_path):
    frames = [np.zeros((2, 40, 30), bool) for _ in range(5)]
    frames[0][0, :10, :10] = True
    for t in (2, 3):
        frames[t][1, 5:25, 5:25] = True  # object 8 appears at annotated frame 2, gone at 4
    video = SavVideo.from_masks("synthetic", frames, [4, 8], frame_count=20)
    written = json.loads(write_sav_json(tmp_path / "s.json", video).read_text())
    assert written["masklet_first_appeared_frame"] == [0.0, 2.0]
    assert written["masklet_visibility_changes"] == [1, 1]
    assert written["masklet_size_abs"] == [100.0, 400.0]
    assert written["masklet_size_bucket"] == ["small", "small"]
    again = read_sav_json(tmp_path / "s.json")
    assert again.frame_count == 20
    for t, masks in enumerate(frames):
        assert np.array_equal(again.masks(t), masks)
    with pytest.raises(ValueError, match="2 objects"):
        SavVideo.from_masks("bad", [np.zeros((3, 4, 4), bool)], [1, 2])


# --- COCO JSON -----------------------------------------------------------------------------------


def coco_images() -> tuple[list[CocoImage], dict[int, str]]:
    names = sorted({n.split("_")[0].rstrip("0123456789") for n in COCO_GT})
    categories = {i: name for i, name in enumerate(names, start=1)}
    ids = {name: i for i, name in categories.items()}
    images = []
    for n, stem in enumerate(COCO_GT):
        mask = coco_gt(stem)
        category = ids[stem.split("_")[0].rstrip("0123456789")]
        instances = [CocoInstance(mask, category, score=0.5 + n / 20)]
        if n == 0:  # edge cases: an empty and a full mask, a crowd region
            instances += [
                CocoInstance(np.zeros_like(mask), category),
                CocoInstance(np.ones_like(mask), category, iscrowd=1),
            ]
        images.append(CocoImage(f"{stem}.jpg", *mask.shape, instances=instances))
    return images, categories


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside pycocotools
def test_coco_json_loads_in_pycocotools_with_identical_masks(tmp_path):
    coco_module = pytest.importorskip("pycocotools.coco")
    mask_utils = pytest.importorskip("pycocotools.mask")
    images, categories = coco_images()
    path = write_coco_json(tmp_path / "instances.json", images, categories)
    coco = coco_module.COCO(str(path))
    assert sorted(coco.getImgIds()) == list(range(1, len(images) + 1))
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == categories
    for image_id, image in enumerate(images, start=1):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=None))
        assert len(anns) == len(image.instances)
        for ann, instance in zip(anns, image.instances):
            theirs = coco.annToMask(ann).astype(bool)
            assert np.array_equal(theirs, instance.mask)
            assert ann["area"] == int(mask_utils.area(ann["segmentation"]))
            assert ann["bbox"] == pytest.approx(mask_utils.toBbox(ann["segmentation"]).tolist())
            assert isinstance(ann["segmentation"]["counts"], str)
            assert ann["category_id"] == instance.category_id and ann["iscrowd"] == instance.iscrowd
            assert ann.get("score") == instance.score


def test_coco_json_round_trip(tmp_path):
    images, categories = coco_images()
    read_images, read_categories = read_coco_json(write_coco_json(tmp_path / "c.json", images, categories))
    assert read_categories == categories
    assert [(i.id, i.file_name, i.height, i.width) for i in read_images] == [
        (n, i.file_name, i.height, i.width) for n, i in enumerate(images, start=1)]
    for image, read in zip(images, read_images):
        for a, b in zip(image.instances, read.instances, strict=True):
            assert np.array_equal(a.mask, b.mask)
            assert (a.category_id, a.score, a.iscrowd) == (b.category_id, b.score, b.iscrowd)


def test_coco_reader_takes_polygons_and_uncompressed_rle(tmp_path):
    square = [[2, 1, 6, 1, 6, 4, 2, 4]]  # pixel-edge coordinates: columns 2-5, rows 1-3
    plain = {"size": [5, 8], "counts": [8, 3, 29]}  # column-major: column 1, rows 3-4 and column 2, row 0
    data = {
        "images": [{"id": 9, "file_name": "a.jpg", "height": 5, "width": 8}],
        "annotations": [
            {"id": 1, "image_id": 9, "category_id": 1, "segmentation": square},
            {"id": 2, "image_id": 9, "category_id": 1, "segmentation": plain},
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    (image,), _ = read_coco_json(tmp_path / "c.json")
    expected = np.zeros((5, 8), bool)
    expected[1:4, 2:6] = True
    assert np.array_equal(image.instances[0].mask, expected)
    assert np.flatnonzero(image.instances[1].mask.T.reshape(-1)).tolist() == [8, 9, 10]


def test_coco_errors(tmp_path):
    image = CocoImage("a.jpg", 4, 4, [CocoInstance(np.ones((4, 5), bool), 1)])
    with pytest.raises(ValueError, match="differs from the image"):
        write_coco_json(tmp_path / "c.json", [image], {1: "a"})
    image.instances[0].mask = np.ones((4, 4), bool)
    with pytest.raises(ValueError, match="not in categories"):
        write_coco_json(tmp_path / "c.json", [image], {2: "b"})
    (tmp_path / "bad.json").write_text('{"annotations": []}')
    with pytest.raises(ValueError, match="not a COCO"):
        read_coco_json(tmp_path / "bad.json")


# --- YOLO segmentation -----------------------------------------------------------------------


def union_by_class(masks: np.ndarray, classes: list[int], class_id: int) -> np.ndarray:
    return np.any([m for m, c in zip(masks, classes) if c == class_id], axis=0)


def test_contours_trace_the_pixel_edges():
    mask = np.zeros((6, 7), bool)
    mask[0:3, 0:2] = True  # touches the top-left border
    mask[3, 2] = True  # touches the block only diagonally: its own component
    mask[4:6, 4:7] = True  # touches the bottom-right border
    contours = outer_contours(mask)
    assert [c.tolist() for c in contours] == [
        [[0, 0], [2, 0], [2, 3], [0, 3]],
        [[2, 3], [3, 3], [3, 4], [2, 4]],
        [[4, 4], [7, 4], [7, 6], [4, 6]],
    ]
    ell = np.zeros((4, 4), bool)
    ell[0:3, 0] = ell[2, 0:3] = True
    assert outer_contours(ell)[0].tolist() == [[0, 0], [1, 0], [1, 2], [3, 2], [3, 3], [0, 3]]


def test_contours_rasterise_back_to_the_components_with_holes_filled():
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = ndimage.binary_opening(rng.random((40, 50)) < 0.6)
        rebuilt = np.zeros_like(mask)
        for contour in outer_contours(mask):
            rebuilt |= rasterise_polygon(contour, *mask.shape)
        # Outer contours keep everything and add only holes (background not 8-connected to outside).
        assert np.array_equal(rebuilt, ndimage.binary_fill_holes(mask, structure=np.ones((3, 3))))


def test_yolo_round_trip_on_real_masks(tmp_path):
    swan = davis_gt()
    masks = np.stack([swan, disk(swan.shape, (100, 150), 70), disk(swan.shape, (470, 840), 40)])
    write_yolo_labels(tmp_path / "00000.txt", masks, [0, 2, 2])
    lines = (tmp_path / "00000.txt").read_text().splitlines()
    coords = np.array([float(v) for line in lines for v in line.split()[1:]])
    assert coords.min() >= 0.0 and coords.max() <= 1.0
    read, classes = read_yolo_labels(tmp_path / "00000.txt", *swan.shape)
    assert sorted(set(classes)) == [0, 2]
    assert iou(union_by_class(read, classes, 0), swan) >= 0.99
    assert np.array_equal(union_by_class(read, classes, 2), masks[1] | masks[2])
    for name in COCO_GT:
        mask = coco_gt(name)
        write_yolo_labels(tmp_path / f"{name}.txt", mask[None], [5])
        read, classes = read_yolo_labels(tmp_path / f"{name}.txt", *mask.shape)
        assert set(classes) == {5} and iou(read.any(axis=0), mask) >= 0.9


def test_yolo_edge_cases():
    empty, full = np.zeros((1, 10, 20), bool), np.ones((1, 10, 20), bool)
    assert masks_to_yolo_polygons(empty, [0]) == []
    corners = "0.000000 0.000000 1.000000 0.000000 1.000000 1.000000 0.000000 1.000000"
    assert masks_to_yolo_polygons(full, [1]) == [f"1 {corners}"]
    dots = np.zeros((1, 30, 30), bool)
    dots[0, ::3, ::3] = True  # 100 one-pixel components
    lines = masks_to_yolo_polygons(dots, [3])
    assert len(lines) == 100


def test_yolo_classes_and_reader_errors(tmp_path):
    write_yolo_classes(tmp_path / "classes.txt", ["person", "hot dog"])
    assert read_yolo_classes(tmp_path / "classes.txt") == ["person", "hot dog"]
    with pytest.raises(ValueError, match="single lines"):
        write_yolo_classes(tmp_path / "classes.txt", ["a\nb"])
    (tmp_path / "box.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(ValueError, match="box labels"):
        read_yolo_labels(tmp_path / "box.txt", 10, 10)
    (tmp_path / "junk.txt").write_text("0 a b c d e f\n")
    with pytest.raises(ValueError, match="junk.txt:1"):
        read_yolo_labels(tmp_path / "junk.txt", 10, 10)
    with pytest.raises(ValueError, match="one class per mask"):
        masks_to_yolo_polygons(np.ones((2, 3, 3), bool), [0])


def test_yolo_reads_foreign_polygons(tmp_path):
    (tmp_path / "tri.txt").write_text("4 0.1 0.1 0.9 0.1 0.5 0.9\n\n")  # a triangle, 0.32 of the image
    masks, classes = read_yolo_labels(tmp_path / "tri.txt", 200, 300)
    assert classes == [4] and masks.shape == (1, 200, 300)
    assert masks[0].mean() == pytest.approx(0.32, abs=0.005)
    assert masks[0, 25, 150] and not masks[0, 150, 40]


# --- atomic writes ---------------------------------------------------------------------------


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "labels.png"
    write_davis_png(target, np.ones((4, 4), np.uint8))
    before = target.read_bytes()

    def broken_save(self, fp, format=None, **params):
        with open(fp, "wb") as f:
            f.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_davis_png(target, np.full((4, 4), 2, np.uint8))
    with pytest.raises(OSError, match="disk full"):
        write_davis_png(tmp_path / "new.png", np.full((4, 4), 2, np.uint8))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.png"]


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputNotWritableError, match="cannot create the output folder"):
        write_yolo_classes(tmp_path / "file" / "sub" / "classes.txt", ["a"])
    with pytest.raises(OSError, match="output folder"):
        write_sav_pngs(tmp_path / "file", "v", 0, {1: np.ones((2, 2), bool)})
