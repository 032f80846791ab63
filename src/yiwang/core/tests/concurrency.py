"""The thread-race harness of the concurrency tests: start functions at one moment on their own connections."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connections


def run_together(functions: Sequence[Callable[[], object]], *, timeout: float = 120) -> list:
    """Run every function in its own thread, all released at once by a barrier, each on its own
    database connection (closed afterwards). Return each one's result, or the exception it raised,
    in the order given; a thread still running after ``timeout`` seconds leaves ``None``."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def work(index: int, function: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # handed back to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
