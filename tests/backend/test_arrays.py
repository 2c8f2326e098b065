"""The tracking glue's numpy operations (what the ONNX backend computes with where torch is not
installed) against the torch operations of the torch backend."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from masklet.backend.numpy_arrays import NumpyArrays
from masklet.model.arrays import TorchArrays
from masklet.predict.postprocess import fill_holes
from masklet.predict.results import non_overlapping

NUMPY, TORCH = NumpyArrays(), TorchArrays("cpu", torch.float32)


@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize(
    "size_in, size_out",
    [((64, 64), (256, 256)), ((256, 256), (64, 64)), ((64, 64), (480, 854)), ((480, 854), (256, 256)), ((7, 5), (3, 11))],
)
def test_resize_matches_torch_interpolate(size_in, size_out, antialias):
    x = torch.randn(2, 1, *size_in) * 8
    expected = F.interpolate(x, size_out, mode="bilinear", align_corners=False, antialias=antialias)
    got = NUMPY.resize(x.numpy(), size_out, antialias=antialias)
    assert got.shape == (2, 1, *size_out) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4 * 8)
    assert torch.allclose(TORCH.resize(x, size_out, antialias=antialias), expected)


def test_bfloat16_memories_hold_torch_bfloat16_values_in_half_the_bytes():
    x = torch.randn(1, 32, 16, 16) * 3
    x[0, 0, 0, :4] = torch.tensor([1.00390625, 1.01171875, -2.0, 0.0])  # ties round to even
    ops = NumpyArrays()
    stored = ops.memory(x.numpy(), low_precision=True)
    assert stored.dtype == np.uint16 and NUMPY.nbytes(stored) == TORCH.nbytes(x.to(torch.bfloat16))
    np.testing.assert_array_equal(ops.compute(stored), x.to(torch.bfloat16).float().numpy())
    assert ops.memory(x.numpy(), low_precision=False) is not None
    assert ops.compute(ops.memory(x.numpy(), low_precision=False)).dtype == np.float32


def test_tokens_and_feature_maps_agree_across_backends():
    x = torch.randn(2, 8, 3, 5)
    seq = TORCH.tokens(x)
    assert seq.shape == (2, 15, 8) and torch.equal(seq, x.flatten(2).transpose(1, 2))
    np.testing.assert_array_equal(NUMPY.tokens(x.numpy()), seq.numpy())
    np.testing.assert_array_equal(NUMPY.feature_maps(seq.numpy(), 3, 5), x.numpy())
    assert torch.equal(TORCH.feature_maps(seq, 3, 5), x)


def test_array_ops_of_each_backend_make_their_own_kind():
    numpy_ops, torch_ops = NUMPY, TORCH
    assert isinstance(numpy_ops.asarray([1, 2], integer=True), np.ndarray) and numpy_ops.asarray([1, 2], integer=True).dtype == np.int64
    assert torch_ops.asarray(np.ones(2, dtype=np.float64)).dtype == torch.float32
    assert numpy_ops.repeat_rows(np.ones((1, 3)), 4).shape == (4, 3)
    assert torch_ops.repeat_rows(torch.ones(1, 3), 4).shape == (4, 3)
    np.testing.assert_array_equal(numpy_ops.repeat_interleave(np.arange(2)[:, None], 2)[:, 0], [0, 0, 1, 1])


def test_non_overlapping_and_fill_holes_agree_across_backends():
    logits = torch.randn(3, 1, 20, 30) * 5
    np.testing.assert_array_equal(non_overlapping(logits.numpy(), NUMPY), non_overlapping(logits, TORCH).numpy())
    filled = fill_holes(logits.numpy(), 8, NUMPY)
    assert isinstance(filled, np.ndarray)
    np.testing.assert_array_equal(filled, fill_holes(logits, 8, TORCH).numpy())
