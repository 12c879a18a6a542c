"""Resource limits for running student code: a time limit and a memory cap (Linux; else no-ops).

Two layers, both documented in the README (Instructors):

* every grading kernel: nbgrader starts it with :func:`install_kernel_guard`
  (``nbgrader_config.py``, ``c.Execute.extra_arguments``). A notebook whose private memory
  grows past ``EBM_COURSE_GRADE_MEMORY_MB`` (default 8192) gets a ``MemoryError`` in the cell
  that asked for it (and that cell's memory back), instead of the OOM killer ending the kernel
  and, with it, the student's whole notebook.
* every hidden check: :func:`limited` runs it within ``EBM_COURSE_CHECK_TIMEOUT_S`` seconds
  (default 60, well below nbgrader's 120 s cell timeout, so the student reads which check hung)
  and ``EBM_COURSE_CHECK_MEMORY_MB`` MiB of memory more than the kernel holds (default 2048).

Memory is capped with ``RLIMIT_DATA`` (private writable memory), not ``RLIMIT_AS``: CUDA reserves
large address ranges it never touches, which an address-space cap would count. Stdlib only: the
kernel imports this module before anything else (``ebm_course.settings`` is stdlib only too).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time

try:
    import resource
except ImportError:  # not Linux / macOS: limits are no-ops
    resource = None

from ebm_course.settings import current  # noqa: E402  (stdlib only, like this module)

MiB = 1 << 20


class CheckTimeout(BaseException):
    """Raised in the checked code when its time is up. A ``BaseException`` (like
    ``KeyboardInterrupt``) so that a student's ``except Exception`` cannot swallow it."""


def check_timeout_s() -> float:
    return current().check_timeout_s


def check_memory_mb() -> float:
    return current().check_memory_mb


def data_usage() -> int | None:
    """This process's private writable memory in bytes (``VmData``), or None where unknown."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _set_data_limit(limit: int | None) -> int | None:
    """Lower the soft ``RLIMIT_DATA`` to ``limit`` bytes (never raise it); return the old soft."""
    if resource is None or limit is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return soft


def _restore_data_limit(soft: int | None) -> None:
    if resource is not None and soft is not None:
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def is_out_of_memory(err: BaseException) -> bool:
    """A failed allocation: Python's ``MemoryError`` or torch's "can't allocate memory"."""
    return isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError) and "can't allocate memory" in str(err))


def _release_then_show(shell, etype, value, tb, tb_offset=None):
    """IPython handler for errors raised in a cell: after a failed allocation, free what the
    failing frames held (their locals: the hog) before the traceback is formatted and kept in
    ``sys.last_traceback``; the kernel needs that memory back to go on (threads, messages)."""
    if is_out_of_memory(value):
        import gc
        import traceback

        traceback.clear_frames(tb)
        gc.collect()
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install_kernel_guard() -> int | None:
    """What every grading kernel runs first (``nbgrader_config.py``): :func:`cap_kernel_memory`
    and, in IPython, the handler that frees a failed cell's memory. Returns the cap in bytes."""
    limit = cap_kernel_memory()
    try:
        shell = get_ipython()  # noqa: F821  (defined inside IPython only)
    except NameError:
        return limit
    shell.set_custom_exc((MemoryError, RuntimeError), _release_then_show)
    return limit


def cap_kernel_memory(limit_mb: float | None = None) -> int | None:
    """Cap this process's private memory at ``limit_mb`` MiB (``EBM_COURSE_GRADE_MEMORY_MB``,
    default 8192; 0 = no cap). Returns the limit in bytes, or None when not capped."""
    if limit_mb is None:
        limit_mb = current().grade_memory_mb
    usage = data_usage()
    if limit_mb <= 0 or usage is None or resource is None:
        return None
    limit = max(int(limit_mb * MiB), usage + 256 * MiB)
    _set_data_limit(limit)
    return limit


@contextlib.contextmanager
def limited(seconds: float | None = None, memory_mb: float | None = None):
    """Run the body within ``seconds`` (``CheckTimeout`` is raised in it when they are up) and
    ``memory_mb`` MiB beyond the memory the process holds now (allocations past it fail with
    ``MemoryError`` / torch's "can't allocate memory"). None or 0 switches a limit off.

    The timer is ``SIGALRM`` (main thread only; elsewhere no time limit). An outer timer that
    would fire sooner (pytest-timeout, an enclosing ``limited``) is left alone; a later one is
    re-armed afterwards with the time it had left.
    """
    old_soft = None
    if memory_mb:
        usage = data_usage()
        if usage is not None:
            old_soft = _set_data_limit(usage + int(memory_mb * MiB))
    timer = False
    if (seconds and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()):
        outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
        if outer_left == 0 or outer_left > seconds:
            def on_alarm(signum, frame):
                raise CheckTimeout(seconds)

            old_handler = signal.signal(signal.SIGALRM, on_alarm)
            # Fires again every second if the first CheckTimeout is swallowed somehow.
            signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
            started, timer = time.monotonic(), True
    try:
        yield
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if outer_left > 0:
                left = outer_left - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
        _restore_data_limit(old_soft)
