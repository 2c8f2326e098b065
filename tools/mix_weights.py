"""Make one checkpoint from two of the same config: parameter by parameter, either interpolated
(a "weight soup", as in WiSE-FT) or, for the parts named by --keep, taken whole from START.

    .venv/bin/python tools/mix_weights.py START.pt TUNED.pt --output OUT.pt [--alpha A] [--keep PREFIX ...]

OUT = (1 - A) * START + A * TUNED for every parameter (A defaults to 1: TUNED as it is), except
those whose names start with a --keep prefix, which are START's. Written in float32 in Meta's
`.pt` format. masklet-nano's stage 9 starts from stage 8's weights with stage 4's memory parts
(see configs/train/masklet-nano-stage9.yaml).
"""

from __future__ import annotations

import argparse

import torch

import masklet


def mix(start: dict, tuned: dict, alpha: float, keep: tuple[str, ...]) -> dict:
    """{name: START's tensor if name starts with a prefix in `keep`, else (1 - alpha) * start +
    alpha * tuned}; both state dicts must have the same keys and shapes."""
    if start.keys() != tuned.keys():
        raise SystemExit(f"the checkpoints differ in parameters: {sorted(start.keys() ^ tuned.keys())[:5]}")
    mixed = {}
    for name, a in start.items():
        b = tuned[name]
        if a.shape != b.shape:
            raise SystemExit(f"{name}: shape {tuple(a.shape)} in START but {tuple(b.shape)} in TUNED")
        if name.startswith(keep):
            mixed[name] = a
        else:
            mixed[name] = torch.lerp(a.float(), b.float(), alpha) if a.is_floating_point() else b
    return mixed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("start", help="the checkpoint fine-tuning started from")
    parser.add_argument("tuned", help="the fine-tuned checkpoint (same config)")
    parser.add_argument("--output", required=True, help="where to write the mixed checkpoint")
    parser.add_argument("--alpha", type=float, default=1.0, help="weight of TUNED, in [0, 1] (default: 1)")
    parser.add_argument("--keep", nargs="+", default=[], metavar="PREFIX",
                        help="parameter-name prefixes taken whole from START, e.g. memory_encoder")
    args = parser.parse_args(argv)
    if not 0.0 <= args.alpha <= 1.0:
        parser.error(f"--alpha must lie in [0, 1], got {args.alpha}")
    start = masklet.load_model(args.start, dtype=torch.float32, progress=False)
    tuned = masklet.load_model(args.tuned, dtype=torch.float32, progress=False)
    if start.config != tuned.config:
        raise SystemExit(f"the checkpoints have different configs: {start.config.name} and {tuned.config.name}")
    state = mix(start.state_dict(), tuned.state_dict(), args.alpha, tuple(args.keep))
    unmatched = [p for p in args.keep if not any(name.startswith(p) for name in state)]
    if unmatched:
        raise SystemExit(f"--keep prefixes that name no parameter: {unmatched}")
    tuned.load_state_dict(state)
    print(f"wrote {masklet.save_model(tuned, args.output)}")


if __name__ == "__main__":
    main()
