"""Soak `masklet serve`: `python tools/soak/run.py --clients 4 --seconds 300` (`make soak`).

Starts `masklet serve` on a free loopback port over a new data folder, then
  1. LRU: one client uploads and clicks --lru-media clips one after another, the server's
     resident memory sampled after each, to show it levels off once --max-sessions are held;
  2. load: --clients threads send weighted random valid and invalid requests (uploads, objects,
     clicks, boxes, masks, propagations streamed and cancelled, undo / redo, exports, deletes,
     malformed bodies, damaged uploads, unknown ids ...) until --seconds have passed or each
     has sent --max-requests; --restarts stops the server under load (kill: SIGKILL, term:
     SIGTERM) and starts it again on the same folder, checking on the way that every
     acknowledged change survived and that a second server on the folder is refused;
  3. checks: no 5xx, every status as the API documents it for the operation, each media's
     history, objects and masks equal to the acknowledged changes, a clean database and data
     folder after the stop, every project's exports equal to exports rebuilt by replaying the
     stored logs through a fresh model, and equal again after a restart.
Writes --output (JSON: requests/s, click latency p50 / p99, peak RSS, RSS against media
count, operations and statuses, violations) and prints a summary; exit status 1 if any check
failed. Only loopback is used; the run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402

from soak.checks import (  # noqa: E402
    database_problems,
    download_exports,
    export_differences,
    replayed_exports,
    state_differences,
)
from soak.client import SoakClient  # noqa: E402
from soak.gate import ServerGate  # noqa: E402
from soak.record import Recorder  # noqa: E402
from soak.server import ServeProcess  # noqa: E402

RESTARTS = {"kill": signal.SIGKILL, "term": signal.SIGTERM}
DEFAULT_OUTPUT = HERE.parents[1] / "benchmarks" / "results" / "serve_soak.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=300, help="length of the load phase")
    parser.add_argument("--max-requests", type=int, default=100_000, help="per client")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="model name or checkpoint (default: the bundled masklet-nano)")
    parser.add_argument("--max-sessions", type=int, default=2, help="the server's --max-sessions (LRU)")
    parser.add_argument("--max-session-mib", type=float, default=256, help="the server's --max-session-mib")
    parser.add_argument("--lru-media", type=int, default=8, help="clips annotated one by one in the LRU phase")
    parser.add_argument("--lru-clip", default="16,320x192", help="FRAMES,WIDTHxHEIGHT of the LRU phase's clips")
    parser.add_argument("--frames", default="4,8", help="frames of an uploaded clip: MIN,MAX")
    parser.add_argument("--frame-size", default="160x96", help="WIDTHxHEIGHT of the clips")
    parser.add_argument("--max-media", type=int, default=3, help="media a client keeps before it deletes one")
    parser.add_argument("--restarts", default="kill,term",
                        help="server stops under load, spread over the run: kill (SIGKILL), term (SIGTERM); '' for none")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--workdir", type=Path, help="data folder and server log go here (default: a temporary folder)")
    return parser.parse_args(argv)


def parse_size(text: str) -> tuple[int, int]:
    """"WIDTHxHEIGHT" -> (width, height)"""
    width, height = text.lower().split("x")
    return int(width), int(height)


class Soak:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        options = ["--max-sessions", str(args.max_sessions), "--max-session-mib", str(args.max_session_mib),
                   "--suggest-points", "4"] + (["--model", args.model] if args.model else [])
        self.server = ServeProcess(workdir / "data", secrets.token_hex(8), options, workdir / "serve.log")
        self.recorder = Recorder()
        self.problems: dict[str, list[str]] = {}
        self.results: dict = {}
        self.frames = tuple(int(v) for v in args.frames.split(","))
        self.frame_size = parse_size(args.frame_size)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {self.server.token}"}, timeout=600)

    def client(self, index: int, gate: ServerGate, deadline: float, max_requests: int) -> SoakClient:
        return SoakClient(index, self.server.url, self.server.token, self.args.seed, deadline, max_requests, gate,
                          self.recorder, self.frames, self.frame_size, self.args.max_media)

    # ------------------------------------------------------------------ phases

    def lru_phase(self) -> SoakClient:
        """Clips annotated one after another: RSS and resident sessions after each."""
        annotator = self.client(self.args.clients, ServerGate(1), float("inf"), 10**9)
        annotator.ensure_project()
        frames, size = self.args.lru_clip.split(",")
        table = []
        for count in range(1, self.args.lru_media + 1):
            annotator.annotate_new_media(int(frames), parse_size(size))
            with self.http() as http:
                stats = http.get("/api/stats").json()
            table.append({"media": count, "rss_mib": round(self.server.rss_mib(), 1), "sessions": stats["sessions"],
                          "session_mib": round(stats["bytes"] / 2**20, 1), "evictions": stats["evictions"]})
        self.results["lru"] = {"max_sessions": self.args.max_sessions, "max_session_mib": self.args.max_session_mib,
                               "rss_by_media": table}
        return annotator

    def load_phase(self, annotator: SoakClient) -> list[SoakClient]:
        gate = ServerGate(self.args.clients)
        began = time.monotonic()
        deadline = began + self.args.seconds
        clients = [self.client(i, gate, deadline, self.args.max_requests) for i in range(self.args.clients)]
        for client in clients:
            client.start()
        stops = [s for s in self.args.restarts.split(",") if s]
        restarts, downtime = [], 0.0
        for n, kind in enumerate(stops, 1):
            time.sleep(max(0.0, began + self.args.seconds * n / (len(stops) + 1) - time.monotonic()))
            down = time.monotonic()
            restarts.append(self.restart(kind, gate, [annotator, *clients], first=n == 1))
            downtime += time.monotonic() - down
        for client in clients:
            client.join(self.args.seconds + 900)
        seconds = time.monotonic() - began
        self.results["load"] = {"clients": self.args.clients, "seconds": round(seconds, 1),
                                "downtime_seconds": round(downtime, 1), "restarts": restarts,
                                "requests_per_second": round(self.recorder.requests / seconds, 2),
                                "click_latency_ms": self.recorder.latency_ms("click")}
        return clients

    def restart(self, kind: str, gate: ServerGate, clients: list[SoakClient], first: bool) -> dict:
        """Stop the server under load, check the folder, start it again, check that every
        acknowledged change is there (and, the first time, that a second server is refused)."""
        gate.close()
        code = self.server.stop(RESTARTS[kind])
        parked = gate.wait_all_parked(300)
        database = database_problems(self.server.data, clean_stop=False)
        self.server.start()
        report = {"signal": kind, "exit_status": code, "clients_parked": parked,
                  "restart_seconds": self.server.start_seconds[-1]}
        if first:
            self.results["second_server"] = self.server.second_server()
        with self.http() as http:
            lost = state_differences(http, [m for c in clients for m in c.media.values()], [d for c in clients for d in c.deleted])
        report["uncertain_media"] = sum(m.uncertain is not None for c in clients for m in c.media.values())
        self.problems[f"after {kind}: database"] = database
        self.problems[f"after {kind}: acknowledged state"] = lost
        gate.open()
        return report

    def final_checks(self, clients: list[SoakClient]) -> None:
        media = [m for c in clients for m in c.media.values()]
        projects = sorted({m.project_id for m in media} | {c.project_id for c in clients if c.project_id})
        with self.http() as http:
            self.problems["final: acknowledged state"] = state_differences(http, media, [d for c in clients for d in c.deleted])
            served = download_exports(http, projects)
        self.server.stop(signal.SIGTERM)
        self.problems["final: database"] = database_problems(self.server.data, clean_stop=True)
        import masklet

        began = time.monotonic()
        replayed = replayed_exports(self.server.data, masklet.load_model(self.args.model or "masklet-nano"), projects)
        self.problems["exports against a replay of the logs"] = export_differences(served, replayed)
        self.server.start()
        with self.http() as http:
            self.problems["exports after a restart"] = export_differences(served, download_exports(http, projects))
        self.server.stop(signal.SIGTERM)
        self.results["final"] = {"media": len(media), "projects": len(projects), "exports_compared": len(served),
                                 "replay_seconds": round(time.monotonic() - began, 1),
                                 "uncertain_media": sum(m.uncertain is not None for m in media)}

    def run(self) -> bool:
        phases, began = {}, time.monotonic()
        self.server.start()
        try:
            phases["start"] = time.monotonic() - began
            annotator = self.lru_phase()
            phases["lru"] = time.monotonic() - began - sum(phases.values())
            clients = self.load_phase(annotator)
            phases["load"] = time.monotonic() - began - sum(phases.values())
            self.final_checks([annotator, *clients])
            phases["checks"] = time.monotonic() - began - sum(phases.values())
        finally:
            self.results["phase_seconds"] = {k: round(v, 1) for k, v in phases.items()}
            if self.server.process.poll() is None:
                self.server.stop(signal.SIGKILL)
        second = self.results.get("second_server")
        if second is not None and (second["exit_status"] != 2 or "in use by another masklet serve" not in second["output"]):
            self.problems["second server on the folder"] = [f"not refused: {second}"]
        summary = self.recorder.summary()
        self.problems["5xx"] = summary.pop("server_errors")
        self.problems["statuses outside the documented ones"] = summary.pop("violations")
        if any(s["sessions"] is not None and s["sessions"] > self.args.max_sessions for s in self.server.samples):
            self.problems["sessions over --max-sessions"] = ["the server held more sessions than --max-sessions"]
        run_rss = [s["rss_mib"] for s in self.server.samples]
        self.results["memory"] = {"peak_rss_mib": max(self.server.peaks_mib), "peak_rss_mib_per_server_run": self.server.peaks_mib,
                                  "rss_mib_sampled_max": max(run_rss, default=None), "samples": len(run_rss),
                                  "server_start_seconds": self.server.start_seconds}
        self.results["requests"] = summary
        self.results["problems"] = {k: v for k, v in self.problems.items() if v}
        return not self.results["problems"]


def print_summary(results: dict, output: Path) -> None:
    load, memory = results["load"], results["memory"]
    click = load["click_latency_ms"]
    print(f"serve soak: {load['clients']} clients, {load['seconds']} s, {results['requests']['requests']} requests "
          f"({load['requests_per_second']} /s), {len(load['restarts'])} restarts "
          f"({', '.join(r['signal'] for r in load['restarts']) or 'none'}, {load['downtime_seconds']} s down)")
    print(f"  click latency: p50 {click.get('p50')} ms, p99 {click.get('p99')} ms ({click.get('count', 0)} clicks)")
    print(f"  peak RSS: {memory['peak_rss_mib']} MiB; LRU of {results['lru']['max_sessions']} sessions, RSS by media: "
          + ", ".join(f"{r['media']}: {r['rss_mib']}" for r in results["lru"]["rss_by_media"]))
    print(f"  statuses: {results['requests']['statuses']}")
    second = results.get("second_server")
    if second:
        print(f"  second server on the folder: exit {second['exit_status']} after {second['seconds']} s")
    for what, problems in results["problems"].items():
        print(f"  FAILED {what}: {len(problems)}, e.g. {problems[:3]}")
    print(f"  {'passed' if not results['problems'] else 'FAILED'}; results in {output}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="masklet-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    soak = Soak(args, workdir)
    try:
        passed = soak.run()
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results = {"command": " ".join(["tools/soak/run.py", *(argv if argv is not None else sys.argv[1:])]),
               "passed": passed, **soak.results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print_summary(results, args.output)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
