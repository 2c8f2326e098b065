"""int8 for the OpenVINO backend: NNCF's post-training quantization of an export folder's image
encoder, calibrated on a few video frames (`masklet quantize FOLDER --calibration VIDEO`).

The quantized graph is written beside the float32 one as an OpenVINO IR
(`image_encoder.int8.xml` / `.bin`) and named in the manifest under the graph's "int8" entry,
so one folder serves every backend: onnx and openvino in float32 or bfloat16 keep the ONNX
graph, `load_model(folder, backend="openvino", dtype="int8")` takes the IR. Only the image
encoder is quantized: it is the GEMM-bound graph where int8 pays; the memory attention's time
is in attention itself and the mask decoder's few small GEMMs move click masks when quantized
(as with the ONNX backend's int8 weights, `masklet.export.onnx_export.INT8_GRAPHS`).

Calibration frames go through the video predictor's own resize (`video_frame_input`), so the
activation ranges NNCF measures are those the graph sees when tracking.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from masklet.config import HieraConfig
from masklet.errors import MaskletError
from masklet.exported.manifest import MANIFEST_FILE, read_manifest
from masklet.io.atomic import atomic_output
from masklet.io.video import open_video
from masklet.openvino.graphs import openvino_core
from masklet.predict.resize import video_frame_input

QUANTIZED_GRAPH = "image_encoder"
INT8_SUFFIX = ".int8.xml"  # image_encoder.int8.xml (and its weights, image_encoder.int8.bin)
DEFAULT_CALIBRATION_FRAMES = 16


class QuantizeError(MaskletError, ValueError):
    """What `quantize_export` cannot do with the inputs it was given."""


def nncf_module():
    """The nncf package, or an ImportError that says how to install it."""
    try:
        import nncf
    except ImportError:
        raise ImportError("int8 quantization for OpenVINO needs nncf: pip install 'masklet[openvino-int8]'") from None
    return nncf


def calibration_inputs(video, image_size: int, frames: int) -> list[np.ndarray]:
    """`frames` frames spread evenly over `video` (anything `masklet.io.video.open_video`
    opens: a video file, a folder of frames, an array) as image encoder inputs [1, 3, S, S]."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise QuantizeError(f"frames must be an int >= 1, got {frames!r}")
    source = open_video(video, prefetch=0)
    try:
        count = len(source)
    except TypeError:
        raise QuantizeError(f"{video}: calibration needs a video whose length is known (a file or a frame folder), not a stream") from None
    picks = np.unique(np.linspace(0, count - 1, num=min(frames, count)).round().astype(int))
    return [video_frame_input(source[int(i)], image_size)[None] for i in picks]


def quantize_export(folder, calibration, *, frames: int = DEFAULT_CALIBRATION_FRAMES) -> Path:
    """Quantize the image encoder of export folder `folder` to int8 with NNCF, calibrated on
    `frames` frames of `calibration`; write its IR into the folder and record it in the
    manifest (an existing int8 graph is replaced). Returns the IR's path."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    nncf = nncf_module()
    import openvino
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    config = manifest["config"]
    inputs = calibration_inputs(calibration, config.image_size, frames)
    core = openvino_core()
    name = QUANTIZED_GRAPH
    graph = core.read_model(str(folder / manifest["graphs"][name]["file"]))
    (input_name,) = manifest["graphs"][name]["inputs"]
    overflow_fix = OverflowFix.ENABLE
    quantized = nncf.quantize(
        graph,
        nncf.Dataset(inputs, lambda images: {input_name: images}),
        subset_size=len(inputs),
        # Transformer mode keeps softmax and layer-norm inputs in float: what Hiera needs.
        model_type=nncf.ModelType.TRANSFORMER if isinstance(config.trunk, HieraConfig) else None,
        preset=nncf.QuantizationPreset.MIXED,  # symmetric weights, asymmetric activations (GELU's negatives)
        fast_bias_correction=True,
        # 7-bit weights in every layer: without VNNI, AVX2's int8 products saturate their 16-bit
        # sums. NNCF's default fixes the first layer only, which left sam2.1-hiera-tiny's masks at
        # IoU 0.73 with float32 on an AVX2 EPYC (0.97 with this), and the IR may run on any CPU.
        advanced_parameters=AdvancedQuantizationParameters(overflow_fix=overflow_fix),
    )
    ir = folder / f"{name}{INT8_SUFFIX}"
    with tempfile.TemporaryDirectory(dir=folder, prefix=".quantize-") as scratch:
        staged = Path(scratch) / ir.name  # save_model writes the weights beside it, named after it
        openvino.save_model(quantized, str(staged), compress_to_fp16=False)
        os.replace(staged.with_suffix(".bin"), ir.with_suffix(".bin"))
        os.replace(staged, ir)
    record_int8_graph(folder, name, ir.name, {"calibration": str(calibration), "frames": len(inputs),
                                               "tool": f"nncf {nncf.__version__}", "preset": "mixed",
                                               "overflow_fix": overflow_fix.value})
    return ir


def record_int8_graph(folder: Path, name: str, file: str, how: dict) -> None:
    """Name graph `name`'s int8 IR in the folder's manifest (rewritten whole)."""
    raw = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    raw["graphs"][name]["int8"] = {"file": file, **how}
    with atomic_output(folder / MANIFEST_FILE) as tmp:
        tmp.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
