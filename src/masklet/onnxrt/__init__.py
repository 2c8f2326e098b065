"""The ONNX Runtime backend: an exported folder (`masklet export --format onnx`) run as a
model the video predictors drive like a SAM2Model (`masklet.load_model(folder, backend="onnx")`)."""
