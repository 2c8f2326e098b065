"""What each media must show, from the changes the server acknowledged: the soak's model of the
step log (prompts and propagations, undo and redo) and of the objects.

The server stores each step with the masks it produced; a media shows, for each (object,
frame), the mask of the latest step not undone, for the objects that are not removed. A new
step deletes the undone ones. The model keeps exactly that from the responses (a prompt's
masks, a propagation's streamed frames), so the state read back must equal it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MaskKey = tuple[int, int]  # (obj_id, frame_idx)


@dataclass
class Step:
    step_id: int
    kind: str  # "prompt" | "propagation"
    masks: dict[MaskKey, str]  # the masks stored with the step: COCO RLE counts
    removes: int | None = None  # the object a removal step removes
    undone: bool = False


@dataclass
class ExpectedMedia:
    media_id: int
    project_id: int
    num_frames: int
    width: int
    height: int
    objects: dict[int, str] = field(default_factory=dict)  # obj_id -> name
    steps: list[Step] = field(default_factory=list)
    uncertain: str | None = None  # a change whose answer was lost (a server stop): not changed any more
    lost_frames: set[int] = field(default_factory=set)  # the frames whose masks that change may have touched

    def lose(self, op: str, frames: set[int]) -> None:
        """A change's answer was lost: it may or may not have landed, on these frames."""
        if self.uncertain is None:
            self.uncertain, self.lost_frames = op, frames

    # ------------------------------------------------------------------ acknowledged changes

    def add_step(self, step: Step) -> None:
        self.steps = [s for s in self.steps if not s.undone] + [step]

    def predicted_undo(self) -> list[int]:
        """The step ids an undo must mark undone: the last active prompt and every step after it."""
        active = self.active()
        last = max((i for i, s in enumerate(active) if s.kind == "prompt"), default=None)
        return [] if last is None else [s.step_id for s in active[last:]]

    def predicted_redo(self) -> list[int]:
        """The first undone prompt and the propagations up to the next undone prompt."""
        undone = [s for s in self.steps if s.undone]
        stop = next((i for i, s in enumerate(undone) if i and s.kind == "prompt"), len(undone))
        return [s.step_id for s in undone[:stop]]

    def mark(self, step_ids: list[int], undone: bool) -> None:
        for step in self.steps:
            if step.step_id in step_ids:
                step.undone = undone

    # ------------------------------------------------------------------ what must be shown

    def active(self) -> list[Step]:
        return [s for s in self.steps if not s.undone]

    def removed(self) -> set[int]:
        return {s.removes for s in self.active() if s.removes is not None}

    def prompted(self) -> set[int]:
        """Objects with an active prompt (a propagation needs one that is not removed)."""
        return {obj for s in self.active() if s.kind == "prompt" and s.removes is None for obj, _ in s.masks}

    def shown(self) -> dict[MaskKey, str]:
        latest: dict[MaskKey, str] = {}
        for step in self.active():
            latest.update(step.masks)
        hidden = self.removed()
        return {key: counts for key, counts in latest.items() if key[0] not in hidden}

    def history(self) -> dict:
        active = self.active()
        return {"steps": len(active), "can_undo": any(s.kind == "prompt" for s in active),
                "can_redo": any(s.undone for s in self.steps)}

    def differences(self, history: dict, objects: list[dict], masks: list[dict]) -> list[str]:
        """How the state read back differs from the acknowledged one. With `uncertain` set, a
        change may have landed without its answer: then only what it could not have touched is
        compared (the masks outside `lost_frames`, that the acknowledged objects exist)."""
        problems = []
        shown = {(m["obj_id"], m["frame_idx"]): m["counts"] for m in masks}
        expected = self.shown()
        if self.uncertain is None:
            if {k: history[k] for k in ("steps", "can_undo", "can_redo")} != self.history():
                problems.append(f"history {history} != acknowledged {self.history()}")
            read = {o["obj_id"]: (o["name"], o["removed"]) for o in objects}
            wanted = {obj_id: (name, obj_id in self.removed()) for obj_id, name in self.objects.items()}
            if read != wanted:
                problems.append(f"objects {read} != acknowledged {wanted}")
        else:
            names = {o["obj_id"]: o["name"] for o in objects}
            missing = [obj_id for obj_id in self.objects if obj_id not in names]
            if missing:
                problems.append(f"acknowledged objects {missing} are gone")
            shown = {k: v for k, v in shown.items() if k[1] not in self.lost_frames}
            expected = {k: v for k, v in expected.items() if k[1] not in self.lost_frames}
        wrong = sorted(k for k in expected.keys() | shown.keys() if expected.get(k) != shown.get(k))
        if wrong:
            problems.append(f"{len(wrong)} masks differ from the acknowledged ones, e.g. (object, frame) {wrong[:5]}")
        return [f"media {self.media_id}: {p}" for p in problems]
