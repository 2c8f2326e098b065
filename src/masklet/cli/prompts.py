"""Prompts on the command line and in prompt files: points, boxes and masks, grouped by object.

Command-line grammar (`track`): `--obj ID` and `--frame N` set the object and frame that the
`--point`, `--box` and `--mask` options after them belong to (before any `--obj`: object 1;
before any `--frame`: frame 0), e.g.

    --obj 1 --point 210,350 --point 250,220:0 --obj 2 --frame 5 --box 300,0,500,400

Prompt file (`--prompts FILE.json`), mask paths relative to the file's folder:

    {"objects": [{"id": 1, "frame": 0, "points": [[210, 350]], "labels": [1]},
                 {"id": 2, "frame": 0, "box": [300, 0, 500, 400]},
                 {"id": 3, "frame": 5, "mask": "object3.png"}]}
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from masklet.cli.errors import CliError
from masklet.io.image import ImageReadError, read_grey

POINT_FORMAT = "X,Y or X,Y:LABEL (LABEL 1 foreground, the default, or 0 background)"
BOX_FORMAT = "X1,Y1,X2,Y2"


def _numbers(text: str, count: int, what: str, form: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"{what} {text!r} is not {form}")
    return values


def parse_point(text: str) -> tuple[float, float, int]:
    """'X,Y' or 'X,Y:LABEL' -> (x, y, label)."""
    coords, _, label = text.partition(":")
    x, y = _numbers(coords, 2, "point", POINT_FORMAT)
    if label not in ("", "0", "1"):
        raise argparse.ArgumentTypeError(f"point {text!r}: label must be 1 (foreground) or 0 (background)")
    return x, y, int(label or 1)


def parse_box(text: str) -> tuple[float, float, float, float]:
    """'X1,Y1,X2,Y2' -> (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2."""
    x1, y1, x2, y2 = _numbers(text, 4, "box", BOX_FORMAT)
    if x2 < x1 or y2 < y1:
        raise argparse.ArgumentTypeError(f"box {text!r}: the second corner must be right of and below the first")
    return x1, y1, x2, y2


def parse_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


class InOrder(argparse.Action):
    """Appends (option name, value) to `namespace.prompt_items`, keeping the command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, "prompt_items", None) or [])
        items.append((self.dest, values))
        namespace.prompt_items = items


@dataclass
class FramePrompt:
    """One object's prompts on one frame: clicks and a box, or a mask."""

    obj_id: int
    frame: int
    points: list[tuple[float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None
    mask: Path | None = None

    def where(self) -> str:
        return f"object {self.obj_id} on frame {self.frame}"


class PromptSet:
    """Prompts by (object id, frame), merged from the command line and prompt files."""

    def __init__(self) -> None:
        self.prompts: dict[tuple[int, int], FramePrompt] = {}

    def at(self, obj_id: int, frame: int) -> FramePrompt:
        return self.prompts.setdefault((obj_id, frame), FramePrompt(obj_id, frame))

    def add_point(self, obj_id: int, frame: int, x: float, y: float, label: int) -> None:
        prompt = self.at(obj_id, frame)
        prompt.points.append((x, y))
        prompt.labels.append(label)

    def add_box(self, obj_id: int, frame: int, box) -> None:
        prompt = self.at(obj_id, frame)
        if prompt.box is not None:
            raise CliError(f"{prompt.where()} has two boxes; give one box per object and frame")
        prompt.box = tuple(box)

    def add_mask(self, obj_id: int, frame: int, path: Path) -> None:
        prompt = self.at(obj_id, frame)
        if prompt.mask is not None:
            raise CliError(f"{prompt.where()} has two masks; give one mask per object and frame")
        prompt.mask = path

    def ordered(self) -> list[FramePrompt]:
        """The prompts by object id, then frame; a mask may not be mixed with clicks or a box."""
        result = [self.prompts[key] for key in sorted(self.prompts)]
        for prompt in result:
            if prompt.mask is not None and (prompt.points or prompt.box is not None):
                raise CliError(f"{prompt.where()} has a mask and clicks or a box; give either a mask or clicks/box")
        return result


def prompts_from_arguments(items: list[tuple[str, object]], prompts: PromptSet) -> None:
    """Add the `track` command line's ordered (option, value) items to `prompts`."""
    obj_id, frame = 1, 0
    for number, (option, value) in enumerate(items):
        if option in ("obj", "frame") and all(later in ("obj", "frame") for later, _ in items[number + 1:]):
            raise CliError(f"--{option} {value} is followed by no --point, --box or --mask; "
                           "prompts come after the --obj / --frame they belong to")
        if option == "obj":
            obj_id = value
        elif option == "frame":
            frame = value
        elif option == "point":
            prompts.add_point(obj_id, frame, *value)
        elif option == "box":
            prompts.add_box(obj_id, frame, value)
        else:
            prompts.add_mask(obj_id, frame, Path(value))


def prompts_from_file(path: str | Path, prompts: PromptSet) -> None:
    """Add the objects of a JSON prompt file (format in this module's docstring) to `prompts`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CliError(f"cannot read prompt file {path} ({e.strerror or e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CliError(f"prompt file {path} is not valid UTF-8 JSON ({e})") from None
    objects = data.get("objects") if isinstance(data, dict) else None
    if not isinstance(objects, list):
        raise CliError(f'prompt file {path}: expected {{"objects": [...]}} at the top level')
    for number, entry in enumerate(objects):
        where = f"prompt file {path}, objects[{number}]"
        try:
            _add_file_entry(entry, path.parent, prompts)
        except (KeyError, TypeError, ValueError, argparse.ArgumentTypeError) as e:
            raise CliError(f"{where}: {e}; expected id, frame and points+labels, box or mask") from None


def _add_file_entry(entry: dict, folder: Path, prompts: PromptSet) -> None:
    obj_id, frame = parse_id(str(entry["id"])), parse_id(str(entry.get("frame", 0)))
    known = {"id", "frame", "points", "labels", "box", "mask"}
    if set(entry) - known:
        raise ValueError(f"unknown keys {sorted(set(entry) - known)}")
    points = entry.get("points", [])
    labels = entry.get("labels", [1] * len(points))
    if len(labels) != len(points):
        raise ValueError(f"{len(points)} points but {len(labels)} labels")
    for (x, y), label in zip(points, labels):
        if label not in (0, 1):
            raise ValueError(f"label {label!r} is not 1 (foreground) or 0 (background)")
        prompts.add_point(obj_id, frame, float(x), float(y), int(label))
    if "box" in entry:
        prompts.add_box(obj_id, frame, parse_box(",".join(str(v) for v in entry["box"])))
    if "mask" in entry:
        prompts.add_mask(obj_id, frame, folder / entry["mask"])
    if not (points or "box" in entry or "mask" in entry):
        raise ValueError("no prompt")


def read_mask_file(path: Path, width: int, height: int) -> np.ndarray:
    """A mask image (pixels > 0 are the object) of the frame's size -> bool [H, W]."""
    try:
        mask = read_grey(path) > 0
    except ImageReadError as e:
        raise CliError(f"{e}; a mask is an image whose non-zero pixels are the object") from None
    if mask.shape != (height, width):
        raise CliError(f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but the video frames are {width}x{height}")
    return mask
