"""The work manifest of a run, and which of its items are done, kept in OUT/.masklet-run/.

`manifest.json` lists the run's settings and items. When an item's result arrives its files are
written one by one, each atomically (a killed run leaves whole files or none), and then its done
record `done/<item>.json` (its files and problem lines). A run started again on the same output
with the same inputs and settings skips the items with a done record and redoes the others;
temporary files a killed run left behind are removed first.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from masklet.autolabel.inputs import WorkItem
from masklet.autolabel.outputs import RUN_FOLDER
from masklet.autolabel.task import ItemResult
from masklet.errors import MaskletError
from masklet.io.atomic import atomic_output, ensure_output_dir, write_text_atomic

MANIFEST_VERSION = 1


class ManifestMismatchError(MaskletError, ValueError):
    """The output folder holds a run of other inputs or settings."""


@dataclass(frozen=True)
class DoneRecord:
    files: list[str]
    problems: list[str]
    failed: bool


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, indent=1) + "\n"


class RunState:
    def __init__(self, output: Path, items: Sequence[WorkItem]) -> None:
        self.output = output
        self.folder = output / RUN_FOLDER
        self.items = list(items)

    @classmethod
    def open(cls, output: str | Path, settings: dict, items: Sequence[WorkItem], restart: bool = False) -> RunState:
        """The state of a run writing into `output`: a new one, or the one found there when it
        has the same settings and items (ManifestMismatchError otherwise, unless `restart`,
        which forgets it)."""
        state = cls(Path(output), items)
        manifest = {
            "version": MANIFEST_VERSION, "settings": settings,
            "items": [{"id": i.id, "inputs": list(i.inputs), "first_index": i.first_index} for i in items],
        }
        path = state.folder / "manifest.json"
        if restart:
            shutil.rmtree(state.folder, ignore_errors=True)
        if path.is_file() and json.loads(path.read_text(encoding="utf-8")) != json.loads(_json(manifest)):
            raise ManifestMismatchError(
                f"{output} holds a run of other inputs or settings ({path}); resume it with the same command, "
                "start over with --restart, or choose another --output"
            )
        ensure_output_dir(state.folder / "done")
        state.remove_partial_files()
        write_text_atomic(path, _json(manifest))
        return state

    def remove_partial_files(self) -> None:
        """Delete the temporary files of atomic writes a killed run left behind."""
        for leftover in self.output.rglob(".*.partial"):
            if leftover.is_file():
                leftover.unlink()

    def _done_path(self, item: WorkItem) -> Path:
        return self.folder / "done" / f"{item.id}.json"

    def done_record(self, item: WorkItem) -> DoneRecord | None:
        path = self._done_path(item)
        if not path.is_file():
            return None
        return DoneRecord(**json.loads(path.read_text(encoding="utf-8")))

    def is_done(self, item: WorkItem) -> bool:
        record = self.done_record(item)
        return record is not None and not record.failed

    def commit(self, item: WorkItem, result: ItemResult) -> None:
        """Write an item's files, then its done record."""
        for relative, content in sorted(result.files.items()):
            with atomic_output(self.output / relative) as tmp:
                tmp.write_bytes(content)
        record = DoneRecord(sorted(result.files), list(result.problems), result.failed)
        write_text_atomic(self._done_path(item), _json(asdict(record)))

    def problems(self) -> list[str]:
        """The problem lines of the finished items, in item order."""
        return [line for item in self.items if (r := self.done_record(item)) is not None for line in r.problems]

    def failed(self) -> list[str]:
        return [item.id for item in self.items if (r := self.done_record(item)) is not None and r.failed]
