"""The Ultralytics adapter, tested with a stand-in that has the Ultralytics results interface
(boxes.xyxy / cls / conf as tensors, `names`); no Ultralytics model is run here."""

from __future__ import annotations

import importlib.util
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from masklet.autolabel import Detection, Detector, UltralyticsDetector


class FakeUltralyticsModel:
    names = {0: "person", 2: "car"}

    def __init__(self):
        self.calls = []

    def __call__(self, image, conf, verbose):
        self.calls.append((image, conf))
        boxes = SimpleNamespace(xyxy=torch.tensor([[1.0, 2.0, 30.0, 40.0], [5.0, 5.0, 9.0, 9.0]]),
                                cls=torch.tensor([2.0, 0.0]), conf=torch.tensor([0.9, 0.5]))
        return [SimpleNamespace(boxes=boxes)]


def test_adapter_turns_results_into_detections_and_passes_bgr():
    model = FakeUltralyticsModel()
    detector = UltralyticsDetector(model=model, every=3, conf=0.4)
    assert isinstance(detector, Detector)
    image = np.zeros((50, 60, 3), np.uint8)
    image[..., 0] = 255  # red in RGB
    found = detector.detect(image, "frame")
    assert found == [Detection((1.0, 2.0, 30.0, 40.0), 2, pytest.approx(0.9)),
                     Detection((5.0, 5.0, 9.0, 9.0), 0, pytest.approx(0.5))]
    seen, conf = model.calls[0]
    assert conf == 0.4 and seen[0, 0].tolist() == [0, 0, 255]  # BGR, as Ultralytics expects numpy input
    assert detector.categories == {0: "person", 2: "car"}
    assert detector.keyframes("clip", 8) == [0, 3, 6]


def test_weights_are_loaded_by_each_worker_not_pickled():
    detector = UltralyticsDetector("weights.pt", model=FakeUltralyticsModel())
    assert pickle.loads(pickle.dumps(detector))._model is None


@pytest.mark.skipif(importlib.util.find_spec("ultralytics") is not None, reason="ultralytics is installed")
def test_missing_ultralytics_is_a_clear_error():
    with pytest.raises(ImportError, match="pip install ultralytics"):
        UltralyticsDetector("yolo11n.pt").categories  # noqa: B018  (loading raises)
