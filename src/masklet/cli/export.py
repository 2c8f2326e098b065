"""`masklet export --format onnx MODEL OUT/`: the network as ONNX graphs for ONNX Runtime."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from masklet.cli.errors import CliError

EXPORT_FORMATS = ("onnx",)


def register(subparsers) -> None:
    export = subparsers.add_parser(
        "export", help="export a model to ONNX (the whole video pipeline)",
        description="Export a model as six ONNX graphs in OUT/: image_encoder, prompt_decoder (prompt encoder "
        "+ mask decoder: points, boxes as two corner points, mask input, single and multimask outputs), "
        "mask_prompt, memory_encoder, memory_attention (any number of memory frames and object pointers; "
        "RoPE as real cos/sin) and pointer_position, with embeddings.npz and manifest.json (inputs, outputs, "
        "shapes with named dynamic axes, the model config). Each graph is checked against torch with "
        "onnxruntime on example inputs. Run the folder with `--model OUT/ --backend onnx` or "
        "masklet.load_model('OUT/', backend='onnx'). Needs `pip install 'masklet[onnx]'`.",
        epilog="example: masklet export --format onnx sam2.1-hiera-tiny tiny-onnx/",
    )
    export.add_argument("model", metavar="MODEL", help="official name, bundled masklet-nano, Meta .pt or HF file/folder")
    export.add_argument("dest", metavar="OUT", help="output folder (new or empty)")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="export format")
    export.add_argument("--opset", type=int, default=None, help="ONNX opset, 17..20 (default: 17)")
    export.add_argument("--weights", choices=("float32", "float16", "int8"), default="float32",
                        help="type the weights are stored in; float16 halves the files, arithmetic stays float32; "
                             "int8 quantizes the linear layers' weights (files ~3x smaller, masks close to but "
                             "not equal to float32's) (default: float32)")
    export.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check of each graph")
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from masklet.checkpoint import CheckpointError, DownloadError, load_model
    from masklet.cli.common import staged_folder

    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401

        from masklet.export import DEFAULT_OPSET, ExportError, export_onnx
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
    try:
        with staged_folder(dest) as staging:
            manifest = export_onnx(model, staging / "graphs", opset=opset, weights=args.weights, verify=not args.no_verify)
            for path in manifest.parent.iterdir():
                path.rename(staging / path.name)
            manifest.parent.rmdir()
    except ExportError as e:
        raise CliError(str(e)) from None
    summary = json.loads((dest / "manifest.json").read_text())
    for graph in summary["graphs"].values():
        size = (dest / graph["file"]).stat().st_size / 2**20
        diff = graph.get("max_abs_diff_on_examples")
        check = "" if diff is None else f", max |onnxruntime - torch| {diff:.1e}"
        print(f"{graph['file']}: {size:.1f} MiB{check}")
    print(f"wrote {dest}/ ({summary['model']['name']}, opset {opset}, {args.weights} weights)")
    return 0
