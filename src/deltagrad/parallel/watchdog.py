"""The watchdog that ends an MPI job when a collective waits past its deadline."""

from __future__ import annotations

import sys
import threading
import time

TIMEOUT_EXIT_CODE = 75  # the job's exit status when a collective times out (EX_TEMPFAIL)
_TICK = 0.05  # seconds between the watchdog's looks at the clock while armed


class Watchdog:
    """A daemon thread that ends the job when a collective overruns its deadline.

    MPI's collectives block until every rank has joined them, forever if one has died; and
    a thread blocked inside MPI cannot be interrupted. So the caller arms the watchdog before
    a collective and disarms it after; if the deadline passes while armed, this thread prints
    which collective timed out and calls ``MPI_Abort``, which ends every rank.

    Args:
        comm: the communicator to abort.
        rank, world_size: for the message.
    """

    def __init__(self, comm, rank: int, world_size: int):
        self._comm, self._rank, self._world_size = comm, rank, world_size
        self._armed: tuple[float, str, float] | None = None  # (deadline, what, timeout)
        self._stopped = False
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="deltagrad-watchdog", daemon=True).start()

    def arm(self, what: str, timeout: float) -> None:
        """Abort the job unless ``disarm`` is called within ``timeout`` seconds."""
        self._armed = (time.monotonic() + timeout, what, timeout)
        self._wake.set()

    def disarm(self) -> None:
        self._armed = None

    def stop(self) -> None:
        """End the thread (the communicator is about to be freed)."""
        self._armed, self._stopped = None, True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            armed = self._armed
            if armed is None:
                self._wake.wait()
                self._wake.clear()
                continue
            deadline, what, timeout = armed
            remaining = deadline - time.monotonic()
            if remaining > 0:
                time.sleep(min(remaining, _TICK))
            elif self._armed is armed:
                sys.stderr.write(
                    f"deltagrad.parallel: rank {self._rank} of {self._world_size}: {what} "
                    f"did not complete within {timeout:g} s: another rank has died, hung or "
                    "stopped calling the same collectives; aborting the job\n")
                sys.stderr.flush()
                self._comm.Abort(TIMEOUT_EXIT_CODE)
