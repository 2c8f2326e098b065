"""Fuzz Masklet's readers: `python tools/fuzz/run.py [TARGET ...] --seconds 30` (`make fuzz`).

Each target runs in a child process of its own, under a memory limit, for `--seconds`:
  atheris  coverage-guided (libFuzzer through atheris, Masklet's modules instrumented) where
           atheris imports;
  mutate   otherwise (or `--engine mutate`): seeded random mutation of the corpus, byte-level and,
           for JSON inputs, of the parsed document (values swapped for other types, extremes,
           keys dropped).
Inputs that raise anything but a MaskletError, hang past `--timeout` or exceed the memory limit
are written to out/fuzz/crashes/<target>/ with their traceback (inputs slower than a second but
within the limit are kept there as slow-unit-* and counted apart); the corpus grows in
out/fuzz/corpus/<target>/. A summary (inputs run, findings per target) goes to
out/fuzz/summary.json; the exit status is 1 if anything was found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mutation import mutate  # noqa: E402

OUT = HERE.parents[1] / "out" / "fuzz"
MEMORY_LIMIT = 6 << 30  # bytes of address space per target process


class Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise Hang("the input took longer than the time limit")


def _fresh_crashes(target) -> Path:
    """The target's crash folder, emptied: a run reports what it found itself."""
    crashes = OUT / "crashes" / target.name
    shutil.rmtree(crashes, ignore_errors=True)
    crashes.mkdir(parents=True)
    return crashes


def _seed_corpus(target, corpus: Path) -> list[bytes]:
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in target.seeds():
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return [p.read_bytes() for p in sorted(corpus.iterdir())]


def _record(crashes: Path, data: bytes, error: str) -> None:
    name = hashlib.sha1(data).hexdigest()
    (crashes / name).write_bytes(data)
    (crashes / f"{name}.txt").write_text(error)


def _kind(error: BaseException) -> str:
    """A finding's kind: its type and the innermost line of Masklet's code it came through."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/masklet/" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "outside masklet"
    return f"{type(error).__name__} at {where}"


def fuzz_by_mutation(target, seconds: float, timeout: int, seed: int) -> dict:
    from targets import run_input

    corpus, crashes = _seed_corpus(target, OUT / "corpus" / target.name), _fresh_crashes(target)
    rng = random.Random(seed)
    signal.signal(signal.SIGALRM, _on_alarm)
    runs, findings, kinds = 0, 0, set()
    deadline = time.monotonic() + seconds
    with tempfile.TemporaryDirectory(prefix=f"masklet-fuzz-{target.name}-") as work:
        while time.monotonic() < deadline:
            data = mutate(rng.choice(corpus), rng)
            signal.alarm(timeout)
            try:
                run_input(target, data, Path(work))
            except BaseException as e:  # noqa: B036 - every escape is a finding, MemoryError and Hang included
                if isinstance(e, KeyboardInterrupt):
                    raise
                findings += 1
                kinds.add(_kind(e))
                _record(crashes, data, traceback.format_exc())
            finally:
                signal.alarm(0)
            runs += 1
    return {"target": target.name, "engine": "mutate", "seconds": seconds, "inputs": runs,
            "findings": findings, "kinds": sorted(kinds)}


def fuzz_with_atheris(target, seconds: float, timeout: int) -> None:
    import atheris

    with atheris.instrument_imports(include=["masklet"]):
        from targets import run_input

        import masklet.io  # noqa: F401 - the readers, instrumented before first use

        corpus_dir = OUT / "corpus" / target.name
        corpus = _seed_corpus(target, corpus_dir)
        with tempfile.TemporaryDirectory() as work:
            for data in corpus:
                run_input(target, data, Path(work))  # imports every module the target reaches
    crashes = _fresh_crashes(target)
    work = Path(tempfile.mkdtemp(prefix=f"masklet-fuzz-{target.name}-"))
    rng = random.Random(0)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng.seed(seed)
        return mutate(data, rng, byte_mutator=lambda d: atheris.Mutate(d, max_size))[:max_size]

    atheris.Setup(
        [sys.argv[0], f"-max_total_time={int(seconds)}", f"-timeout={timeout}", "-rss_limit_mb=4096",
         f"-artifact_prefix={crashes}/", "-print_final_stats=1", str(corpus_dir)],
        lambda data: run_input(target, data, work),
        custom_mutator=custom_mutator,
    )
    atheris.Fuzz()


def _child(name: str, seconds: float, engine: str, timeout: int, seed: int) -> None:
    from targets import TARGETS

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    target = TARGETS[name]
    if engine == "atheris":
        fuzz_with_atheris(target, seconds, timeout)
    else:
        print(json.dumps(fuzz_by_mutation(target, seconds, timeout, seed)))


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    from targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"targets to fuzz (default: all): {', '.join(TARGETS)}")
    parser.add_argument("--seconds", type=float, default=20.0, help="time per target (default 20)")
    parser.add_argument("--engine", choices=["auto", "atheris", "mutate"], default="auto")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take before it counts as a hang")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutate engine")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.seconds, args.engine, args.timeout, args.seed)
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    engine = ("atheris" if _has_atheris() else "mutate") if args.engine == "auto" else args.engine
    summary = []
    for name in args.targets or list(TARGETS):
        command = [sys.executable, __file__, "--child", name, "--seconds", str(args.seconds), "--engine", engine,
                   "--timeout", str(args.timeout), "--seed", str(args.seed)]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 600)
        crashes = OUT / "crashes" / name
        saved = sorted(p.name for p in crashes.glob("*") if p.suffix != ".txt") if crashes.is_dir() else []
        found = [n for n in saved if not n.startswith("slow-unit-")]  # libFuzzer's slow inputs are reported, not failures
        record = {"target": name, "engine": engine, "exit": done.returncode, "wall_s": round(time.monotonic() - started, 1),
                  "crash_files": len(found), "slow_inputs": len(saved) - len(found)}
        if engine == "mutate" and done.returncode == 0:
            record.update(json.loads(done.stdout.strip().splitlines()[-1]))
        else:
            stats = [line for line in done.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
            record["inputs"] = int(stats[-1].split(":")[-1]) if stats else None
            if done.returncode:
                record["tail"] = done.stderr.splitlines()[-15:]
        summary.append(record)
        print(f"{name:14s} {record.get('inputs')} inputs, exit {done.returncode}, crash files {len(found)}",
              flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2))
    return int(any(r["exit"] or r["crash_files"] or r.get("findings") for r in summary))


if __name__ == "__main__":
    os.environ.setdefault("MASKLET_HOME", str(OUT / "home"))
    sys.exit(main())
