"""Long-run reliability (issue 29): memory over long streams and videos, and dataset runs killed
and resumed.

    .venv/bin/python benchmarks/long_runs.py stream    [--frames 10000] [--size 320x180]
    .venv/bin/python benchmarks/long_runs.py propagate [--frames 2000] [--size 480x270] [--tracker video|stream]
                                                       [--bounded-memory]
    .venv/bin/python benchmarks/long_runs.py resume    [--kills 5] [--jobs images-coco,videos-sav,videos-davis,mine]

Every mode writes benchmarks/results/long_runs_<mode>.json (or --output) and prints a summary.
Frames are real: the 200 frames of ../shared/data/videos/bedroom played back and forth, seen
through a window that drifts over them, so every frame differs from the ones before.

stream: frames pushed one at a time through a `StreamTracker` of the bundled masklet-nano;
  every --event-every frames an object is added (a box or a click), removed, or corrected (a
  click), keeping 1 to 4 objects live. The resident set size (RSS) and the bytes the tracker's
  state holds are sampled every --sample-every frames; the figure that matters is the slope of
  RSS over the second half of the run (KiB per 1000 frames): 0 for a flat memory.
propagate: an H.264 MP4 made of the same frames, opened by `VideoPredictor` (default) or
  read in order by a `StreamTracker` (--tracker stream), --objects objects prompted with a box
  on frame 0 and tracked to the end, sampling as above. By default the offline predictor keeps
  each object's output on every frame (prompts may come back to any frame, as in the
  reference), so its state grows by a fixed amount per frame: the report gives that amount.
  With --bounded-memory the session keeps only the outputs near the current frame and the
  prompts (`init_state(..., bounded_memory=True)`, what `masklet track` uses): its state is flat.
resume: `masklet annotate` / `masklet mine` as a subprocess on a small dataset (COCO_MVal
  images with their ground-truth boxes, DAVIS clips at half size with boxes every 8th frame),
  run once uninterrupted (timing its items), then run again into a fresh folder, SIGKILLed at
  --kills random points of its work and started again after each, and the final output
  folders compared byte for byte.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
BEDROOM = DATA / "videos" / "bedroom"
MAX_LIVE_OBJECTS = 4


# ---------------------------------------------------------------------- measuring memory


def _status_kib(field_name: str) -> int | None:
    """A `VmRSS` / `VmHWM` line of /proc/self/status, in KiB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kib() -> int:
    """The process's resident set size now, in KiB."""
    now = _status_kib("VmRSS")
    if now is not None:
        return now
    import psutil  # off Linux

    return psutil.Process().memory_info().rss // 1024


def peak_rss_kib() -> int:
    """The largest resident set size the process has had, in KiB."""
    peak = _status_kib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def slope_per_1000_frames(frames: list[int], values: list[float]) -> float:
    """Least-squares slope of `values` over `frames`, per 1000 frames."""
    if len(frames) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(frames, float), np.asarray(values, float), 1)[0] * 1000)


@dataclass
class MemoryLog:
    """RSS and state-size samples taken while frames go by."""

    samples: list[dict] = field(default_factory=list)

    def sample(self, frame: int, **extra) -> None:
        self.samples.append({"frame": frame, "rss_kib": rss_kib(), **extra})
        print(f"frame {frame}: RSS {self.samples[-1]['rss_kib'] / 1024:.1f} MiB", file=sys.stderr, flush=True)

    def summary(self) -> dict:
        """Start, peak and end RSS, and slopes (KiB per 1000 frames) over each half of the run
        of RSS and of the other sampled sizes (`*_bytes`)."""
        second_half = self.samples[len(self.samples) // 2 :]
        first_half = self.samples[: len(self.samples) // 2 + 1]
        in_kib = {k: 1 for k in self.samples[0] if k.endswith("_kib")} | {
            k: 1024 for k in self.samples[0] if k.endswith("_bytes")}  # sampled figure -> its unit in KiB
        slopes = {}
        for key, divisor in in_kib.items():
            for name, part in (("first_half", first_half), ("second_half", second_half)):
                kib = [s[key] / divisor for s in part]
                slopes[f"{key.rsplit('_', 1)[0]}_{name}_kib_per_1000_frames"] = round(
                    slope_per_1000_frames([s["frame"] for s in part], kib), 2)
        return {
            "rss_start_kib": self.samples[0]["rss_kib"], "rss_end_kib": self.samples[-1]["rss_kib"],
            "rss_peak_sampled_kib": max(s["rss_kib"] for s in self.samples), "rss_peak_process_kib": peak_rss_kib(),
            "slopes": slopes, "slope_second_half_from_frame": second_half[0]["frame"],
        }


# ---------------------------------------------------------------------- frames


class DriftingFrames:
    """Frames of size (W, H) cut from the bedroom video played back and forth, through a
    window drifting over a 25% larger picture; frame i is the same in every run. Each
    picture is decoded on first use and kept (200 at most)."""

    def __init__(self, size: tuple[int, int], source: Path = BEDROOM) -> None:
        self.width, self.height = size
        self.paths = sorted(source.glob("*.jpg"))
        if not self.paths:
            raise FileNotFoundError(f"no bedroom frames in {source}: the long runs need ../shared/data")
        self.pictures: dict[int, np.ndarray] = {}  # index -> [5H/4, 5W/4, 3] uint8

    def picture(self, index: int) -> np.ndarray:
        if index not in self.pictures:
            big = (self.width * 5 // 4, self.height * 5 // 4)
            self.pictures[index] = np.asarray(Image.open(self.paths[index]).convert("RGB").resize(big, Image.BILINEAR))
        return self.pictures[index]

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self.paths)
        picture = self.picture(i % n if (i // n) % 2 == 0 else n - 1 - i % n)  # back and forth
        spare_y, spare_x = picture.shape[0] - self.height, picture.shape[1] - self.width
        x = round(spare_x * (0.5 + 0.5 * np.sin(i / 97)))
        y = round(spare_y * (0.5 + 0.5 * np.sin(i / 131)))
        return np.ascontiguousarray(picture[y : y + self.height, x : x + self.width])  # [H, W, 3] uint8

    def first(self, count: int) -> Iterator[np.ndarray]:
        return (self[i] for i in range(count))


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


# ---------------------------------------------------------------------- stream


@dataclass
class PromptSchedule:
    """Which object to add, remove or correct, every `every` frames, keeping 1 to
    MAX_LIVE_OBJECTS objects live; seeded, so runs repeat exactly."""

    size: tuple[int, int]
    every: int
    seed: int = 0
    live: list[int] = field(default_factory=list)
    counts: dict = field(default_factory=lambda: {"added": 0, "removed": 0, "corrected": 0})

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.next_id = 1

    def random_box(self) -> list[float]:
        width, height = self.size
        w, h = self.rng.uniform(0.2, 0.5) * width, self.rng.uniform(0.2, 0.5) * height
        x, y = self.rng.uniform(0, width - w), self.rng.uniform(0, height - h)
        return [x, y, x + w, y + h]

    def apply(self, tracker, frame_idx: int):
        """Prompt `tracker` on its current frame when an event falls on it; returns the
        frame's result after a prompt, None when there was none."""
        if frame_idx % self.every:
            return None
        draw = self.rng.random()
        if len(self.live) > 1 and (len(self.live) == MAX_LIVE_OBJECTS or draw < 0.35):
            tracker.remove_object(self.live.pop(int(self.rng.integers(len(self.live)))), strict=True)
            self.counts["removed"] += 1
            return None
        if len(self.live) < MAX_LIVE_OBJECTS and (not self.live or draw < 0.8):
            obj_id, self.next_id = self.next_id, self.next_id + 1
            self.live.append(obj_id)
            self.counts["added"] += 1
            x1, y1, x2, y2 = self.random_box()
            if obj_id % 2:
                return tracker.add_new_points_or_box(obj_id, box=[x1, y1, x2, y2])
            return tracker.add_new_points_or_box(obj_id, points=[[(x1 + x2) / 2, (y1 + y2) / 2]], labels=[1])
        self.counts["corrected"] += 1
        x, y = self.random_box()[:2]
        return tracker.add_new_points_or_box(self.live[int(self.rng.integers(len(self.live)))], points=[[x, y]],
                                             labels=[int(self.rng.integers(2))], clear_old_points=False)


def run_stream(args: argparse.Namespace) -> dict:
    import masklet

    tracker = masklet.StreamTracker(masklet.load_model(args.model))
    frames = DriftingFrames(parse_size(args.size))
    schedule = PromptSchedule((frames.width, frames.height), args.event_every, args.seed)
    log, live_per_frame, mask_pixels = MemoryLog(), [], 0
    start = time.perf_counter()
    for t, frame in enumerate(frames.first(args.frames)):
        result = tracker.track(frame)
        result = schedule.apply(tracker, t) or result
        mask_pixels += int(result.masks.sum())
        live_per_frame.append(len(tracker.obj_ids))
        if t % args.sample_every == 0 or t == args.frames - 1:
            stats = tracker.memory_stats()
            log.sample(t, state_bytes=stats["bytes"], tensors=stats["tensors"], objects=len(tracker.obj_ids))
    seconds = time.perf_counter() - start
    return {
        "frames": args.frames, "size": args.size, "model": args.model, "frames_per_s": round(args.frames / seconds, 2),
        "seconds": round(seconds, 1), "prompts": schedule.counts,
        "live_objects": {"min": min(live_per_frame), "max": max(live_per_frame),
                         "mean": round(float(np.mean(live_per_frame)), 2)},
        "mask_pixels": mask_pixels, **log.summary(), "samples": log.samples,
    }


# ---------------------------------------------------------------------- propagate


def write_mp4(path: Path, frames: Iterator[np.ndarray], size: tuple[int, int], fps: int = 30) -> Path:
    """An H.264 MP4 of the frames (a keyframe every 2 s)."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "g": str(2 * fps)}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def propagate_video(model, video, boxes: list[list[float]], sample: Callable[[int, Callable[[], dict]], None],
                    bounded_memory: bool = False) -> Iterator:
    """`VideoPredictor` over a whole video: boxes on frame 0, then forwards to the end."""
    import masklet

    predictor = masklet.VideoPredictor(model, show_progress=False)
    state = predictor.init_state(video, bounded_memory=bounded_memory)
    for obj_id, box in enumerate(boxes, start=1):
        predictor.add_new_points_or_box(state, 0, obj_id, box=box)
    for result in predictor.propagate(state):
        yield result
        sample(result.frame_idx, lambda: {"state_bytes": state.nbytes(), "frame_cache_bytes": video.cached_bytes})


def propagate_stream(model, video, boxes: list[list[float]], sample: Callable[[int, Callable[[], dict]], None],
                     bounded_memory: bool = False) -> Iterator:
    """The same with a `StreamTracker` reading the video in order (always bounded)."""
    import masklet

    tracker = masklet.StreamTracker(model)
    for t, frame in enumerate(video):
        result = tracker.track(frame)
        if t == 0:
            for obj_id, box in enumerate(boxes, start=1):
                result = tracker.add_new_points_or_box(obj_id, box=box)
        yield result
        sample(t, lambda: {"state_bytes": tracker.memory_stats()["bytes"], "frame_cache_bytes": video.cached_bytes})


def run_propagate(args: argparse.Namespace) -> dict:
    import masklet

    size = parse_size(args.size)
    width, height = size
    boxes = [[0.1 * width, 0.2 * height, 0.45 * width, 0.8 * height],
             [0.55 * width, 0.3 * height, 0.9 * width, 0.9 * height]][: args.objects]
    model = masklet.load_model(args.model)
    log = MemoryLog()

    def sample(t: int, figures: Callable[[], dict]) -> None:
        if t % args.sample_every == 0 or t == args.frames - 1:
            log.sample(t, **figures())

    run = propagate_video if args.tracker == "video" else propagate_stream
    with tempfile.TemporaryDirectory(prefix="masklet-long-runs-") as tmp:
        start = time.perf_counter()
        path = write_mp4(Path(tmp) / "drifting.mp4", DriftingFrames(size).first(args.frames), size)
        encode_seconds = time.perf_counter() - start
        start, count, visible = time.perf_counter(), 0, 0
        with masklet.io.open_video(path, cache_mib=args.cache_mib) as video:
            for result in run(model, video, boxes, sample, args.bounded_memory):
                count += 1
                visible += int(result.visible.sum())
        seconds = time.perf_counter() - start
    summary = log.summary()
    per_frame = summary["slopes"]["state_second_half_kib_per_1000_frames"] / 1000
    return {
        "frames": args.frames, "tracked_frames": count, "size": args.size, "objects": args.objects,
        "tracker": args.tracker, "bounded_memory": args.bounded_memory, "model": args.model, "cache_mib": args.cache_mib,
        "encode_seconds": round(encode_seconds, 1), "frames_per_s": round(count / seconds, 2),
        "seconds": round(seconds, 1), "visible_object_frames": visible,
        "state_kib_per_object_frame": round(per_frame / args.objects, 2), **summary, "samples": log.samples,
    }


# ---------------------------------------------------------------------- resume


def _autolabel_benchmark():
    """benchmarks/autolabel.py, whose inputs (COCO_MVal images with boxes, DAVIS clips) the
    resume runs reuse."""
    spec = importlib.util.spec_from_file_location("autolabel_benchmark", REPO / "benchmarks" / "autolabel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job_commands(inputs: Path, images: int, frames: int) -> dict[str, list[str]]:
    """The CLI arguments (after `masklet`, before --output) of each job, its inputs made in `inputs`."""
    bench = _autolabel_benchmark()
    image_boxes, video_boxes = bench.make_images(inputs, images), bench.make_videos(inputs, frames)
    return {
        "images-coco": ["annotate", str(inputs / "images"), "--boxes", str(image_boxes), "--format", "coco",
                        "--shard-size", "3"],
        "videos-sav": ["annotate", str(inputs / "videos"), "--boxes", str(video_boxes), "--format", "sav"],
        "videos-davis": ["annotate", str(inputs / "videos"), "--boxes", str(video_boxes), "--format", "davis"],
        "mine": ["mine", str(inputs / "videos"), "--keyframe-every", "12", "--points-per-side", "4",
                 "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--min-mean-stability", "0"],
    }


def tree(folder: Path) -> dict[str, bytes]:
    """{relative path: content} of every file under `folder`."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def done_items(output: Path) -> int:
    """How many items the run in `output` has finished."""
    return len(list((output / ".masklet-run" / "done").glob("*.json")))


def launch(arguments: list[str], output: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "masklet.cli", *arguments, "--output", str(output), "--no-progress"]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def check_finished(process: subprocess.Popen, what: str) -> None:
    _, err = process.communicate()
    if process.returncode not in (0, 1):  # 1: done, with problem lines in report.txt
        raise RuntimeError(f"{what} failed ({process.returncode}): {err.decode(errors='replace')[-2000:]}")


@dataclass(frozen=True)
class RunTiming:
    """How long the items of an uninterrupted run took: about `per_item` seconds each."""

    per_item: float
    items: int

    @classmethod
    def of(cls, arguments: list[str], output: Path) -> RunTiming:
        """Run to the end into `output`, noting when each item is done."""
        process, start, finished = launch(arguments, output), time.monotonic(), []
        while process.poll() is None:
            finished += [time.monotonic() - start] * (done_items(output) - len(finished))
            time.sleep(0.01)
        check_finished(process, "the uninterrupted run")
        finished += [time.monotonic() - start] * (done_items(output) - len(finished))
        if len(finished) < 3:
            raise RuntimeError(f"the run of {arguments} has {len(finished)} item(s): the kills need at least 3")
        return cls((finished[-1] - finished[0]) / (len(finished) - 1), len(finished))


def started_work(output: Path, launched: float) -> bool:
    """Whether a run launched at `launched` (time.time()) has opened its manifest."""
    manifest = output / ".masklet-run" / "manifest.json"
    return manifest.exists() and manifest.stat().st_mtime >= launched


def kill_at(arguments: list[str], output: Path, target: int, extra: float) -> dict:
    """Start the run into `output` and SIGKILL it `extra` seconds after it has `target` items
    done (counting from when it opens its manifest when it starts with that many). Kills so
    land while the model loads, while items are computed, and while their files are written."""
    already = done_items(output)
    launched = time.time()
    process, start, reached = launch(arguments, output), time.monotonic(), None
    while process.poll() is None:
        now = time.monotonic()
        if reached is None and done_items(output) >= target and started_work(output, launched):
            reached = now
        if reached is not None and now - reached >= extra:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    killed = process.wait() == -signal.SIGKILL
    written = tree(output) if output.exists() else {}
    return {
        "after_s": round(time.monotonic() - start, 2), "killed": killed, "done_before": already,
        "kill_after_items": target, "extra_s": round(extra, 2), "done_after": done_items(output),
        "files": len(written), "partial_files": sum(1 for name in written if name.endswith(".partial")),
    }


def delivered_kill(arguments: list[str], output: Path, timing: RunTiming, position: float,
                   rng: np.random.Generator, tries: int = 3) -> dict:
    """Kill the run at `position` seconds into its work (item `position // per_item`, or the
    first not done yet, plus the rest), until a kill lands before the run ends: a run that
    finished first is undone (the folder restored to what the previous kill left) and started
    again, killed at a fresh random moment of the same item."""
    left_by_last_kill = output.with_name(output.name + "-before")
    shutil.rmtree(left_by_last_kill, ignore_errors=True)
    if output.exists():
        shutil.copytree(output, left_by_last_kill)
    target = max(int(position // timing.per_item), done_items(output))
    extra = position - target * timing.per_item
    if not 0 <= extra < timing.per_item:  # the previous kill came later than estimated
        extra = rng.uniform(0, timing.per_item)
    for attempt in range(1, tries + 1):
        record = {**kill_at(arguments, output, target, extra), "attempt": attempt}
        if record["killed"]:
            break
        shutil.rmtree(output)
        if left_by_last_kill.exists():
            shutil.copytree(left_by_last_kill, output)
        extra = rng.uniform(0, timing.per_item)
    return record


def run_resume(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    jobs = {}
    with tempfile.TemporaryDirectory(prefix="masklet-long-runs-") as tmp:
        work = Path(tmp)
        commands = job_commands(work, args.images, args.video_frames)
        for name in args.jobs.split(","):
            arguments, reference, output = commands[name], work / f"{name}-reference", work / f"{name}-killed"
            timing = RunTiming.of(arguments, reference)
            positions = np.sort(rng.uniform(0, timing.items * timing.per_item, args.kills))  # s into the work
            kills = [delivered_kill(arguments, output, timing, p, rng) for p in positions]
            check_finished(launch(arguments, output), "the last resumed run")
            expected, got = tree(reference), tree(output)
            differing = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
            jobs[name] = {
                "command": ["masklet", *[a.replace(str(work), "WORK") for a in arguments]],
                "items": timing.items, "files": len(expected), "per_item_s": round(timing.per_item, 2),
                "kills": kills,
                "kills_delivered": sum(k["killed"] for k in kills), "tries": sum(k["attempt"] for k in kills),
                "byte_identical": not differing, "differing_files": differing,
            }
            print(f"{name}: {jobs[name]['kills_delivered']} kills, byte-identical: {not differing}", flush=True)
    return {"seed": args.seed, "jobs": jobs, "byte_identical": all(j["byte_identical"] for j in jobs.values())}


# ---------------------------------------------------------------------- main


def machine() -> dict:
    import torch

    import masklet

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": cpu, "usable_cpus": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "masklet": masklet.__version__,
            "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX")}  # glibc's arenas shape RSS (README)


def print_summary(mode: str, report: dict) -> None:
    if mode == "resume":
        for name, job in report["jobs"].items():
            print(f"{name}: {job['items']} items, {job['kills_delivered']} of {len(job['kills'])} kills delivered at "
                  f"{[k['after_s'] for k in job['kills']]} s; byte-identical: {job['byte_identical']}")
        return
    slopes = report["slopes"]
    print(f"{mode}: {report.get('tracked_frames', report['frames'])} frames at {report['size']}, "
          f"{report['frames_per_s']} frames/s; RSS {report['rss_start_kib'] / 1024:.0f} -> "
          f"{report['rss_end_kib'] / 1024:.0f} MiB (peak {report['rss_peak_process_kib'] / 1024:.0f} MiB); "
          f"RSS slope over the second half {slopes['rss_second_half_kib_per_1000_frames']:+.1f} KiB / 1000 frames; "
          f"state slope {slopes['state_second_half_kib_per_1000_frames']:+.1f} KiB / 1000 frames")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    stream = modes.add_parser("stream", help="a long stream through StreamTracker, objects coming and going")
    stream.add_argument("--frames", type=int, default=10_000)
    stream.add_argument("--size", default="320x180", help="frame size WxH (default: 320x180)")
    stream.add_argument("--event-every", type=int, default=125, help="frames between prompt events (default: 125)")
    propagate = modes.add_parser("propagate", help="VideoPredictor.propagate over a long MP4")
    propagate.add_argument("--frames", type=int, default=2000)
    propagate.add_argument("--size", default="480x270", help="frame size WxH (default: 480x270)")
    propagate.add_argument("--objects", type=int, choices=(1, 2), default=2)
    propagate.add_argument("--tracker", choices=("video", "stream"), default="video")
    propagate.add_argument("--cache-mib", type=float, default=256, help="decoded-frame cache (open_video's default)")
    propagate.add_argument("--bounded-memory", action="store_true",
                           help="open the video session with init_state(..., bounded_memory=True)")
    resume = modes.add_parser("resume", help="annotate / mine runs SIGKILLed at random moments and resumed")
    resume.add_argument("--kills", type=int, default=5)
    resume.add_argument("--jobs", default="images-coco,videos-sav,videos-davis,mine",
                        help="comma-separated of images-coco, videos-sav, videos-davis, mine")
    resume.add_argument("--images", type=int, default=24, help="COCO_MVal images, in shards of 3 (default: 24)")
    resume.add_argument("--video-frames", type=int, default=24, help="frames of each DAVIS clip (default: 24)")
    for sub in (stream, propagate):
        sub.add_argument("--sample-every", type=int, default=100, help="frames between memory samples")
        sub.add_argument("--model", default="masklet-nano")
        sub.add_argument("--threads", type=int, default=1,
                         help="torch threads (default: 1; on a shared 2-core machine 2 threads ran 8x slower)")
    for sub in (stream, propagate, resume):
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--output", type=Path, help="the JSON report (default: benchmarks/results/long_runs_MODE.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not DATA.is_dir():
        print(f"needs the shared data at {DATA}", file=sys.stderr)
        return 2
    if args.mode != "resume":
        import torch

        torch.set_num_threads(args.threads)
    run = {"stream": run_stream, "propagate": run_propagate, "resume": run_resume}[args.mode]
    report = {"mode": args.mode, "argv": sys.argv[1:] if argv is None else argv, "machine": machine(), **run(args)}
    output = args.output or RESULTS / f"long_runs_{args.mode}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1) + "\n")
    print_summary(args.mode, report)
    print(f"report: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
