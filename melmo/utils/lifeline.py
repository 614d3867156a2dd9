"""Worker processes that die with their parent: a pool initializer (Linux prctl PR_SET_PDEATHSIG).

A ``ProcessPoolExecutor`` worker blocked on its task queue outlives a parent killed with SIGKILL
(no ``finally``, no atexit runs in the parent). ``die_with_parent`` asks the kernel to send the
worker SIGKILL when the thread that forked it exits (prctl(2), PR_SET_PDEATHSIG), and exits at once
if the parent is already gone (the race between fork and prctl). Elsewhere a daemon thread polls
the parent's pid once a second.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Pool ``initializer``: end this process when ``parent_pid`` ends (``initargs=(os.getpid(),)``)."""
    armed = False
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_poll_parent, args=(parent_pid,), daemon=True).start()


def _poll_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)
