"""The clients' gate: open while the server is meant to be up, closed for a restart. A client
parks at the gate (before its next request, or when its request lost the server) until the
server is back, and the controller waits until every running client has parked."""

from __future__ import annotations

import threading
import time


class ServerGate:
    def __init__(self, clients: int) -> None:
        self._changed = threading.Condition()
        self._up = True
        self._running = clients  # clients that have not finished
        self._parked = 0

    @property
    def up(self) -> bool:
        with self._changed:
            return self._up

    def close(self) -> None:
        with self._changed:
            self._up = False

    def open(self) -> None:
        with self._changed:
            self._up = True
            self._changed.notify_all()

    def park(self) -> None:
        """Wait while the gate is closed."""
        with self._changed:
            if self._up:
                return
            self._parked += 1
            self._changed.notify_all()
            while not self._up:
                self._changed.wait()
            self._parked -= 1

    def leave(self) -> None:
        """A client has finished."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def wait_all_parked(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._parked < self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True
