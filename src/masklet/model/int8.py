"""The int8 setting (`load_model(..., dtype="int8")`): the Hiera trunk's linear layers (its
attention projections and MLPs, most of the image encoder's arithmetic) become dynamically
quantized int8 layers: weights stored as int8 per output channel, activations quantized per
call, the GEMMs run by torch's x86 int8 kernels (VNNI / AVX2). Everything else stays float32.

Measured on sam2.1-hiera-tiny (one thread, a Xeon with AVX512-VNNI): the trunk's linear layers
in int8 cut the encode time 1.2x (median of interleaved runs; bfloat16 with AMX: 2.4x); the
memory attention's linear layers in int8 gained nothing (its time is in attention itself, which
int8 does not touch), so they and the small decoder heads stay float32. Not yet timed on an
AVX2-only CPU, where `dtype="auto"` picks it. This uses `torch.ao.quantization.quantize_dynamic`, deprecated in favour of
torchao, whose int8 layers ran slower than float32 on the CPU without `torch.compile` (torchao
0.18, torch 2.13); its deprecation warnings are silenced here.
"""

from __future__ import annotations

import gc
import warnings

import torch
from torch import nn

QUANTIZED_PART = "image_encoder.trunk"


def quantize_image_encoder(model: nn.Module) -> None:
    """Turn the linear layers of `model`'s Hiera trunk into int8 layers, in place (a float32
    model on the CPU; a second call changes nothing)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    trunk = model.get_submodule(QUANTIZED_PART)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quantize_per_channel",
                                category=UserWarning)
        quantize_dynamic(trunk, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    gc.collect()  # the replaced float32 layers sit in reference cycles: free their weights now, not at some later pass


def has_int8_layers(model: nn.Module) -> bool:
    """Whether `quantize_image_encoder` ran on `model`."""
    from torch.ao.nn.quantized.dynamic import Linear as Int8Linear

    return any(isinstance(m, Int8Linear) for m in model.get_submodule(QUANTIZED_PART).modules())
