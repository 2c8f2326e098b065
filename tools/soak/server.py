"""`masklet serve` as a child process on a loopback port, with its memory sampled: resident
set size now (VmRSS) and at its peak (VmHWM) from /proc/PID/status, each sample with the
number of sessions the server holds (/api/stats)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
KIB = 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kib(pid: int) -> dict[str, int]:
    """{"VmRSS": ..., "VmHWM": ...} of a running process, in KiB ({} once it has gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = (line.split() for line in lines if line.startswith(("VmRSS:", "VmHWM:")))
    return {f[0].rstrip(":"): int(f[1]) for f in fields}


def serve_command(data: Path, port: int, token: str, options: list[str]) -> list[str]:
    return [sys.executable, "-m", "masklet.cli", "serve", "--data", str(data), "--port", str(port), "--token", token,
            *options]


class ServeProcess:
    """One `masklet serve` at a time on a fixed port and data folder: start, stop (SIGTERM or
    SIGKILL), start again; a sampler thread records its memory every `sample_s`."""

    def __init__(self, data: Path, token: str, options: list[str], log: Path, sample_s: float = 0.5) -> None:
        self.data, self.token, self.options, self.log_path = data, token, options, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.samples: list[dict] = []  # {"t", "pid", "rss_mib", "sessions"}
        self.peaks_mib: list[float] = []  # VmHWM of each process run, once it stopped
        self.start_seconds: list[float] = []
        self._peak_kib = 0
        self._sample_s = sample_s
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None
        self._t0 = time.monotonic()

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))

    def start(self, timeout: float = 180) -> None:
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(serve_command(self.data, self.port, self.token, self.options), env=self.env(),
                                            stdout=log, stderr=subprocess.STDOUT)
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"masklet serve exited with {self.process.returncode}: see {self.log_path}")
                try:
                    if http.get("/api/info").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - began > timeout:
                    raise RuntimeError(f"masklet serve did not answer in {timeout} s: see {self.log_path}")
                time.sleep(0.2)
        self.start_seconds.append(round(time.monotonic() - began, 1))
        self._peak_kib = 0
        self._stop_sampling.clear()
        self._sampler = threading.Thread(target=self._sample, args=(self.process.pid,), daemon=True)
        self._sampler.start()

    def _sample(self, pid: int) -> None:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10) as http:
            while not self._stop_sampling.wait(self._sample_s):
                memory = memory_kib(pid)
                if not memory:
                    return
                self._peak_kib = max(self._peak_kib, memory.get("VmHWM", 0))
                try:
                    sessions = http.get("/api/stats").json()["sessions"]
                except (httpx.HTTPError, ValueError, KeyError):
                    sessions = None
                self.samples.append({"t": round(time.monotonic() - self._t0, 1), "pid": pid,
                                     "rss_mib": round(memory["VmRSS"] / KIB, 1), "sessions": sessions})

    def rss_mib(self) -> float:
        return memory_kib(self.process.pid).get("VmRSS", 0) / KIB

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send `sig` and wait for the process to end; returns its exit status."""
        self._peak_kib = max(self._peak_kib, memory_kib(self.process.pid).get("VmHWM", 0))
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout)
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join(10)
        self.peaks_mib.append(round(self._peak_kib / KIB, 1))
        return code

    def second_server(self, timeout: float = 120) -> dict:
        """Start another `masklet serve` on the same data folder (another port): it must be
        refused; returns its exit status, how long it took and what it said."""
        began = time.monotonic()
        try:
            done = subprocess.run(serve_command(self.data, free_port(), self.token, self.options), env=self.env(),
                                  capture_output=True, text=True, timeout=timeout)
            code, said = done.returncode, (done.stdout + done.stderr).strip()
        except subprocess.TimeoutExpired:
            code, said = None, f"still running after {timeout} s (it was not refused)"
        return {"exit_status": code, "seconds": round(time.monotonic() - began, 1), "output": said[-500:]}
