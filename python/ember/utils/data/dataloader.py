"""``DataLoader`` with torch's arguments and behaviour: batches from a sampler (or an
iterable dataset) through ``collate_fn``, in the main process or in ``num_workers`` worker
processes (forked, as torch does on Linux).

Workers: each has its own index queue and the dataset as it was at fork; tasks go out round
robin, at most ``prefetch_factor`` per worker ahead, and results are put back in order. Each
worker seeds Ember's generator and ``random`` with ``base_seed + id`` (``base_seed`` drawn from
``generator`` or the global generator), runs Ember's kernels on one thread (as torch sets
``torch.set_num_threads(1)`` in workers), calls ``worker_init_fn(id)``, and can see its
``get_worker_info()``. A worker's exception is re-raised in the main process with its
traceback; a worker that dies is reported within ``_STATUS_CHECK_INTERVAL`` seconds.
"""

import itertools
import multiprocessing as mp
import os
import pickle
import queue
import random
from multiprocessing.reduction import ForkingPickler

from ... import _C
from . import _utils
from ._utils import ExceptionWrapper, WorkerInfo, default_collate, default_convert, get_worker_info  # noqa: F401
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_STATUS_CHECK_INTERVAL = 5.0


class _InfiniteConstantSampler:
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None:
                self._iterator = _MultiProcessIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _MultiProcessIter(self)

    def _shared_seed(self):
        return int(_C.empty((), dtype=_C.int64).random_(generator=self.generator).item())

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        self.__multiprocessing_context = ctx

    def check_worker_number_rationality(self):
        pass


class _Fetcher:
    """Turns one task (a list of indices, one index, or ``None`` for iterable datasets) into
    collated data."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last, iterable):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.iterable = iterable
        self.iterator = iter(dataset) if iterable else None
        self.ended = False

    def fetch(self, index):
        if self.iterable:
            if self.ended:
                raise StopIteration
            if self.auto_collation:
                data = list(itertools.islice(self.iterator, len(index)))
                if not data or (self.drop_last and len(data) < len(index)):
                    self.ended = True
                    raise StopIteration
            else:
                data = next(self.iterator)
            return self.collate_fn(data)
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if getitems is not None else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _BaseIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._iterable = loader._iterable
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = loader._shared_seed()
        self._num_yielded = 0
        self._loader = loader

    def __iter__(self):
        return self

    def _next_index(self):
        return next(self._sampler_iter)

    def __len__(self):
        return len(self._loader)

    def _batch_len(self):
        return self._loader.batch_size


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = _Fetcher(self._dataset, self._auto_collation, self._collate_fn, self._drop_last,
                                 self._iterable)

    def __next__(self):
        index = self._next_index()
        if self._iterable and self._auto_collation:
            index = [None] * self._loader.batch_size
        data = self._fetcher.fetch(index)
        self._num_yielded += 1
        return data


class _IterableEnded:
    def __init__(self, worker_id):
        self.worker_id = worker_id


def _worker_loop(dataset, index_queue, data_queue, done_event, auto_collation, collate_fn, drop_last, iterable,
                 base_seed, init_fn, worker_id, num_workers):
    """One worker: fetch what the index queue names and put the results on the data queue."""
    _C.set_num_threads(1)
    seed = base_seed + worker_id
    random.seed(seed)
    _C.manual_seed(seed)
    _utils._worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = _Fetcher(dataset, auto_collation, collate_fn, drop_last, iterable)
    except Exception:
        init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
    ended = False
    while True:
        try:
            task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
        except queue.Empty:
            if done_event.is_set() or os.getppid() == 1:
                break
            continue
        if task is None:
            break
        if isinstance(task, _ResetTask):
            fetcher = _Fetcher(dataset, auto_collation, collate_fn, drop_last, iterable)
            ended = False
            continue
        idx, index = task
        if init_error is not None:
            data, init_error = init_error, None
        elif ended:
            data = _IterableEnded(worker_id)
        else:
            try:
                data = fetcher.fetch(index)
            except StopIteration:
                ended = True
                data = _IterableEnded(worker_id)
            except Exception:
                data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        try:
            # Pickled here, not in the queue's feeder thread, so that an unpicklable batch is an
            # error the main process sees instead of a batch that never arrives.
            payload = ForkingPickler.dumps(data)
        except Exception:
            payload = ForkingPickler.dumps(ExceptionWrapper(where=f"in DataLoader worker process {worker_id}"))
        data_queue.put((idx, bytes(payload)))
    # Shutting down: the main process reads nothing more, so the worker must not wait at exit for
    # its queue's feeder thread to push prefetched batches into a full pipe (it would sit there
    # until the main process gives up joining it and terminates it, 5 s per worker).
    data_queue.cancel_join_thread()
    data_queue.close()


class _ResetTask:
    """Tells a persistent worker to start a new epoch (a fresh iterator over its dataset)."""


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        ctx = loader.multiprocessing_context or mp.get_context("fork" if "fork" in mp.get_all_start_methods()
                                                               else None)
        self._data_queue = ctx.Queue()
        self._done = ctx.Event()
        self._index_queues = []
        self._workers = []
        for i in range(self._num_workers):
            iq = ctx.Queue()
            w = ctx.Process(target=_worker_loop, args=(
                self._dataset, iq, self._data_queue, self._done, self._auto_collation, self._collate_fn,
                self._drop_last, self._iterable, self._base_seed, loader.worker_init_fn, i, self._num_workers),
                daemon=True)
            w.start()
            self._index_queues.append(iq)
            self._workers.append(w)
        self._shutdown = False
        self._reset(loader, first=True)

    def _reset(self, loader, first=False):
        if not first:
            self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._tasks_outstanding = 0
        self._active = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first:
            for iq in self._index_queues:
                iq.put(_ResetTask())
        for _ in range(self._prefetch * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        if self._tasks_outstanding >= self._prefetch * self._num_workers:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        if self._iterable and self._auto_collation:
            index = [None] * self._loader.batch_size
        for _ in range(self._num_workers):
            worker = next(self._worker_cycle)
            if self._active[worker]:
                break
        else:
            return
        self._index_queues[worker].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _get_data(self):
        waited = 0.0
        while True:
            try:
                return self._data_queue.get(timeout=min(_STATUS_CHECK_INTERVAL, self._timeout or _STATUS_CHECK_INTERVAL))
            except queue.Empty:
                waited += min(_STATUS_CHECK_INTERVAL, self._timeout or _STATUS_CHECK_INTERVAL)
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown_workers()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited unexpectedly")
                if self._timeout and waited >= self._timeout:
                    self._shutdown_workers()
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._active[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process(data)
            idx, payload = self._get_data()
            data = pickle.loads(payload)
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableEnded):
                self._active[data.worker_id] = False
                self._task_info.pop(idx, None)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
                continue
            self._task_info.pop(idx)
            self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            self._shutdown_workers()
            data.reraise()
        self._num_yielded += 1
        return data

    def _shutdown_workers(self):
        if self._shutdown:
            return
        self._shutdown = True
        self._done.set()
        for iq in self._index_queues:
            try:
                iq.put(None)
            except (OSError, ValueError):
                pass
        for w in self._workers:
            w.join(timeout=_STATUS_CHECK_INTERVAL)
            if w.is_alive():
                w.terminate()
        for q in self._index_queues + [self._data_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
