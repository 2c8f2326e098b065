"""The `masklet` command line, run in-process on the real files in ../shared/data with a tiny
seeded model (random-weight masks: these tests check the files, not the segmentation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import micro_config, require_shared_data, seeded_model, visible_objects
from conftest import run_cli as run
from PIL import Image

import masklet
from masklet.io import read_coco_json, read_davis_png, read_sav_pngs, read_yolo_classes, read_yolo_labels, rle_decode

BEDROOM_SIZE = (540, 960)  # height, width
GROCERIES_SIZE = (534, 800)
COMMANDS = [
    "segment", "auto", "track", "models", "download", "convert", "average", "info", "eval", "benchmark", "serve", "label-studio",
    "export", "quantize",
]


@pytest.fixture(scope="module")
def data():
    return require_shared_data()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "micro.pt"
    masklet.save_model(visible_objects(seeded_model(micro_config(128))), path)
    return path


def files_under(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.height, image.width


# ---------------------------------------------------------------------- help


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: masklet {command}")


# ---------------------------------------------------------------------- bad hardware settings


def test_out_of_memory_is_one_line_and_leaves_no_output(capsys, tmp_path, data, checkpoint, monkeypatch):
    """Memory running out (here: torch's CPU allocator failing in the image encoder) is a one-line
    error with exit code 1, and the output folder is never made."""
    from masklet.model.sam2 import SAM2Model

    def exhausted(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 25920000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(SAM2Model, "forward_image", exhausted)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "segment", data / "images" / "groceries.jpg", "--point", "400,300",
                       "--output", out_dir / "mask.png", "--model", checkpoint)
    assert code == 1
    assert err.startswith("masklet: error: out of memory (") and "Nothing was written" in err and "Traceback" not in err
    assert not out_dir.exists()


def test_other_runtime_errors_are_not_called_out_of_memory(capsys, tmp_path, data, checkpoint, monkeypatch):
    from masklet.model.sam2 import SAM2Model

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(SAM2Model, "forward_image", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        run(capsys, "segment", data / "images" / "groceries.jpg", "--point", "400,300",
            "--output", tmp_path / "mask.png", "--model", checkpoint)


# ---------------------------------------------------------------------- segment


def test_segment_writes_mask_scores_and_overlay(capsys, tmp_path, data, checkpoint):
    image = data / "images" / "groceries.jpg"
    mask_png, overlay = tmp_path / "out" / "mask.png", tmp_path / "out" / "overlay.png"
    code, out, err = run(capsys, "segment", image, "--point", "400,300", "--point", "100,100:0",
                         "--box", "300,200,600,450", "--output", mask_png, "--overlay", overlay, "--model", checkpoint)
    assert code == 0, err
    assert png_size(mask_png) == GROCERIES_SIZE
    assert set(np.unique(np.asarray(Image.open(mask_png)))) <= {0, 255}
    report = json.loads(mask_png.with_suffix(".json").read_text())
    assert report["prompts"]["labels"] == [1, 0] and len(report["masks"]) == 1
    decoded = rle_decode(report["masks"][0]["segmentation"])
    assert decoded.shape == GROCERIES_SIZE
    np.testing.assert_array_equal(decoded, np.asarray(Image.open(mask_png)) > 0)
    assert png_size(overlay) == GROCERIES_SIZE and Image.open(overlay).mode == "RGB"
    assert sorted(p.name for p in files_under(tmp_path)) == ["mask.json", "mask.png", "overlay.png"]


def test_segment_single_click_scores_three_candidates_best_first(capsys, tmp_path, data, checkpoint):
    mask_png = tmp_path / "mask.png"
    code, _, err = run(capsys, "segment", data / "images" / "groceries.jpg", "--point", "400,300",
                       "--output", mask_png, "--model", checkpoint)
    assert code == 0, err
    scores = [m["score"] for m in json.loads(mask_png.with_suffix(".json").read_text())["masks"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)


# ---------------------------------------------------------------------- auto

LOW_THRESHOLDS = ["--points-per-side", "4", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]


@pytest.fixture
def small_images(tmp_path, data):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("truck", "groceries"):
        Image.open(data / "images" / f"{name}.jpg").convert("RGB").resize((160, 120)).save(folder / f"{name}.png")
    return folder


def test_auto_coco_on_one_image(capsys, tmp_path, data, checkpoint):
    output = tmp_path / "auto.json"
    code, _, err = run(capsys, "auto", data / "images" / "groceries.jpg", "--format", "coco", "--output", output,
                       "--model", checkpoint, "--no-progress", *LOW_THRESHOLDS)
    assert code == 0, err
    images, categories = read_coco_json(output)
    assert [(i.file_name, i.height, i.width) for i in images] == [("groceries.jpg", *GROCERIES_SIZE)]
    assert images[0].instances and categories == {1: "object"}
    assert all(inst.mask.shape == GROCERIES_SIZE and inst.score is not None for inst in images[0].instances)


def test_auto_png_on_a_folder(capsys, tmp_path, small_images, checkpoint):
    output = tmp_path / "masks"
    code, _, err = run(capsys, "auto", small_images, "--format", "png", "--output", output, "--model", checkpoint,
                       "--no-progress", *LOW_THRESHOLDS)
    assert code == 0, err
    assert sorted(p.name for p in output.iterdir()) == ["groceries", "truck"]
    pngs = files_under(output)
    assert pngs and all(png_size(p) == (120, 160) for p in pngs)
    areas = [int((np.asarray(Image.open(p)) > 0).sum()) for p in sorted((output / "truck").iterdir())]
    assert areas == sorted(areas, reverse=True)


def test_auto_yolo_on_a_folder(capsys, tmp_path, small_images, checkpoint):
    output = tmp_path / "labels"
    code, _, err = run(capsys, "auto", small_images, "--format", "yolo", "--output", output, "--model", checkpoint,
                       "--no-progress", *LOW_THRESHOLDS)
    assert code == 0, err
    assert sorted(p.name for p in output.iterdir()) == ["classes.txt", "groceries.txt", "truck.txt"]
    assert read_yolo_classes(output / "classes.txt") == ["object"]
    masks, classes = read_yolo_labels(output / "truck.txt", 120, 160)
    assert len(masks) and set(classes) == {0}


# ---------------------------------------------------------------------- track


def test_track_frame_folder_to_davis_pngs(capsys, tmp_path, data, checkpoint):
    output = tmp_path / "davis"
    code, out, err = run(
        capsys, "track", data / "videos" / "bedroom", "--max-frames", 4, "--frame", 1,
        "--obj", 1, "--point", "480,270", "--point", "100,100:0", "--obj", 2, "--box", "600,100,900,500",
        "--output", output, "--model", checkpoint,
    )
    assert code == 0, err
    assert "tracking" in err  # the progress bar
    assert [p.name for p in files_under(output)] == [f"{t:05d}.png" for t in range(4)]  # frame 0 tracked backwards
    for png in files_under(output):
        assert png_size(png) == BEDROOM_SIZE and Image.open(png).mode == "P"
        assert set(np.unique(read_davis_png(png))) <= {0, 1, 2}


def test_track_prompt_file_with_a_mask_to_sav_pngs(capsys, tmp_path, data, checkpoint):
    mask = np.zeros(BEDROOM_SIZE, np.uint8)
    mask[200:300, 400:600] = 255
    Image.fromarray(mask).save(tmp_path / "object3.png")
    prompt_file = tmp_path / "prompts.json"
    prompt_file.write_text(json.dumps({"objects": [
        {"id": 1, "frame": 0, "points": [[480, 270], [50, 50]], "labels": [1, 0]},
        {"id": 3, "frame": 1, "mask": "object3.png"},
    ]}))
    output = tmp_path / "sav"
    code, _, err = run(capsys, "track", data / "videos" / "bedroom", "--prompts", prompt_file, "--max-frames", 3,
                       "--format", "sav", "--output", output, "--model", checkpoint, "--no-progress")
    assert code == 0, err
    objects = read_sav_pngs(output, "bedroom")
    assert sorted(objects) == [1, 3]
    assert all(sorted(frames) == [0, 1, 2] for frames in objects.values())
    assert all(m.shape == BEDROOM_SIZE for frames in objects.values() for m in frames.values())


def test_track_video_file_to_coco_json(capsys, tmp_path, data, checkpoint):
    output = tmp_path / "track.json"
    code, _, err = run(capsys, "track", data / "videos" / "bedroom.mp4", "--point", "480,270", "--max-frames", 4,
                       "--format", "coco", "--output", output, "--model", checkpoint, "--no-progress")
    assert code == 0, err
    images, categories = read_coco_json(output)
    assert [i.file_name for i in images] == [f"bedroom/{t:05d}" for t in range(4)]
    assert categories == {1: "object 1"}
    assert all(inst.mask.shape == BEDROOM_SIZE for image in images for inst in image.instances)
    raw = json.loads(output.read_text())
    assert all(rle_decode(a["segmentation"]).shape == BEDROOM_SIZE for a in raw["annotations"])


def test_track_video_file_to_overlay_mp4(capsys, tmp_path, data, checkpoint):
    import av

    output = tmp_path / "overlay.mp4"
    code, _, err = run(capsys, "track", data / "videos" / "bedroom.mp4", "--box", "300,100,700,500",
                       "--max-frames", 4, "--format", "mp4", "--output", output, "--model", checkpoint,
                       "--no-progress")
    assert code == 0, err
    with av.open(str(output)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 4 and (frames[0].height, frames[0].width) == BEDROOM_SIZE
    assert files_under(tmp_path) == [output]


# ---------------------------------------------------------------------- checkpoints


def test_models_lists_official_names_sizes_and_cache(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLET_HOME", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "sam2.1_hiera_tiny.pt").write_bytes(b"cached")
    code, out, _ = run(capsys, "models")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert len(rows) == 10
    assert rows["masklet-nano"][1] == "3.6M" and rows["masklet-nano"][-1] == "bundled"
    assert rows["masklet-lite"][1] == "5.2M" and rows["masklet-lite"][-1] == "bundled"
    assert rows["sam2.1-hiera-tiny"][1] == "39.0M" and rows["sam2.1-hiera-tiny"][-1] == "yes"
    assert rows["sam2.1-hiera-large"][-1] == "no"


def test_download_offline_is_one_line_with_the_url(capsys, tmp_path, monkeypatch):
    from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS, OfficialCheckpoint

    url = "http://127.0.0.1:9/segment_anything_2/092824/sam2.1_hiera_tiny.pt"
    monkeypatch.setenv("MASKLET_HOME", str(tmp_path))
    monkeypatch.setitem(OFFICIAL_CHECKPOINTS, "sam2.1-hiera-tiny", OfficialCheckpoint("sam2.1-hiera-tiny", url, 156))
    code, _, err = run(capsys, "download", "sam2.1-hiera-tiny")
    assert code == 2 and err.startswith("masklet: error:") and url in err and err.count("\n") == 1
    assert files_under(tmp_path) == []


def test_download_unknown_name(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLET_HOME", str(tmp_path))
    code, _, err = run(capsys, "download", "sam3")
    assert code == 2 and "sam2.1-hiera-tiny" in err and err.count("\n") == 1


def test_convert_meta_hf_round_trip_and_info(capsys, tmp_path, checkpoint):
    hf_folder, back = tmp_path / "hf", tmp_path / "back.pt"
    assert run(capsys, "convert", checkpoint, hf_folder)[0] == 0
    assert sorted(p.name for p in hf_folder.iterdir()) == ["config.json", "model.safetensors"]
    assert run(capsys, "convert", hf_folder, back)[0] == 0
    original, restored = torch.load(checkpoint)["model"], torch.load(back)["model"]
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)

    code, out, _ = run(capsys, "info", hf_folder)
    facts = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith("image size"))
    assert code == 0 and facts["format"] == "hf" and facts["config"] == "micro-128"
    assert facts["version"] == "SAM 2.1"
    model = seeded_model(micro_config(128))
    assert facts["parameters"] == f"{sum(p.numel() for p in model.parameters()):,}"
    assert facts["tensors"] == str(len(original))
    code, out, _ = run(capsys, "info", checkpoint)
    assert code == 0 and "format      meta" in out


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_convert_to_half_precision(capsys, tmp_path, checkpoint, dtype):
    """Stored in that dtype: float16, which the CPU does not compute in, converts on it too."""
    half = tmp_path / "half.pt"
    assert run(capsys, "convert", checkpoint, half, "--dtype", dtype)[0] == 0
    assert {t.dtype for t in torch.load(half)["model"].values()} == {getattr(torch, dtype)}
    code, out, _ = run(capsys, "info", half)
    assert code == 0 and f"dtypes      {dtype}" in out


def test_average_writes_the_mean_of_the_checkpoints(capsys, tmp_path, checkpoint):
    other = tmp_path / "other.pt"
    masklet.save_model(seeded_model(micro_config(128), seed=7), other)
    averaged = tmp_path / "averaged.pt"
    code, out, _ = run(capsys, "average", checkpoint, other, "--output", averaged)
    assert code == 0 and "mean of 2 checkpoints" in out
    a, b, mean = (torch.load(p)["model"] for p in (checkpoint, other, averaged))
    assert any(not torch.equal(a[k], b[k]) for k in a)
    assert all(torch.allclose(mean[k], (a[k].double() + b[k].double()).div(2).float()) for k in a)
    assert masklet.load_model(averaged).config == masklet.load_model(checkpoint).config


def test_average_weighted_with_parts_kept_from_the_first(capsys, tmp_path, checkpoint):
    other = tmp_path / "other.pt"
    masklet.save_model(seeded_model(micro_config(128), seed=7), other)
    mixed = tmp_path / "mixed.pt"
    code, out, _ = run(capsys, "average", checkpoint, other, "--weights", "0.25", "0.75",
                       "--keep-from-first", "memory_encoder", "no_mem_embed", "--output", mixed)
    assert code == 0 and "weighted 0.25 0.75" in out and "memory_encoder no_mem_embed from the first" in out
    a, b, got = (torch.load(p)["model"] for p in (checkpoint, other, mixed))
    kept = [k for k in a if k.startswith(("memory_encoder", "no_mem_embed"))]
    assert len(kept) > 2 and all(torch.equal(got[k], a[k]) for k in kept)
    soup = [k for k in a if k not in kept]
    assert all(torch.allclose(got[k], (0.25 * a[k].double() + 0.75 * b[k].double()).float()) for k in soup)
    assert any(not torch.equal(got[k], b[k]) for k in soup)


@pytest.mark.parametrize("args, message", [
    (["--weights", "0.5"], "one non-negative number per checkpoint, summing to 1"),
    (["--weights", "0.7", "0.7"], "summing to 1"),
    (["--keep-from-first", "memory_encodr"], "no parameter name starts with ['memory_encodr']; the model's parts are"),
])
def test_average_refuses_bad_weights_and_unknown_parts(capsys, tmp_path, checkpoint, args, message):
    code, _, err = run(capsys, "average", checkpoint, checkpoint, *args, "--output", tmp_path / "x.pt")
    assert code == 2 and message in err
    assert not (tmp_path / "x.pt").exists()


def test_average_refuses_different_configs(capsys, tmp_path, checkpoint):
    other = tmp_path / "other.pt"
    masklet.save_model(seeded_model(micro_config(64)), other)
    code, _, err = run(capsys, "average", checkpoint, other, "--output", tmp_path / "x.pt")
    assert code == 2 and "only checkpoints of one model config can be averaged" in err
    assert not (tmp_path / "x.pt").exists()


# ---------------------------------------------------------------------- errors


@pytest.fixture
def bad_inputs(tmp_path):
    not_an_image = tmp_path / "inputs" / "broken.jpg"
    not_an_image.parent.mkdir()
    not_an_image.write_text("not a JPEG")
    (tmp_path / "inputs" / "empty").mkdir()
    return tmp_path / "inputs"


def error_cases(data, inputs, checkpoint, out):
    groceries, bedroom = data / "images" / "groceries.jpg", data / "videos" / "bedroom"
    model = ["--model", checkpoint]
    return {
        "unreadable image": ["segment", inputs / "broken.jpg", "--point", "1,1", "--output", out / "m.png", *model],
        "missing image": ["segment", inputs / "absent.jpg", "--point", "1,1", "--output", out / "m.png", *model],
        "point outside": ["segment", groceries, "--point", "801,10", "--output", out / "m.png", *model],
        "box outside": ["segment", groceries, "--box", "0,0,100,600", "--output", out / "m.png", *model],
        "bad point": ["segment", groceries, "--point", "1;2", "--output", out / "m.png", *model],
        "bad label": ["segment", groceries, "--point", "1,2:3", "--output", out / "m.png", *model],
        "no prompt": ["segment", groceries, "--output", out / "m.png", *model],
        "unknown format": ["auto", groceries, "--format", "tiff", "--output", out / "a.json", *model],
        "unwritable output": ["segment", groceries, "--point", "1,1", "--output", inputs / "broken.jpg" / "m.png",
                              *model],
        "no embedded model": ["segment", groceries, "--point", "1,1", "--output", out / "m.png"],
        "missing model file": ["segment", groceries, "--point", "1,1", "--output", out / "m.png",
                               "--model", inputs / "absent.pt"],
        "bad dtype": ["segment", groceries, "--point", "1,1", "--output", out / "m.png", "--dtype", "int4", *model],
        "bad device": ["segment", groceries, "--point", "1,1", "--output", out / "m.png", "--device", "tpu", *model],
        "float16 on cpu": ["auto", groceries, "--output", out / "a.json", "--dtype", "float16", *model],
        "empty folder": ["auto", inputs / "empty", "--output", out / "a.json", *model],
        "unreadable video": ["track", inputs / "broken.jpg", "--point", "1,1", "--output", out / "v", *model],
        "missing video": ["track", inputs / "absent.mp4", "--point", "1,1", "--output", out / "v", *model],
        "track point outside": ["track", bedroom, "--point", "10,541", "--output", out / "v", *model],
        "prompt past max frames": ["track", bedroom, "--max-frames", "2", "--frame", "2", "--point", "1,1",
                                   "--output", out / "v", *model],
        "track unknown format": ["track", bedroom, "--point", "1,1", "--format", "avi", "--output", out / "v", *model],
        "track no prompts": ["track", bedroom, "--output", out / "v", *model],
        "track missing mask": ["track", bedroom, "--mask", inputs / "absent.png", "--output", out / "v", *model],
        "track mask and point": ["track", bedroom, "--mask", inputs / "broken.jpg", "--point", "1,1",
                                 "--output", out / "v", *model],
        "missing prompt file": ["track", bedroom, "--prompts", inputs / "absent.json", "--output", out / "v", *model],
        "bad prompt file": ["track", bedroom, "--prompts", inputs / "broken.jpg", "--output", out / "v", *model],
        "davis id too big": ["track", bedroom, "--obj", "300", "--point", "1,1", "--output", out / "v", *model],
        "track output parent is a file": ["track", bedroom, "--point", "1,1", "--max-frames", "1",
                                          "--output", inputs / "broken.jpg" / "v", *model],
        "coco output is a folder": ["auto", groceries, "--output", inputs / "empty", *model],
        "folder output is a file": ["track", bedroom, "--point", "1,1", "--output", inputs / "broken.jpg", *model],
        "dangling --obj": ["track", bedroom, "--point", "1,1", "--obj", "2", "--output", out / "v", *model],
        "info not a checkpoint": ["info", inputs / "broken.jpg"],
        "convert missing input": ["convert", inputs / "absent.pt", out / "c.pt"],
    }


ERROR_CASES = list(error_cases(Path(), Path(), Path(), Path()))


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_are_one_line_exit_2_and_write_nothing(capsys, tmp_path, data, bad_inputs, checkpoint, case, monkeypatch):
    if case == "no embedded model":  # an installation without the bundled weights
        monkeypatch.setattr("masklet.cli.common.embedded_model_path", lambda: None)
    out = tmp_path / "out"
    argv = error_cases(data, bad_inputs, checkpoint, out)[case]
    inputs_before = files_under(bad_inputs)
    code, stdout, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("masklet: error:") and err.count("\n") == 1, err
    assert not out.exists() or files_under(out) == []
    assert files_under(bad_inputs) == inputs_before


def test_embedded_model_is_the_default(capsys, tmp_path, data, checkpoint, monkeypatch):
    monkeypatch.setattr("masklet.cli.common.embedded_model_path", lambda: checkpoint)
    code, _, err = run(capsys, "segment", data / "images" / "groceries.jpg", "--point", "400,300",
                       "--output", tmp_path / "m.png")
    assert code == 0, err
    assert png_size(tmp_path / "m.png") == GROCERIES_SIZE


def test_cuda_requested_without_a_gpu(capsys, tmp_path, data, checkpoint):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    code, _, err = run(capsys, "segment", data / "images" / "groceries.jpg", "--point", "1,1",
                       "--output", tmp_path / "m.png", "--model", checkpoint, "--device", "cuda")
    assert code == 2 and "no CUDA GPU" in err and err.count("\n") == 1
    assert files_under(tmp_path) == []


def test_failed_track_leaves_no_partial_output(capsys, tmp_path, data, checkpoint, monkeypatch):
    """An error while writing the frames removes what was written so far."""
    import masklet.io

    written = []

    def failing_write(path, label_map):
        if written:
            raise masklet.io.OutputNotWritableError("disk full")
        written.append(path)
        return original(path, label_map)

    original = masklet.io.write_davis_png
    monkeypatch.setattr(masklet.io, "write_davis_png", failing_write)
    output = tmp_path / "davis"
    code, _, err = run(capsys, "track", data / "videos" / "bedroom", "--point", "480,270", "--max-frames", 3,
                       "--output", output, "--model", checkpoint, "--no-progress")
    assert code == 2 and "disk full" in err and written
    assert files_under(tmp_path) == [] and not output.exists()


def test_existing_output_folder_keeps_other_files(capsys, tmp_path, data, checkpoint):
    output = tmp_path / "davis"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "track", data / "videos" / "bedroom", "--point", "480,270", "--max-frames", 2,
                       "--output", output, "--model", checkpoint, "--no-progress")
    assert code == 0, err
    assert sorted(p.name for p in output.iterdir()) == ["00000.png", "00001.png", "notes.txt"]
    assert [p.parent for p in tmp_path.iterdir()] == [tmp_path] and len(list(tmp_path.iterdir())) == 1


def test_staged_folder_is_deleted_when_the_block_fails(tmp_path):
    from masklet.cli.common import staged_folder

    with pytest.raises(RuntimeError), staged_folder(tmp_path / "dest") as folder:
        (folder / "a.png").write_bytes(b"x")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_as_a_process_errors_exit_2_with_one_line(tmp_path):
    import subprocess
    import sys

    src = Path(masklet.__file__).parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "masklet.cli", "track", str(tmp_path / "absent.mp4"), "--point", "1,1",
         "--output", str(tmp_path / "out")],
        capture_output=True, text=True, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("masklet: error: cannot read video:") and done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
