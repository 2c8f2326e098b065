"""`masklet export --format onnx MODEL OUT/`: the network as ONNX graphs for ONNX Runtime;
`--format anylabeling` / `x-anylabeling`: an encoder / decoder pair with config.yaml for
those labelling tools' SAM 2 loaders. `masklet quantize OUT/ --calibration VIDEO`: the image
encoder of such a folder in int8 for the OpenVINO backend."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from masklet.cli.errors import CliError

EXPORT_FORMATS = ("onnx", "anylabeling", "x-anylabeling")


def register(subparsers) -> None:
    export = subparsers.add_parser(
        "export", help="export a model to ONNX (the whole video pipeline, or a SAM 2 model for AnyLabeling)",
        description="Export a model as seven ONNX graphs in OUT/: image_encoder, prompt_decoder (prompt encoder "
        "+ mask decoder: points, boxes as two corner points, mask input, single and multimask outputs), "
        "mask_prompt, memory_encoder, memory_attention (any number of memory frames and object pointers; "
        "RoPE as real cos/sin) and pointer_position, with embeddings.npz and manifest.json (inputs, outputs, "
        "shapes with named dynamic axes, the model config). Each graph is checked against torch with "
        "onnxruntime on example inputs. Run the folder with `--model OUT/ --backend onnx` or "
        "masklet.load_model('OUT/', backend='onnx'). --format anylabeling (or x-anylabeling) writes "
        "image_encoder.onnx, prompt_decoder.onnx and config.yaml in the layout of that tool's SAM 2 loader: load "
        "OUT/config.yaml there as a custom model. Needs `pip install 'masklet[onnx]'`.",
        epilog="examples: masklet export --format onnx sam2.1-hiera-tiny tiny-onnx/ ; "
        "masklet export --format anylabeling sam2.1-hiera-tiny tiny-anylabeling/",
    )
    export.add_argument("model", metavar="MODEL", help="official name, bundled masklet-nano, Meta .pt or HF file/folder")
    export.add_argument("dest", metavar="OUT", help="output folder (new or empty)")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True,
                        help="onnx: the graphs for --backend onnx; anylabeling / x-anylabeling: a SAM 2 custom "
                             "model (encoder, decoder, config.yaml) for that tool")
    export.add_argument("--opset", type=int, default=None, help="ONNX opset, 17..20 (default: 17)")
    export.add_argument("--weights", choices=("float32", "float16", "int8"), default="float32",
                        help="type the weights are stored in; float16 halves the files, arithmetic stays float32; "
                             "int8 quantizes the linear layers' weights (files ~3x smaller, masks close to but "
                             "not equal to float32's) (default: float32)")
    export.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check of each graph")
    export.set_defaults(func=run_export)
    register_quantize(subparsers)


def run_export(args: argparse.Namespace) -> int:
    from masklet.checkpoint import CheckpointError, DownloadError, load_model
    from masklet.cli.common import staged_folder

    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401

        from masklet.export import DEFAULT_OPSET, ExportError, export_anylabeling, export_onnx
    except ImportError as e:
        raise CliError(f"ONNX export needs the onnx and onnxruntime packages ({e}); pip install 'masklet[onnx]'") from None
    dest = Path(args.dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CliError(f"{dest} exists and is not an empty folder; give a new or empty folder")
    try:
        model = load_model(args.model, progress=True)
    except (CheckpointError, DownloadError) as e:
        raise CliError(str(e).splitlines()[0]) from None
    opset = DEFAULT_OPSET if args.opset is None else args.opset
    options = {"opset": opset, "weights": args.weights, "verify": not args.no_verify}
    try:
        with staged_folder(dest) as staging:
            if args.format == "onnx":
                written = export_onnx(model, staging / "graphs", **options)
            else:
                written = export_anylabeling(model, staging / "graphs", tool=args.format, **options)
            for path in written.parent.iterdir():
                path.rename(staging / path.name)
            written.parent.rmdir()
    except ExportError as e:
        raise CliError(str(e)) from None
    if args.format == "onnx":
        graphs = json.loads((dest / written.name).read_text())["graphs"]
        for graph in graphs.values():
            print_graph(dest / graph["file"], graph.get("max_abs_diff_on_examples"))
    else:
        import yaml

        config = yaml.safe_load((dest / written.name).read_text())
        diffs = config["masklet"].get("max_abs_diff_on_examples", {})
        for file in (config["encoder_model_path"], config["decoder_model_path"]):
            print_graph(dest / file, diffs.get(Path(file).stem))
        print(f"load {dest / written.name} in {args.format} as a custom model")
    print(f"wrote {dest}/ ({model.config.name}, opset {opset}, {args.weights} weights)")
    return 0


def print_graph(path: Path, max_diff: float | None) -> None:
    check = "" if max_diff is None else f", max |onnxruntime - torch| {max_diff:.1e}"
    print(f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB{check}")


def register_quantize(subparsers) -> None:
    quantize = subparsers.add_parser(
        "quantize", help="quantize an export folder's image encoder to int8 for the OpenVINO backend (NNCF)",
        description="Quantize the image encoder of a folder written by `masklet export --format onnx` to int8 "
        "with NNCF's post-training quantization, calibrated on frames spread evenly over a video (a file or a "
        "folder of frames). The int8 graph is written into the folder beside the float32 one (an OpenVINO IR, "
        "image_encoder.int8.xml/.bin) and named in its manifest.json; the float32 graphs stay, so the folder "
        "still runs with --backend onnx and --backend openvino in float32 or bfloat16. Run the int8 graph with "
        "--backend openvino --dtype int8 or masklet.load_model(FOLDER, backend='openvino', dtype='int8'). Needs "
        "`pip install 'masklet[openvino-int8]'`.",
        epilog="example: masklet export --format onnx sam2.1-hiera-tiny tiny/ && "
        "masklet quantize tiny/ --calibration clip.mp4 && masklet track clip.mp4 --model tiny/ --backend openvino "
        "--dtype int8 ...",
    )
    quantize.add_argument("folder", metavar="FOLDER", help="a folder written by `masklet export --format onnx`")
    quantize.add_argument("--calibration", metavar="VIDEO", required=True,
                          help="video file or folder of frames like those the model will see")
    quantize.add_argument("--frames", type=int, help="calibration frames, spread evenly over the video (default: 16)")
    quantize.set_defaults(func=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    from masklet.errors import MaskletError
    from masklet.export.openvino_int8 import quantize_export

    if args.frames is not None and args.frames < 1:
        raise CliError(f"--frames must be at least 1, got {args.frames}")
    try:
        ir = quantize_export(args.folder, args.calibration, **({} if args.frames is None else {"frames": args.frames}))
    except ImportError as e:
        raise CliError(str(e)) from None
    except MaskletError as e:
        raise CliError(str(e).splitlines()[0]) from None
    print(f"{ir.name}: {ir.with_suffix('.bin').stat().st_size / 2**20:.1f} MiB of int8 weights")
    print(f"wrote {ir}; run it with --model {args.folder} --backend openvino --dtype int8")
    return 0
