"""Profiler results with PyTorch's classes and output: ``FunctionEvent`` (one span, with its
children and self time), ``FunctionEventAvg`` (events grouped by name), and ``EventList``
(``table()``, ``key_averages()``, ``export_chrome_trace()``), formatted as
``torch.autograd.profiler_util`` formats them."""

import gzip
import json
import os


class Interval:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        return self.end - self.start


class _Stats:
    """Zero device and memory figures: a CPU-only profile has none, and memory is not
    recorded."""
    device_time_total = self_device_time_total = 0
    cuda_time_total = self_cuda_time_total = 0
    cpu_memory_usage = self_cpu_memory_usage = 0
    device_memory_usage = self_device_memory_usage = 0
    cuda_memory_usage = self_cuda_memory_usage = 0
    flops = 0
    node_id = -1
    is_async = False
    is_remote = False
    is_legacy = False
    use_device = None
    overload_name = ""
    scope = 0
    device_type = "CPU"

    @property
    def device_time(self):
        return 0.0

    cuda_time = device_time

    @property
    def cpu_time_total_str(self):
        return _format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self):
        return _format_time(self.self_cpu_time_total)

    @property
    def cpu_time_str(self):
        return _format_time(self.cpu_time)


class FunctionEvent(_Stats):
    """One recorded span; times in microseconds."""

    def __init__(self, id, name, thread, start_us, end_us, input_shapes=None, stack=None,
                 is_user_annotation=False):
        self.id = id
        self.name = name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes or []
        self.stack = stack or []
        self.is_user_annotation = is_user_annotation
        self.cpu_children = []
        self.cpu_parent = None
        self.count = 1

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self):
        return self.cpu_time_total

    def append_cpu_child(self, child):
        self.cpu_children.append(child)

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={self.cpu_time_total_str} "
                f"start_us={self.time_range.start:.3f} end_us={self.time_range.end:.3f} "
                f"cpu_children={[c.id for c in self.cpu_children]} input_shapes={self.input_shapes}>")


class FunctionEventAvg(_Stats):
    """Events that share a key (a name, plus the input shapes or stack if grouped by them)."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes = None
        self.stack = None
        self.cpu_parent = None
        self.cpu_children = None
        self.is_user_annotation = False

    def add(self, other):
        if self.key is None:
            self.key = other.key
            self.input_shapes = other.input_shapes
            self.stack = other.stack
            self.cpu_parent = other.cpu_parent
            self.cpu_children = other.cpu_children
            self.is_user_annotation = other.is_user_annotation
        elif other.key != self.key:
            raise AssertionError(f"Expected keys to match, but got {self.key} and {other.key}")
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        return self

    def __iadd__(self, other):
        return self.add(other)

    @property
    def cpu_time(self):
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str} input_shapes={self.input_shapes}>")


def _format_time(time_us):
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_time_share(time_us, total_time_us):
    if total_time_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_time_us:.2f}%"


def _override_time_unit(time_us, default, unit):
    return {"s": f"{time_us / 1e6:.3f}s", "ms": f"{time_us / 1e3:.3f}ms", "us": f"{time_us:.3f}us"}.get(unit, default)


def build_events(spans, t0_ns):
    """``FunctionEvent``s from recorder spans, nested per thread (a span inside another's time
    on the same thread is its child), ordered by start."""
    ordered = sorted(spans, key=lambda s: (s[3], s[1], -s[2]))
    events, stacks = [], {}
    for i, (name, start, end, tid, shapes, stack, annotation) in enumerate(ordered):
        ev = FunctionEvent(i + 1, name, tid, (start - t0_ns) / 1e3, (end - t0_ns) / 1e3, shapes, stack, annotation)
        open_spans = stacks.setdefault(tid, [])
        while open_spans and open_spans[-1].time_range.end <= ev.time_range.start:
            open_spans.pop()
        if open_spans and ev.time_range.end <= open_spans[-1].time_range.end:
            ev.cpu_parent = open_spans[-1]
            open_spans[-1].append_cpu_child(ev)
        open_spans.append(ev)
        events.append(ev)
    events.sort(key=lambda e: (e.time_range.start, -e.time_range.end))
    return EventList(events)


class EventList(list):
    """A list of events with PyTorch's summaries."""

    def __init__(self, *args, use_device=None, profile_memory=False, with_flops=False):
        super().__init__(*args)
        self._use_device = use_device
        self._profile_memory = profile_memory
        self._with_flops = with_flops

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0, group_by_overload_name=False):
        """Events grouped by name (and input shapes, and the innermost ``group_by_stack_n`` stack
        frames, if asked), in order of first appearance."""
        stats = {}
        for ev in self:
            key = (ev.key, str(ev.input_shapes) if group_by_input_shapes else None,
                   tuple(ev.stack[:group_by_stack_n]) if group_by_stack_n > 0 else None)
            stats.setdefault(key, FunctionEventAvg()).add(ev)
        return EventList(stats.values(), use_device=self._use_device, profile_memory=self._profile_memory,
                         with_flops=self._with_flops)

    def total_average(self):
        total = FunctionEventAvg()
        for ev in self:
            total.count += ev.count
            total.cpu_time_total += ev.cpu_time_total
            total.self_cpu_time_total += ev.self_cpu_time_total
        total.key = "Total"
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None):
        """The events as PyTorch's profiler prints them: name, self and total CPU time (and
        their shares of the total self time), average, number of calls, input shapes when
        recorded, source locations when recorded."""
        return _build_table(self, sort_by, header, row_limit, max_src_column_width, max_name_column_width,
                            max_shapes_column_width, top_level_events_only, time_unit)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        """Writes the events as a Chrome trace (``chrome://tracing``, Perfetto, TensorBoard's
        profiler); gzipped when ``path`` ends in ``.gz``."""
        pid = os.getpid()
        trace = []
        for ev in self:
            args = {"External id": ev.id}
            if ev.input_shapes:
                args["Input Dims"] = ev.input_shapes
            trace.append({"ph": "X", "cat": "user_annotation" if ev.is_user_annotation else "cpu_op",
                          "name": ev.name, "pid": pid, "tid": ev.thread, "ts": ev.time_range.start,
                          "dur": ev.cpu_time_total, "args": args})
        body = json.dumps({"schemaVersion": 1, "deviceProperties": [], "traceEvents": trace,
                           "displayTimeUnit": "ms"}).encode("utf-8")
        opener = gzip.open if str(path).endswith(".gz") else open
        tmp = f"{path}.tmp{os.getpid()}"
        with opener(tmp, "wb") as f:
            f.write(body)
        os.replace(tmp, path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """Collapsed stacks (``outer;...;inner;op value``, flame-graph input) of the events that
        recorded a stack (``with_stack=True``)."""
        lines = []
        for ev in self:
            if ev.stack:
                value = int(getattr(ev, metric.replace("cuda", "device")))
                lines.append(";".join(list(reversed(ev.stack)) + [ev.name]) + f" {value}\n")
        with open(path, "w") as f:
            f.writelines(lines)


def _build_table(events, sort_by, header, row_limit, max_src_column_width, max_name_column_width,
                 max_shapes_column_width, top_level_events_only, time_unit):
    if len(events) == 0:
        return ""
    has_input_shapes = any(ev.input_shapes for ev in events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        events = sorted(events, key=lambda ev: getattr(ev, attr), reverse=True)
    name_width = max(len(ev.key) for ev in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(ev.input_shapes)) for ev in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)
    stacks = [ev.stack for ev in events if ev.stack]
    src_width = None
    if stacks:
        src_width = max(max(len(entry) for entry in stack) for stack in stacks) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)

    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
    spacing = 2
    fmt, sep, line_length = "", "", -spacing

    def add_column(width, align=">"):
        nonlocal fmt, sep, line_length
        fmt += "{: " + align + str(width) + "}" + " " * spacing
        sep += "-" * width + " " * spacing
        line_length += width + spacing

    add_column(name_width)
    for _ in headers[1:]:
        add_column(12)
    if has_input_shapes:
        headers.append("Input Shapes")
        add_column(shapes_width)
    if stacks:
        headers.append("Source Location")
        add_column(src_width, "<")

    def trim_path(path):
        if len(path) > src_width:
            path = path[len(path) - src_width:]
            if len(path) > 3:
                path = "..." + path[3:]
        return path

    total = sum(ev.self_cpu_time_total for ev in events)
    out = []
    if header is not None:
        out += ["=" * line_length, header]
    if top_level_events_only:
        out += ["=" * line_length, "This report only display top-level ops statistics"]
    out += [sep, fmt.format(*headers), sep]
    shown = 0
    for ev in events:
        if shown == row_limit:
            break
        if top_level_events_only and ev.cpu_parent is not None:
            continue
        shown += 1
        name = ev.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        row = [name, _format_time_share(ev.self_cpu_time_total, total),
               _override_time_unit(ev.self_cpu_time_total, ev.self_cpu_time_total_str, time_unit),
               _format_time_share(ev.cpu_time_total, total),
               _override_time_unit(ev.cpu_time_total, ev.cpu_time_total_str, time_unit),
               _override_time_unit(ev.cpu_time, ev.cpu_time_str, time_unit), ev.count]
        if has_input_shapes:
            row.append(str(ev.input_shapes)[:shapes_width])
        if stacks:
            row.append(trim_path(ev.stack[0]) if ev.stack else "")
        out.append(fmt.format(*row))
        if stacks:
            blank = [""] * (len(headers) - 1)
            for entry in (ev.stack or [])[1:]:
                out.append(fmt.format(*(blank + [trim_path(entry)])))
            out.append(fmt.format(*([""] * len(headers))))
    out.append(sep)
    out.append(f"Self CPU time total: {_override_time_unit(total, _format_time(total), time_unit)}")
    return "\n".join(out) + "\n"
