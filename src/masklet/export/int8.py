"""int8 weights for an exported graph, by onnxruntime's dynamic quantization: the weights of
every MatMul (the linear layers: attention projections, MLPs, which hold most parameters) are
stored as int8 with one scale per output channel, and each call quantizes that MatMul's input
on the fly. Convolutions, norms and the RoPE tables stay float32. Masks agree closely with
float32's but not to its 1e-3 (tests/export/test_onnx_int8.py measures it)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path


def quantize_weights(proto):
    """An onnx ModelProto -> the same graph with int8 MatMul weights (a new ModelProto)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as scratch:
        quantized = Path(scratch) / "int8.onnx"
        logging.disable(logging.WARNING)  # its advice to pre-process concerns static quantization
        try:
            quantize_dynamic(proto, quantized, op_types_to_quantize=["MatMul"], per_channel=True,
                             weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        return onnx.load(quantized)
