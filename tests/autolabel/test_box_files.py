"""Boxes from files: the three formats agree, and bad files or boxes say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from masklet.autolabel import BoxError, BoxFileError, Detection, open_box_file
from masklet.autolabel.box_files import frame_key, read_csv_boxes


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_the_three_formats_give_the_same_boxes(tmp_path):
    from autolabel_fixtures import write_box_files

    sizes = {"a": (100, 200), "b": (50, 80)}
    boxes = {"a": (10.0, 20.0, 110.0, 70.0), "b": (0.0, 5.0, 80.0, 50.0)}
    coco, yolo, csv = write_box_files(tmp_path, sizes, boxes, name="dog")
    for path, form in ((coco, "coco"), (yolo, "yolo"), (csv, "csv")):
        detector = open_box_file(path, form)
        assert list(detector.categories.values()) == ["dog"], form
        for stem, (h, w) in sizes.items():
            (found,) = detector.detect(np.zeros((h, w, 3), np.uint8), stem)
            np.testing.assert_allclose(found.box, boxes[stem], atol=1e-5, err_msg=form)
        assert detector.detect(np.zeros((10, 10, 3), np.uint8), "absent") == []


def test_video_frames_are_keyed_by_video_and_frame(tmp_path):
    csv = write(tmp_path, "b.csv", "image,x1,y1,x2,y2,category\nclip/00004.jpg,1,2,3,4,a\nclip/00000.jpg,1,2,3,4,b\n"
                                   "other/00001.jpg,1,2,3,4,a\nclip/00009.jpg,1,2,3,4,a\n")
    boxes = read_csv_boxes(csv)
    assert boxes.keyframes("clip", 8) == [0, 4]  # frame 9 is past the end
    assert boxes.categories == {1: "a", 2: "b"}
    (box,) = boxes.detect(np.zeros((9, 9, 3), np.uint8), frame_key("clip", 4))
    assert box == Detection((1.0, 2.0, 3.0, 4.0), 1, None)


def test_malformed_files_name_the_file_and_line(tmp_path):
    with pytest.raises(BoxFileError, match="header lacks x2"):
        read_csv_boxes(write(tmp_path, "a.csv", "image,x1,y1,y2,category\nx.jpg,1,2,3,cat\n"))
    with pytest.raises(BoxFileError, match=r"b\.csv:3: .*must be numbers"):
        read_csv_boxes(write(tmp_path, "b.csv", "image,x1,y1,x2,y2,category\nx.jpg,1,2,3,4,c\ny.jpg,1,two,3,4,c\n"))
    with pytest.raises(BoxFileError, match="not a COCO detection file"):
        open_box_file(write(tmp_path, "c.json", '{"images": []}'), "coco")
    folder = tmp_path / "yolo"
    folder.mkdir()
    write(folder, "classes.txt", "cat\n")
    write(folder, "img.txt", "0 0.5 0.5 0.2\n")
    with pytest.raises(BoxFileError, match=r"img\.txt:1: expected '<class> cx cy w h \[score\]'"):
        open_box_file(folder, "yolo").detect(np.zeros((4, 4, 3), np.uint8), "img")


def test_boxes_are_clipped_to_the_image_and_boxes_outside_it_refused():
    assert Detection((-5.0, 2.0, 50.0, 8.0), 1).clipped(40, 30).box == (0.0, 2.0, 40.0, 8.0)
    with pytest.raises(BoxError, match="lies outside the 40x30 image"):
        Detection((50.0, 2.0, 60.0, 8.0), 1).clipped(40, 30)
    with pytest.raises(BoxError, match="x2 < x1"):
        Detection((20.0, 2.0, 10.0, 8.0), 1).clipped(40, 30)


def test_an_unreadable_yolo_label_fails_its_image_only(tmp_path):
    folder = tmp_path / "yolo"
    folder.mkdir()
    write(folder, "good.txt", "3 0.5 0.5 0.5 0.5\n")
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00garbage")
    boxes = open_box_file(folder, "yolo")
    assert boxes.categories == {3: "class3"}
    assert len(boxes.detect(np.zeros((4, 4, 3), np.uint8), "good")) == 1
    with pytest.raises(BoxFileError, match=r"bad\.txt: cannot read the label file"):
        boxes.detect(np.zeros((4, 4, 3), np.uint8), "bad")
