"""The clip the tests of export-folder backends run, free of torch so that it also runs in a
process where torch cannot be imported: `python onnx_clip.py EXPORT_FOLDER BACKEND INPUTS.npz
OUT.npz` (with torch blocked) writes what `run_clip`, `run_stream` and `run_image` return on
BACKEND (onnx or openvino)."""

from __future__ import annotations

import sys

import numpy as np

CORRECTION_FRAME = 3


def run_clip(model, inputs: dict) -> dict[str, np.ndarray]:
    """{"pass-frame": logits [2, H, W]}: pass 0 propagates two prompted objects (the swan by its
    mask, the shore by a click); pass 1 is a negative correction click on the swan's head on a
    tracked frame, then the propagation after that frame (which attends to the corrected
    memory). `inputs`: frames [T, H, W, 3], swan_mask [H, W], head_click [1, 2]."""
    import masklet

    predictor = masklet.VideoPredictor(model, show_progress=False)
    state = predictor.init_state(inputs["frames"])
    predictor.add_new_mask(state, frame_idx=0, obj_id=1, mask=inputs["swan_mask"])
    predictor.add_new_points_or_box(state, frame_idx=0, obj_id=2, points=[[120, 400]], labels=[1])
    out = {f"0-{f}": as_array(logits[:, 0]) for f, _, logits in predictor.propagate_in_video(state)}
    _, _, logits = predictor.add_new_points_or_box(  # the head is not the object
        state, frame_idx=CORRECTION_FRAME, obj_id=1, points=inputs["head_click"], labels=[0], clear_old_points=False,
    )
    out[f"1-{CORRECTION_FRAME}"] = as_array(logits[:, 0])
    for f, _, logits in predictor.propagate_in_video(state, start_frame_idx=CORRECTION_FRAME + 1):
        out[f"1-{f}"] = as_array(logits[:, 0])
    return out


def run_stream(model, inputs: dict, frames: int = 3) -> dict[str, np.ndarray]:
    """{"stream-frame": logits [1, H, W]}: `StreamTracker` with the swan's mask on frame 0."""
    import masklet

    tracker = masklet.StreamTracker(model)
    tracker.track(inputs["frames"][0])
    tracker.add_new_mask(obj_id=1, mask=inputs["swan_mask"])
    return {f"stream-{f}": as_array(tracker.track(inputs["frames"][f]).logits) for f in range(1, frames)}


def run_image(model, inputs: dict) -> dict[str, np.ndarray]:
    """{"image-prompt": logits [1, H, W]}: `ImagePredictor` on frame 0, the best-scored mask of
    a click on the shore, of the swan's box, and of the shore click with a negative click on
    the swan's head and the first answer's low-res logits as mask input."""
    import masklet

    predictor = masklet.ImagePredictor(model)
    predictor.set_image(inputs["frames"][0])
    masks, scores, low_res = predictor.predict(point_coords=[[120, 400]], point_labels=[1], return_logits=True)
    best = int(np.argmax(scores))
    out = {"image-click": as_array(masks[best : best + 1])}
    ys, xs = np.nonzero(inputs["swan_mask"])
    masks, _, _ = predictor.predict(box=[xs.min(), ys.min(), xs.max(), ys.max()], multimask_output=False,
                                    return_logits=True)
    out["image-box"] = as_array(masks)
    masks, _, _ = predictor.predict(point_coords=[[120, 400], *inputs["head_click"].tolist()], point_labels=[1, 0],
                                    mask_input=low_res[best : best + 1], multimask_output=False, return_logits=True)
    out["image-correction"] = as_array(masks)
    return out


def as_array(logits) -> np.ndarray:
    """A float32 numpy copy of a tensor or array."""
    from masklet.backend.arrays import to_numpy

    return np.array(to_numpy(logits), dtype=np.float32)


def main(folder: str, backend: str, inputs_path: str, out_path: str) -> None:
    import masklet

    with np.load(inputs_path) as stored:
        inputs = {k: stored[k] for k in stored.files}
    model = masklet.load_model(folder, backend=backend)
    out = {**run_clip(model, inputs), **run_stream(model, inputs), **run_image(model, inputs)}
    np.savez(out_path, torch_loaded=np.array(sys.modules.get("torch") is not None), **out)


if __name__ == "__main__":
    main(*sys.argv[1:])
