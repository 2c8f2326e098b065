"""`masklet serve` options: bad values are one-line errors (exit code 2) before anything starts.
(A real `masklet serve` process is started by test_load_and_faults.py.)"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="masklet serve needs the 'serve' extra (pip install 'masklet[serve]')")

from masklet.cli import main  # noqa: E402


@pytest.mark.parametrize("options, message", [
    (["--port", "0"], "is not a port"),
    (["--max-sessions", "0"], "--max-sessions must be at least 1"),
    (["--token", " "], "--token is empty"),
    (["--suggest-thresholds", "high"], "give two numbers"),
    (["--data", "{file}"], "is a file"),
    (["--database-url", "nosuchdb://x"], "cannot open the database"),
])
def test_bad_options_are_clear_errors(capsys, tmp_path, options, message):
    file = tmp_path / "file"
    file.write_text("x")
    options = [o.replace("{file}", str(file)) for o in options]
    if "--data" not in options:
        options += ["--data", str(tmp_path / "data")]
    assert main(["serve", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("masklet: error:") and message in err, err
