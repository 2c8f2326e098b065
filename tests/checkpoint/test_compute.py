"""`dtype="auto"` and `dtype="int8"`: the rule per machine (CPUs given by hand for the kinds
this one is not), what load_model builds for each, `masklet info --system` and the CLI's
default. Their accuracy against float32 is guarded in tests/predict/test_fast_dtype.py."""

from __future__ import annotations

import argparse
import weakref

import pytest
import torch
from conftest import micro_config, run_cli

import masklet
from masklet.checkpoint.compute import CpuFeatures, choose_setting, read_cpu_flags, system_report
from masklet.checkpoint.loading import compute_setting
from masklet.errors import CheckpointError, OptionError

AMX = CpuFeatures("AVX512", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni"}), True,
                  ("x86", "fbgemm"))
AVX2_VNNI = CpuFeatures("AVX2", frozenset({"avx2", "avx_vnni"}), False, ("x86", "fbgemm"))
AVX2_ONLY = CpuFeatures("AVX2", frozenset({"avx2"}), False, ("x86", "fbgemm"))
NO_AVX2 = CpuFeatures("DEFAULT", frozenset(), False, ("x86", "fbgemm"))
NO_INT8_ENGINE = CpuFeatures("AVX2", frozenset({"avx2"}), False, ())  # a torch built without fbgemm


@pytest.mark.parametrize("cpu, dtype, words", [
    (AMX, "bfloat16", "AMX_BF16, AVX512_BF16"),
    (AVX2_VNNI, "int8", "AVX_VNNI"),
    (AVX2_ONLY, "int8", "AVX2"),
    (NO_AVX2, "float32", "neither"),
    (NO_INT8_ENGINE, "float32", "neither"),
])
def test_auto_picks_per_cpu(cpu, dtype, words):
    setting = choose_setting("cpu", cpu)
    assert (setting.device, setting.dtype) == ("cpu", dtype) and words in setting.reason
    assert compute_setting("cpu", "auto", cpu) == setting


def test_int8_instructions_follow_fbgemms_limit(monkeypatch):
    monkeypatch.delenv("FBGEMM_ENABLE_INSTRUCTIONS", raising=False)
    assert AMX.int8_instructions() == "AVX512_VNNI"
    monkeypatch.setenv("FBGEMM_ENABLE_INSTRUCTIONS", "AVX2")  # benchmarks/speed_avx2.sh
    assert AMX.int8_instructions() == "AVX2 (FBGEMM_ENABLE_INSTRUCTIONS)"


def test_auto_on_this_machine_is_what_it_detects():
    cpu = CpuFeatures.detect()
    assert cpu.capability == torch.backends.cpu.get_cpu_capability()
    expected = "bfloat16" if cpu.native_bfloat16 else "int8" if cpu.int8_kernels else "float32"
    model = masklet.load_model("masklet-nano", dtype="auto")
    assert model.precision == expected == choose_setting("cpu").dtype


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 avx512_bf16\n\nflags\t: fpu\n")
    assert read_cpu_flags(cpuinfo) == {"avx2", "avx512f", "amx_bf16", "avx512_bf16"}
    assert read_cpu_flags(tmp_path / "missing") == frozenset()


def test_explicit_dtypes_are_taken_as_asked():
    assert compute_setting("cpu", "int8", AVX2_ONLY).dtype == "int8"
    assert compute_setting("cpu", torch.bfloat16).dtype == "bfloat16"
    assert compute_setting("cpu", "float32").weights_dtype == torch.float32
    assert compute_setting("cpu", "int8", AVX2_ONLY).weights_dtype == torch.float32


def test_int8_without_the_kernels_is_an_option_error():
    with pytest.raises(OptionError, match="int8 needs torch's x86 int8 kernels.*use dtype float32 or auto"):
        compute_setting("cpu", "int8", NO_AVX2)


@pytest.mark.skipif(not CpuFeatures.detect().int8_kernels, reason="this CPU has no x86 int8 kernels")
def test_int8_quantizes_the_image_encoder_only(tmp_path):
    model = masklet.build_model(micro_config(64), dtype="int8")
    int8 = torch.ao.nn.quantized.dynamic.Linear
    trunk_layers = list(model.image_encoder.trunk.modules())
    assert model.precision == "int8" and model.dtype == torch.float32
    assert any(isinstance(m, int8) for m in trunk_layers)
    assert not any(isinstance(m, torch.nn.Linear) for m in trunk_layers)
    assert isinstance(model.memory_attention.layers[0].linear1, torch.nn.Linear)  # int8 gains nothing there
    with pytest.raises(CheckpointError, match="cannot be saved.*float32"):
        masklet.save_model(model, tmp_path / "int8.pt")


@pytest.mark.skipif(not CpuFeatures.detect().int8_kernels, reason="this CPU has no x86 int8 kernels")
def test_int8_frees_the_float32_layers_it_replaces():
    """The int8 model holds less memory than the float32 one: the replaced weights are gone
    when quantization returns (they sit in reference cycles a later gc pass would free)."""
    from masklet.model.int8 import quantize_image_encoder

    model = masklet.build_model(micro_config(64))
    replaced = weakref.ref(model.image_encoder.trunk.blocks[0].attn.qkv.weight)
    quantize_image_encoder(model)
    assert replaced() is None


def test_system_report_names_the_cpu_and_the_choice(capsys):
    lines = system_report(AVX2_VNNI)
    assert any(line.startswith("cpu capability  AVX2") for line in lines)
    assert any("avx2 avx_vnni" in line for line in lines)
    assert any(line.startswith("auto on cpu     int8") for line in lines)
    code, out, _ = run_cli(capsys, "info", "--system")
    assert code == 0 and f"torch           {torch.__version__}" in out
    assert f"auto on cpu     {choose_setting('cpu').dtype}" in out


def test_info_needs_a_checkpoint_or_system(capsys):
    code, _, err = run_cli(capsys, "info")
    assert code == 2 and "--system" in err


@pytest.mark.parametrize("model, device, dtype, expected", [
    ("sam2.1-hiera-tiny", "cpu", None, "auto"),
    ("tiny", "cpu", None, "auto"),
    ("sam2.1-hiera-tiny", "cuda", None, "float32"),
    ("masklet-nano", "cpu", None, "float32"),
    (None, "cpu", None, "float32"),  # the embedded masklet-nano
    ("some/checkpoint.pt", "cpu", None, "float32"),
    ("sam2.1-hiera-tiny", "cpu", "float32", "float32"),
])
def test_cli_dtype_defaults_to_auto_for_official_names_on_the_cpu(model, device, dtype, expected):
    from masklet.cli.common import model_dtype

    assert model_dtype(argparse.Namespace(model=model, device=device, dtype=dtype)) == expected
