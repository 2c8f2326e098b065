"""Building torch models from checkpoints: official names, Meta `.pt` files and HF safetensors."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import torch

from masklet.checkpoint import download
from masklet.checkpoint.compute import ComputeSetting, CpuFeatures, choose_setting, cpu_has_native
from masklet.checkpoint.formats import (
    CheckpointError,
    detect_config,
    read_checkpoint,
    write_hf,
    write_meta,
)
from masklet.checkpoint.registry import (
    BUNDLED_MODELS,
    OFFICIAL_CHECKPOINTS,
    bundled_path,
    has_weights,
)
from masklet.config import SAM2Config, get_config, registered_name
from masklet.errors import OptionError
from masklet.model.int8 import has_int8_layers, quantize_image_encoder
from masklet.model.sam2 import SAM2Model

_SHOWN_KEYS = 8


def build_model(config: SAM2Config | str, device="cpu", dtype=torch.float32) -> SAM2Model:
    """A randomly initialised model of `config` (a SAM2Config or a registered name), in eval
    mode, on `device` in `dtype` (as `load_model` takes them)."""
    if isinstance(config, str):
        config = get_config(config)
    return in_setting(SAM2Model(config), compute_setting(device, dtype))


def in_setting(model: SAM2Model, setting: ComputeSetting) -> SAM2Model:
    """`model` in eval mode on the setting's device, cast to its dtype, its image encoder
    quantized for "int8" (in place: a float32 model on the CPU becomes the int8 one)."""
    model = model.to(device=setting.device, dtype=setting.weights_dtype).eval()
    if setting.dtype == "int8":
        quantize_image_encoder(model)
    return model


def resolve_checkpoint(name_or_path: str | Path, progress: bool = True) -> Path:
    """The local weights file of a model name or a path.

    A string that `masklet.get_config` accepts (an official name such as `sam2.1-hiera-tiny`,
    the bundled `masklet-nano`, or an alias such as `tiny`, `2.0-large`) is a name: official
    checkpoints are downloaded into the cache on first use, bundled ones ship with the
    package. Anything else, and every `pathlib.Path`, is a path. A string that is both a
    registered name and an existing file or folder is refused as ambiguous: write the path
    with its folder (`./tiny`) to mean the file.
    """
    if isinstance(name_or_path, str):
        name = registered_name(name_or_path)
        if name is not None:
            if Path(name_or_path).expanduser().exists():
                raise CheckpointError(
                    f"{name_or_path!r} is both a model name ({name}) and a file or folder here; "
                    f"write ./{name_or_path} for the file, or {name} for the model"
                )
            return _registered_weights(name, progress)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    raise CheckpointError(
        f"{name_or_path}: neither an existing file nor a known model name "
        f"(known: {', '.join(sorted([*BUNDLED_MODELS, *OFFICIAL_CHECKPOINTS]))}; "
        "or a short alias such as tiny, 2.0-large)"
    )


def _registered_weights(name: str, progress: bool) -> Path:
    """The weights file of registered config `name`: its official checkpoint or bundled file."""
    if not has_weights(name):
        raise CheckpointError(
            f"{name!r} is a model config without weights: load a checkpoint file, an official model "
            f"({', '.join(OFFICIAL_CHECKPOINTS)}) or a bundled one ({', '.join(BUNDLED_MODELS)}); "
            f"build_model({name!r}) makes a randomly initialised model of this config"
        )
    if name in OFFICIAL_CHECKPOINTS:
        return download(name, progress=progress)
    bundled = bundled_path(name)
    if bundled is None:
        raise CheckpointError(
            f"{name}: its weights (masklet/weights/{name}.pt) are missing from this installation of masklet "
            f"(not shipped with this version, or removed); load a checkpoint file of it, such as a `masklet train` "
            f"run's model.pt, or build_model({name!r}) for random weights"
        )
    return bundled


def load_torch_model(
    name_or_path: str | Path, config: SAM2Config | str | None = None, device="cpu", dtype=torch.float32,
    progress: bool = True, image_size: int | None = None,
) -> SAM2Model:
    """`masklet.load_model` for the torch backend (see there)."""
    setting = compute_setting(device, dtype)
    path = resolve_checkpoint(name_or_path, progress=progress)
    ckpt = read_checkpoint(path)
    if isinstance(config, str):
        config = get_config(config)
    if config is None:
        config = ckpt.config
    if config is None:
        try:
            config = detect_config(ckpt.state_dict)
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from None
    if image_size is not None:
        config = replace(config, image_size=image_size)
    model = SAM2Model(config)
    _load_strict(model, ckpt.state_dict, path)
    del ckpt  # the file's tensors are freed before casting or quantizing allocates new ones (lower peak memory)
    _warn_if_emulated(setting)
    return in_setting(model, setting)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# What `load_model(dtype=...)` takes by name: a dtype of DTYPES, "int8" (an int8 image encoder,
# see masklet.model.int8) or "auto" (the fastest of them on the device, see checkpoint.compute).
PRECISIONS = ("auto", *DTYPES, "int8")


def compute_setting(device="cpu", dtype="auto", cpu: CpuFeatures | None = None) -> ComputeSetting:
    """The setting a model is loaded in: `dtype` "auto" (the rule of `choose_setting`), "int8",
    or a dtype that `torch_options` accepts, on `device`. An OptionError says what this machine
    cannot run and what to use instead."""
    if dtype not in ("auto", "int8"):
        device, torch_dtype = torch_options(device, dtype)
        return ComputeSetting(str(device), str(torch_dtype).removeprefix("torch."), "asked for")
    device, _ = torch_options(device, torch.float32)  # the device's checks
    if dtype == "auto":
        return choose_setting(device, cpu)
    cpu = CpuFeatures.detect() if cpu is None else cpu
    if device.type != "cpu":
        raise OptionError(f"dtype int8 runs on the cpu only, not {device}; use dtype bfloat16 or auto there")
    if not cpu.int8_kernels:
        raise OptionError("dtype int8 needs torch's x86 int8 kernels (an AVX2 CPU and torch's fbgemm engine), "
                          "which this machine lacks; use dtype float32 or auto")
    return ComputeSetting(str(device), "int8", "asked for")


def torch_options(device, dtype) -> tuple[torch.device, torch.dtype]:
    """`device` and `dtype` (names or torch objects) checked against this machine: an
    OptionError says what is missing (no CUDA GPU, no MPS, float16 on the CPU) and what to use."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise OptionError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if isinstance(dtype, str):
        dtype = DTYPES.get(dtype.removeprefix("torch."), dtype)
    if dtype not in DTYPES.values():
        raise OptionError(f"dtype {dtype!r} is not supported; use one of {', '.join(PRECISIONS)}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OptionError("device cuda was asked for but PyTorch sees no CUDA GPU here; use device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise OptionError(f"device {device} was asked for but there are {torch.cuda.device_count()} CUDA GPUs here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise OptionError("device mps was asked for but the Apple MPS backend is not available here; use device cpu")
    if device.type == "cpu" and dtype == torch.float16:
        raise OptionError("dtype float16 needs device cuda or mps; on cpu use float32 or bfloat16")
    if device.type not in ("cpu", "cuda", "mps"):
        raise OptionError(f"device {device} is not supported; use cpu, cuda or mps")
    return device, dtype


def _warn_if_emulated(setting: ComputeSetting) -> None:
    if torch.device(setting.device).type == "cpu" and not cpu_has_native(setting.weights_dtype):
        warnings.warn(
            f"this CPU has no native {setting.dtype} arithmetic (AVX512-BF16 / AMX), so the model runs several "
            "times slower than in float32 here; load it with dtype 'auto' or float32 (the default) for speed",
            stacklevel=4,
        )


def _load_strict(model: SAM2Model, state_dict: dict, path: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mis_shaped = [
        f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    mis_typed = [f"{k}: {state_dict[k].dtype}" for k, v in expected.items()
                 if k in state_dict and v.is_floating_point() and not state_dict[k].is_floating_point()]
    if not (missing or unexpected or mis_shaped or mis_typed):
        not_finite = [k for k, v in state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if not_finite:
            raise CheckpointError(f"{path}: {len(not_finite)} tensors hold NaN or infinite values ({', '.join(not_finite[:_SHOWN_KEYS])});"
                                  " the file is corrupt or from a diverged training run")
    if missing or unexpected or mis_shaped or mis_typed:
        try:
            hint = f"; the weights look like {detect_config(state_dict).name}"
        except CheckpointError:
            hint = ""
        parts = [f"{path}: does not fit config {model.config.name!r}{hint}"]
        for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", mis_shaped),
                             ("not floating-point", mis_typed)):
            if items:
                more = f" ... (+{len(items) - _SHOWN_KEYS} more)" if len(items) > _SHOWN_KEYS else ""
                parts.append(f"{label} ({len(items)}): {', '.join(items[:_SHOWN_KEYS])}{more}")
        raise CheckpointError("\n  ".join(parts))
    model.load_state_dict(state_dict, strict=True)


def average_models(
    sources: list[str | Path],
    weights: list[float] | None = None,
    keep_from_first: tuple[str, ...] = (),
    progress: bool = True,
) -> SAM2Model:
    """One model whose weights are the weighted mean of the `sources`' weights.

    Checkpoint averaging (equal `weights`, the default), e.g. of the checkpoints a training run
    wrote over its last steps: a smoother model than any one of them. A "weight soup" (WiSE-FT)
    of a fine-tuned model and the one it started from: unequal `weights`. Parameters whose names
    start with a prefix in `keep_from_first` are copied from the first source instead, e.g. to
    graft a start model's memory parts onto a fine-tuned decoder. All sources must have the
    same config; the mean is taken in float64 and stored as float32."""
    if not sources:
        raise ValueError("average_models needs at least one checkpoint")
    weights = [1.0 / len(sources)] * len(sources) if weights is None else [float(w) for w in weights]
    if len(weights) != len(sources) or min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"weights must be one non-negative number per checkpoint, summing to 1; got {weights}")
    first = load_torch_model(sources[0], progress=progress)
    kept = {k: v for k, v in first.state_dict().items() if k.startswith(tuple(keep_from_first))}
    unmatched = [p for p in keep_from_first if not any(k.startswith(p) for k in kept)]
    if unmatched:
        parts = sorted({k.split(".")[0] for k in first.state_dict()})
        raise ValueError(f"no parameter name starts with {unmatched}; the model's parts are {', '.join(parts)}")
    total = {k: v.double() * weights[0] for k, v in first.state_dict().items()}
    for source, weight in zip(sources[1:], weights[1:]):
        model = load_torch_model(source, progress=progress)
        if model.config != first.config:
            raise CheckpointError(
                f"{source}: config {model.config.name!r} differs from {sources[0]}'s {first.config.name!r}; "
                "only checkpoints of one model config can be averaged"
            )
        for k, v in model.state_dict().items():
            total[k] += v.double() * weight
    first.load_state_dict({**{k: v.float() for k, v in total.items()}, **kept})
    return first


def save_model(model: SAM2Model, path: str | Path, format: str = "meta") -> Path:
    """Save weights as a Meta `.pt` (`format="meta"`) or an HF folder (`format="hf"`)."""
    if has_int8_layers(model):
        raise CheckpointError("a model loaded with dtype int8 cannot be saved (its int8 layers are packed for this "
                              "CPU's kernels); save the model loaded in float32")
    state_dict = model.state_dict()
    if format == "meta":
        return write_meta(path, state_dict, model.config)
    if format == "hf":
        return write_hf(path, state_dict, model.config)
    raise ValueError(f"unknown checkpoint format {format!r}; use 'meta' or 'hf'")
