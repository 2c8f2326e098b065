"""What the soak saw: every request's operation, status and latency, and every violation of what
the API promises (a 5xx, a status outside the operation's expected ones, a lost connection
while the server was meant to be up, a state that differs from the acknowledged one)."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

import numpy as np


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ops: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.statuses_by_op: dict[str, Counter[str]] = defaultdict(Counter)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.violations: list[str] = []
        self.server_errors: list[str] = []

    def request(self, op: str, status: int | str, seconds: float, expected: bool = False) -> None:
        """One request's status ("lost": no answer); a 5xx is an error unless `expected`."""
        with self._lock:
            self.ops[op] += 1
            self.statuses[str(status)] += 1
            self.statuses_by_op[op][str(status)] += 1
            self.latencies[op].append(seconds)
            if isinstance(status, int) and status >= 500 and not expected:
                self.server_errors.append(f"{op}: {status}")

    def violation(self, text: str) -> None:
        with self._lock:
            if len(self.violations) < 200:
                self.violations.append(text)

    @property
    def requests(self) -> int:
        return sum(self.ops.values())

    def latency_ms(self, op: str) -> dict[str, float]:
        values = np.array(self.latencies.get(op, []), float) * 1000
        if not len(values):
            return {}
        return {"count": int(len(values)), "p50": round(float(np.percentile(values, 50)), 1),
                "p99": round(float(np.percentile(values, 99)), 1), "max": round(float(values.max()), 1)}

    def summary(self) -> dict:
        with self._lock:
            return {
                "requests": self.requests,
                "ops": dict(sorted(self.ops.items())),
                "statuses": dict(sorted(self.statuses.items())),
                "statuses_by_op": {op: dict(sorted(c.items())) for op, c in sorted(self.statuses_by_op.items())},
                "latency_ms": {op: self.latency_ms(op) for op in sorted(self.latencies)},
                "server_errors": self.server_errors[:50],
                "violations": list(self.violations),
            }
