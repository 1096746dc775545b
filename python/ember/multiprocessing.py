"""``ember.multiprocessing``: Python's ``multiprocessing`` (tensors pickle by value) plus torch's
``spawn(fn, args, nprocs)``, which runs ``fn(rank, *args)`` in ``nprocs`` processes and raises
if one fails."""

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403


class ProcessRaisedException(Exception):
    pass


class ProcessExitedException(Exception):
    pass


def _wrap(fn, i, args, error_queue):
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:  # noqa: BLE001 - reported to the parent
        import traceback
        error_queue.put(traceback.format_exc())
        raise SystemExit(1)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    ctx = _mp.get_context(start_method)
    error_queue = ctx.SimpleQueue()
    procs = []
    for i in range(nprocs):
        p = ctx.Process(target=_wrap, args=(fn, i, args, error_queue), daemon=daemon)
        p.start()
        procs.append(p)
    if not join:
        return procs
    for p in procs:
        p.join()
    if not error_queue.empty():
        raise ProcessRaisedException(error_queue.get())
    bad = [p for p in procs if p.exitcode != 0]
    if bad:
        raise ProcessExitedException(f"process {procs.index(bad[0])} terminated with exit code {bad[0].exitcode}")
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    return start_processes(fn, args, nprocs, join, daemon, start_method)
