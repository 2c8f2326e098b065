"""`GraphRunner`: what a runtime must do to run the graphs of an export folder. A backend
subclasses it with two methods, how a graph is compiled and how a compiled graph is called;
the rest (compiling each graph once, on first use; the graphs' input types) is here.
Torch is never imported here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from masklet.backend.arrays import to_numpy


class GraphRunner(ABC):
    """Runs the graphs of one export folder; each is compiled on first use."""

    backend: str  # the name `masklet.load_model(..., backend=)` takes
    precision: str = "float32"  # what the arithmetic runs in (the `dtype` the model was loaded with)

    def __init__(self, folder: Path, manifest: dict) -> None:
        self.folder, self.manifest = folder, manifest
        self._compiled: dict[str, Any] = {}

    def __call__(self, name: str, **inputs) -> dict[str, np.ndarray]:
        """Run graph `name` on named arrays (numpy or torch) -> its outputs by name."""
        if name not in self._compiled:
            self._compiled[name] = self.compile(name)
        return self.run(name, self._compiled[name], {k: graph_input(v) for k, v in inputs.items()})

    def path(self, name: str) -> Path:
        """The ONNX file of graph `name`."""
        return self.folder / self.manifest["graphs"][name]["file"]

    def output_names(self, name: str) -> list[str]:
        """Graph `name`'s outputs, in the manifest's order."""
        return list(self.manifest["graphs"][name]["outputs"])

    @abstractmethod
    def compile(self, name: str) -> Any:
        """Graph `name` made ready to run."""

    @abstractmethod
    def run(self, name: str, compiled: Any, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Call a compiled graph on its inputs -> its outputs by name (arrays the caller owns)."""


def graph_input(value) -> np.ndarray:
    """A graph input: contiguous, floats as float32 (the graphs' input type)."""
    array = to_numpy(value)
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return np.ascontiguousarray(array)
