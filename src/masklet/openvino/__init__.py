"""The OpenVINO backend: an exported folder (`masklet export --format onnx`) compiled by
OpenVINO for the CPU (`masklet.load_model(folder, backend="openvino", dtype=...)`), float32 or,
where the CPU computes it natively, bfloat16; int8 runs the image encoder that `masklet
quantize` wrote into the folder."""
