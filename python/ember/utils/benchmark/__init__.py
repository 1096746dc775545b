"""``ember.utils.benchmark``, as ``torch.utils.benchmark``: ``Timer`` runs a statement many
times with the thread count pinned (``timeit``, ``blocked_autorange``, ``adaptive_autorange``)
and returns a ``Measurement`` (median, mean, IQR, significant figures, PyTorch's ``repr``);
``Compare`` prints several measurements as a table. ``torch`` in a statement's globals is
Ember. Python statements only (``language="c++"`` and Callgrind need a C++ toolchain and
Valgrind, and raise)."""

import enum
import math
import textwrap
import timeit as _timeit_module
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Timer", "Measurement", "TaskSpec", "Compare", "Language", "select_unit", "trim_sigfig"]

_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.5
_MIN_CONFIDENCE_INTERVAL = 25e-9
_MAX_SIGNIFICANT_FIGURES = 4


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


class _Threads:
    """Pins Ember's intra-op thread count for the duration of a measurement."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import ember
        self.before = ember.get_num_threads()
        ember.set_num_threads(self.n)

    def __exit__(self, *exc):
        import ember
        ember.set_num_threads(self.before)


@dataclass(frozen=True)
class TaskSpec:
    """What was measured: the statement, its setup and the labels it is reported under."""
    stmt: str
    setup: str
    global_setup: str = ""
    label: str = None
    sub_label: str = None
    description: str = None
    env: str = None
    num_threads: int = 1

    @property
    def title(self):
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        if "\n" not in self.stmt:
            return self.stmt + (f": {self.sub_label}" if self.sub_label else "")
        return f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n{textwrap.indent(self.stmt, '  ')}"

    def setup_str(self):
        if self.setup == "pass" or not self.setup:
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self):
        parts = [self.title, self.description or "", self.setup_str()]
        return "\n".join(f"{p}\n" if "\n" in p else p for p in parts if p)


def select_unit(t):
    """(unit, seconds per unit) for a time in seconds: ns, us, ms or s."""
    exponent = int(math.log10(t) // 3) if t > 0 else -3
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(exponent, "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]


def unit_to_english(u):
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[u]


def trim_sigfig(x, n):
    """``x`` rounded to ``n`` significant figures."""
    if x == 0:
        return 0.0
    magnitude = int(math.ceil(math.log10(abs(x))))
    scale = 10 ** (magnitude - n)
    return float(round(x / scale) * scale)


@dataclass
class Measurement:
    """Times of ``number_per_run`` runs each (``raw_times``, seconds) of one ``TaskSpec``."""
    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: dict = None
    _stats: dict = field(default=None, repr=False, compare=False)

    def __getattr__(self, name):
        if name in TaskSpec.__dataclass_fields__:
            return getattr(self.task_spec, name)
        raise AttributeError(name)

    @property
    def times(self):
        """Seconds per run."""
        return [t / self.number_per_run for t in self.raw_times]

    def _lazy(self):
        if self._stats is None:
            times = np.array(sorted(self.times), dtype=np.float64)
            self._stats = {"sorted": tuple(times), "median": float(np.quantile(times, 0.5)),
                           "mean": float(times.mean()), "p25": float(np.quantile(times, 0.25)),
                           "p75": float(np.quantile(times, 0.75))}
        return self._stats

    @property
    def median(self):
        return self._lazy()["median"]

    @property
    def mean(self):
        return self._lazy()["mean"]

    @property
    def iqr(self):
        s = self._lazy()
        return s["p75"] - s["p25"]

    @property
    def significant_figures(self):
        """How many digits of the median the spread of the middle half supports (1 to 4)."""
        s = self._lazy()["sorted"]
        n = len(s)
        middle = np.array(s[n // 4:int(math.ceil(3 * n / 4))])
        ci = max(1.645 * float(middle.std()) / math.sqrt(len(middle)), _MIN_CONFIDENCE_INTERVAL)
        figures = int(math.floor(math.log10(self.median / ci)))
        return min(max(figures, 1), _MAX_SIGNIFICANT_FIGURES)

    def meets_confidence(self, threshold=_IQR_WARN_THRESHOLD):
        return self.iqr / self.median < threshold

    @property
    def _warnings(self):
        if len(self.raw_times) < 4 or self.meets_confidence(_IQR_WARN_THRESHOLD):
            return ()
        gross = not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD)
        msg = ("This suggests significant environmental influence." if gross
               else "This could indicate system fluctuation.")
        return (f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% of the median measurement.\n"
                f"           {msg}",)

    @property
    def has_warnings(self):
        return bool(self._warnings)

    @property
    def title(self):
        return self.task_spec.title

    @property
    def env(self):
        return "Unspecified env" if self.task_spec.env is None else self.task_spec.env

    @property
    def as_row_name(self):
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self):
        s = self._lazy()
        n = len(s["sorted"])
        unit, scale = select_unit(s["median"])
        lines = [f"<{type(self).__module__}.Measurement object at {hex(id(self))}>", self.task_spec.summarize(),
                 f"  {'Median: ' if n > 1 else ''}{s['median'] / scale:.2f} {unit}"]
        if n >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({s['p25'] / scale:.2f} to {s['p75'] / scale:.2f})")
        threads = self.task_spec.num_threads
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
                     f"{'per measurement,' if n > 1 else ','} {threads} thread{'s' if threads > 1 else ''}")
        lines.extend(self._warnings)
        return "\n".join(lines)

    @staticmethod
    def merge(measurements):
        """One measurement per task, of all their per-run times (``number_per_run=1``)."""
        groups = defaultdict(list)
        for m in measurements:
            groups[m.task_spec].append(m)
        return [Measurement(1, [t for m in group for t in m.times], spec) for spec, group in groups.items()]


class Timer:
    """Times ``stmt`` (Python source) after ``setup``, in ``globals`` (``torch`` is Ember unless
    given), with Ember's thread count set to ``num_threads`` while timing."""

    _timer_cls = _timeit_module.Timer

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=_timeit_module.default_timer, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads=1, language=Language.PYTHON):
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("ember.utils.benchmark: C++ statements need a C++ toolchain and are not "
                                      "supported; time a Python statement")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        import ember
        self._globals = dict(globals or {})
        self._globals.setdefault("torch", ember)
        stmt = textwrap.dedent(stmt).strip() or "pass"
        setup = textwrap.dedent(setup).strip() or "pass"
        if global_setup:
            exec(global_setup, self._globals)  # the caller's own source text, as timeit runs it
        self._timer = self._timer_cls(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup, label=label,
                                   sub_label=sub_label, description=description, env=env, num_threads=num_threads)

    def _timeit(self, number):
        return self._timer.timeit(number=max(int(number), 1)) if number > 0 else self._timer.timeit(number=0)

    def timeit(self, number=1000000):
        """One measurement of ``number`` runs (after a warm-up of ``number // 100``)."""
        with _Threads(self._task_spec.num_threads):
            self._timeit(max(int(number // 100), 2))
            return Measurement(number, [self._timeit(number)], self._task_spec)

    def repeat(self, repeat=-1, number=-1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _estimate_block_size(self, min_run_time):
        with _Threads(self._task_spec.num_threads):
            overhead = float(np.median([self._timeit(0) for _ in range(5)]))
            number = 1
            while True:
                time_taken = self._timeit(number)
                if overhead / time_taken <= 1e-4 and time_taken >= min_run_time / 1000:
                    break
                if time_taken > min_run_time or number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def _loop(self, number, stop_hook, min_run_time, max_run_time=None, callback=None):
        total, can_stop, times = 0.0, False, []
        with _Threads(self._task_spec.num_threads):
            while total < min_run_time or not can_stop:
                spent = self._timeit(number)
                times.append(spent)
                total += spent
                if callback:
                    callback(number, spent)
                can_stop = stop_hook(times)
                if max_run_time and total > max_run_time:
                    break
        return times

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Blocks of runs, each long enough that the timer's overhead is negligible, until
        ``min_run_time`` seconds have been measured."""
        number = self._estimate_block_size(min_run_time)
        times = self._loop(number, lambda times: True, min_run_time, callback=callback)
        return Measurement(number, times, self._task_spec)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0, callback=None):
        """Blocks until the IQR is under ``threshold`` of the median (or ``max_run_time``)."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times):
            return len(times) > 3 and Measurement(number, times, self._task_spec).meets_confidence(threshold)

        times = self._loop(number, stop_hook, min_run_time, max_run_time, callback=callback)
        return Measurement(number, times, self._task_spec)

    def collect_callgrind(self, *args, **kwargs):
        raise NotImplementedError("ember.utils.benchmark: collect_callgrind needs Valgrind and is not supported")


class Compare:
    """A table of measurements: one block per label, rows by sub-label (and thread count),
    columns by description, medians in one unit."""

    def __init__(self, results):
        self._results = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = False
        self._highlight_warnings = False

    def extend_results(self, results):
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self):
        self._trim_significant_figures = True

    def colorize(self, rowwise=False):
        self._colorize = True

    def highlight_warnings(self):
        self._highlight_warnings = True

    def __str__(self):
        blocks = defaultdict(list)
        for m in Measurement.merge(self._results):
            blocks[m.label].append(m)
        return "\n".join(self._block(label, ms) for label, ms in blocks.items())

    def print(self):
        print(str(self))

    def _block(self, label, measurements):
        unit, scale = select_unit(min(m.median for m in measurements))
        columns = list(dict.fromkeys(m.description for m in measurements))
        rows = list(dict.fromkeys((m.num_threads, m.as_row_name) for m in measurements))
        cell = {(m.num_threads, m.as_row_name, m.description): m for m in measurements}

        def fmt(m):
            if m is None:
                return ""
            value = m.median / scale
            if self._trim_significant_figures:
                value = trim_sigfig(value, m.significant_figures)
            text = f"{value:.1f}"
            if self._highlight_warnings and m.has_warnings:
                text += " (! {:.0f}%)".format(m.iqr / m.median * 100)
            return text

        names = [name for _, name in rows]
        name_width = max([len(n) for n in names] + [12]) + 2
        headers = [c or "" for c in columns]
        widths = [max(len(h), 8) + 2 for h in headers]
        title = " " + (label or "") + " "
        out = ["[" + title.center(name_width + sum(w + 1 for w in widths), "-") + "]"]
        out.append(" " * name_width + "|" + "|".join(f"{h:^{w}}" for h, w in zip(headers, widths)))
        last_threads = None
        for threads, name in rows:
            if threads != last_threads:
                out.append(f"{threads} threads: " + "-" * (name_width + sum(w + 1 for w in widths) - 12))
                last_threads = threads
            values = [fmt(cell.get((threads, name, c))) for c in columns]
            out.append(f"{name:>{name_width}}|" + "|".join(f"{v:^{w}}" for v, w in zip(values, widths)))
        out.append("")
        out.append(f"Times are in {unit_to_english(unit)}s ({unit}).")
        return "\n".join(out) + "\n"
