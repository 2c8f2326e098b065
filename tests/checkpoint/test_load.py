"""Checkpoint files: round trips, config detection and every way a file can be wrong."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pytest
import torch
from cases import FIXTURES
from conftest import seeded_model
from weights import seeded_state_dict

import masklet
from masklet.checkpoint import CheckpointError


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    """A seeded sam2.1 tiny model written the way Meta's training code writes checkpoints."""
    model = seeded_model("sam2.1-hiera-tiny")
    path = tmp_path_factory.mktemp("ckpt") / "sam2.1_hiera_tiny.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_reference_written_checkpoint_content_and_outputs(tiny_file, truck_image):
    """The reference's own torch.save of these weights hashes to the committed manifest; the
    same file loads in Masklet, config detected, and predicts what the reference predicted."""
    manifest = json.loads((FIXTURES.parent / "reference_checkpoint_sam2.1-hiera-tiny.json").read_text())
    state = torch.load(tiny_file, weights_only=True)["model"]
    assert list(state) == manifest["keys"], "key order differs from the reference's state-dict"
    for key, digest in manifest["sha256"].items():
        assert hashlib.sha256(state[key].numpy().tobytes()).hexdigest() == digest, key
    model = masklet.load_model(tiny_file)
    assert model.config.name == "sam2.1-hiera-tiny"
    predictor = masklet.ImagePredictor(model)
    predictor.set_image(truck_image)
    _, iou, low_res = predictor.predict(np.array([[900, 600]]), np.array([1]))
    fixture = np.load(FIXTURES / "sam2.1-hiera-tiny.npz")
    np.testing.assert_allclose(iou, fixture["truck/point/iou"], atol=1e-4)
    np.testing.assert_allclose(low_res[:, ::2, ::2], fixture["truck/point/low_res"], atol=1e-3)


def test_meta_and_hf_round_trips_are_lossless(tiny_file, tmp_path):
    model = masklet.load_model(tiny_file)
    meta = masklet.save_model(model, tmp_path / "again.pt")
    assert _same_weights(model, masklet.load_model(meta))
    hf_dir = masklet.save_model(model, tmp_path / "hf", format="hf")
    assert (hf_dir / "config.json").exists() and (hf_dir / "model.safetensors").exists()
    from_hf = masklet.load_model(hf_dir)
    assert from_hf.config.name == "sam2.1-hiera-tiny"
    assert _same_weights(model, from_hf)
    # HF -> Meta again: still bit-identical.
    assert _same_weights(model, masklet.load_model(masklet.save_model(from_hf, tmp_path / "back.pt")))


OFFICIAL_CONFIGS = [name for name in masklet.list_configs() if name.startswith("sam2")]


@pytest.mark.parametrize("name", OFFICIAL_CONFIGS)
def test_config_detected_from_keys_and_shapes(name):
    manifest = json.loads((FIXTURES.parent.parent / "keys" / f"{name}.json").read_text())
    state = {k: torch.empty(shape) for k, shape in manifest.items()}
    from masklet.checkpoint.formats import detect_config

    assert detect_config(state).name == name


@pytest.mark.parametrize("name", OFFICIAL_CONFIGS)
def test_model_keys_and_shapes_equal_official(name):
    manifest = json.loads((FIXTURES.parent.parent / "keys" / f"{name}.json").read_text())
    ours = {k: list(v.shape) for k, v in masklet.build_model(name).state_dict().items()}
    assert ours == {k: list(v) for k, v in manifest.items()}


def test_custom_config_survives_save_and_load(tmp_path):
    cfg = masklet.SAM2Config(
        name="tiny-256", image_size=256,
        trunk=masklet.HieraConfig(embed_dim=32, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(2,), window_spec=(4, 4, 4, 4)),
    )
    model = masklet.build_model(cfg)
    loaded = masklet.load_model(masklet.save_model(model, tmp_path / "custom.pt"))
    assert loaded.config == cfg and _same_weights(model, loaded)


# ----------------------------------------------------------------------------- bad files


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt"):
        masklet.load_model(tmp_path / "nope.pt")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"this is not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match="corrupt.pt.*not a readable PyTorch checkpoint"):
        masklet.load_model(bad)


def test_truncated_file(tiny_file, tmp_path):
    cut = tmp_path / "truncated.pt"
    cut.write_bytes(tiny_file.read_bytes()[: tiny_file.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        masklet.load_model(cut)


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /tmp/masklet_pwned",))


def test_pickle_that_would_execute_code_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "payload": _RunsCode()}, evil)
    with pytest.raises(CheckpointError, match="refused"):
        masklet.load_model(evil)
    plain = tmp_path / "evil_plain.pkl"
    plain.write_bytes(pickle.dumps(_RunsCode()))
    with pytest.raises(CheckpointError):
        masklet.load_model(plain)


def test_not_a_sam2_checkpoint(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"epoch": 3, "optimizer": {}}, other)
    with pytest.raises(CheckpointError, match="not a SAM 2 checkpoint"):
        masklet.load_model(other)
    alien = tmp_path / "alien.pt"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, alien)
    with pytest.raises(CheckpointError, match="alien.pt.*image_encoder"):
        masklet.load_model(alien)


def test_sam20_file_with_sam21_config_forced(tmp_path):
    model = masklet.build_model("sam2-hiera-tiny")
    path = tmp_path / "sam2_hiera_tiny.pt"
    torch.save({"model": model.state_dict()}, path)
    with pytest.raises(CheckpointError) as err:
        masklet.load_model(path, config="sam2.1-hiera-tiny")
    message = str(err.value)
    assert "sam2_hiera_tiny.pt" in message and "sam2.1-hiera-tiny" in message
    assert "no_obj_embed_spatial" in message and "missing keys (3)" in message
    assert "look like sam2-hiera-tiny" in message
    assert masklet.load_model(path).config.name == "sam2-hiera-tiny"


def test_wrong_size_config_names_shapes(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save({"model": masklet.build_model("sam2.1-hiera-tiny").state_dict()}, path)
    with pytest.raises(CheckpointError, match="wrong shapes.*patch_embed"):
        masklet.load_model(path, config="sam2.1-hiera-base-plus")


def test_unknown_name_lists_known_ones():
    with pytest.raises(CheckpointError, match="sam2.1-hiera-tiny"):
        masklet.load_model("sam3-hiera-gigantic")


def test_seeded_weights_are_deterministic():
    a = seeded_state_dict({"x.weight": (4, 3), "x.bias": (4,)}, seed=1)
    b = seeded_state_dict({"x.weight": (4, 3), "x.bias": (4,)}, seed=1)
    c = seeded_state_dict({"x.weight": (4, 3), "x.bias": (4,)}, seed=2)
    assert torch.equal(a["x.weight"], b["x.weight"]) and not torch.equal(a["x.weight"], c["x.weight"])


@pytest.mark.parametrize("fmt", ["meta", "hf"])
def test_masklet_nano_round_trips_with_its_narrow_widths(tmp_path, fmt):
    """masklet-nano's non-default widths (d_model, mem_dim, decoder MLP, memory attention)
    survive both formats, so the bundled model converts like the official ones."""
    torch.manual_seed(0)
    model = masklet.build_model("masklet-nano")
    path = masklet.save_model(model, tmp_path / ("nano.pt" if fmt == "meta" else "nano-hf"), format=fmt)
    loaded = masklet.load_model(path)
    assert loaded.config == model.config
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    from masklet.checkpoint.formats import detect_config

    assert detect_config(model.state_dict()).name == "masklet-nano"  # a bare state-dict is recognised too


def test_bundled_masklet_nano_loads_by_name():
    """The package ships masklet-nano's weights (float16 on disk); the name finds them and they
    load into a float32 model, with the config stored in the file."""
    from masklet.checkpoint.registry import bundled_path

    path = bundled_path("masklet-nano")
    assert path is not None and path.stat().st_size < 10 * 2**20
    model = masklet.load_model("masklet-nano")
    assert model.config == masklet.get_config("masklet-nano")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    stored = torch.load(path, map_location="cpu", weights_only=True)["model"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    for name, value in model.state_dict().items():
        assert torch.equal(value, stored[name].float()), name


@pytest.mark.parametrize("native", [False, True])
def test_half_precision_on_a_cpu_without_it_warns_that_it_is_slow(monkeypatch, recwarn, native):
    import masklet.checkpoint as checkpoint
    import masklet.checkpoint.loading as loading

    monkeypatch.setattr(loading, "cpu_has_native", lambda dtype: native or dtype == torch.float32)
    model = checkpoint.load_model("masklet-nano", dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    slow = [w for w in recwarn if "no native bfloat16" in str(w.message)]
    assert len(slow) == (0 if native else 1)
    if slow:
        assert "float32" in str(slow[0].message) and slow[0].filename == __file__
    recwarn.clear()
    checkpoint.load_model("masklet-nano")
    assert not [w for w in recwarn if "no native" in str(w.message)]


@pytest.mark.parametrize("options, message", [
    (dict(dtype="float16"), "float16 needs device cuda or mps"),
    (dict(dtype="int4"), "dtype 'int4' is not supported"),
    (dict(dtype=torch.int64), "is not supported"),
    (dict(device="tpu"), "unknown device 'tpu'"),
    pytest.param(dict(device="cuda"), "sees no CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")),
])
def test_device_and_dtype_the_machine_cannot_run_are_option_errors(options, message):
    """Checked before the checkpoint is read (so before any download): OptionError, not torch's
    AssertionError / TypeError from deep inside."""
    from masklet.errors import OptionError

    with pytest.raises(OptionError, match=message):
        masklet.load_model("no-such-file.pt", **options)


def test_dtype_by_name():
    model = masklet.load_model("masklet-nano", dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
