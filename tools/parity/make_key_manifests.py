"""Write tests/fixtures/keys/<config>.json: every official state-dict key and its shape, as
the reference builds it. Run in the reference venv from the repo root:
    /tmp/refvenv/bin/python tools/parity/make_key_manifests.py
"""

from __future__ import annotations

import json

from cases import REPO
from make_image_fixtures import REFERENCE_CONFIG_FILES


def main() -> None:
    from sam2.build_sam import build_sam2

    out_dir = REPO / "tests" / "fixtures" / "keys"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, config_file in REFERENCE_CONFIG_FILES.items():
        state = build_sam2(config_file, ckpt_path=None, device="cpu").state_dict()
        (out_dir / f"{name}.json").write_text(json.dumps({k: list(v.shape) for k, v in state.items()}))
        print(f"{name}: {len(state)} keys")


if __name__ == "__main__":
    main()
