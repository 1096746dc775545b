"""``ember.profiler`` and ``ember.autograd.profiler`` against ``torch.profiler``'s documented
behaviour: event names, nesting and self time, grouping, schedules, tables, traces."""

import gzip
import json
import os

import pytest

import ember
from ember.profiler import ProfilerAction, profile, record_function, schedule


def names(events):
    return [e.name for e in events]


def test_forward_ops_and_backward_nodes_are_events():
    x = ember.randn(4, 4, requires_grad=True)
    with profile() as prof:
        y = (x @ x).relu().sum()
        y.backward()
    got = names(prof.events())
    for want in ["aten::matmul", "aten::relu", "aten::sum",
                 "autograd::engine::evaluate_function: SumBackward0",
                 "autograd::engine::evaluate_function: ReluBackward0",
                 "autograd::engine::evaluate_function: MmBackward0",
                 "autograd::engine::evaluate_function: torch::autograd::AccumulateGrad"]:
        assert want in got, (want, got)
    # Backward runs after the forward ops, in the order the engine visits the graph.
    assert got.index("autograd::engine::evaluate_function: SumBackward0") > got.index("aten::sum")
    assert all(e.self_cpu_time_total >= 0 and e.cpu_time_total >= e.self_cpu_time_total for e in prof.events())


def test_module_calls_reach_the_functionals():
    layer = ember.nn.Linear(3, 2)
    with profile() as prof:
        layer(ember.ones(5, 3))
    assert "aten::linear" in names(prof.events())


def test_spans_nest_and_self_time_excludes_children():
    a = ember.ones(64, 64)
    with profile() as prof:
        with record_function("block"):
            for _ in range(3):
                a.add(a)
        a.mul(a)
    events = prof.events()
    block = next(e for e in events if e.name == "block")
    adds = [e for e in events if e.name == "aten::add"]
    assert len(adds) == 3 and all(e.cpu_parent is block for e in adds)
    assert block.cpu_children == adds
    assert block.self_cpu_time_total == pytest.approx(block.cpu_time_total - sum(e.cpu_time_total for e in adds))
    mul = next(e for e in events if e.name == "aten::mul")
    assert mul.cpu_parent is None and mul.time_range.start >= block.time_range.end
    avg = {e.key: e for e in prof.key_averages()}
    assert avg["aten::add"].count == 3
    assert avg["aten::add"].cpu_time_total == pytest.approx(sum(e.cpu_time_total for e in adds))
    assert avg["aten::add"].cpu_time == pytest.approx(avg["aten::add"].cpu_time_total / 3)
    assert avg["block"].is_user_annotation


def test_nothing_is_recorded_or_patched_outside_a_profile():
    before = {k: v for k, v in vars(ember.Tensor).items()}
    add, linear = ember.add, ember.nn.functional.linear
    with profile():
        assert ember.add is not add  # timed while recording
    assert ember.add is add and ember.nn.functional.linear is linear
    assert all(vars(ember.Tensor)[k] is v for k, v in before.items())
    with pytest.raises(ValueError):
        with profile():
            raise ValueError("inside")
    assert ember.add is add and vars(ember.Tensor)["__add__"] is before["__add__"]
    with record_function("idle"):  # no profiler: a no-op
        ember.ones(2) + 1


def test_one_profile_at_a_time():
    with profile():
        with pytest.raises(RuntimeError, match="already enabled"):
            with profile():
                pass


def test_input_shapes_and_grouping():
    a, b = ember.ones(2, 3), ember.ones(3, 4)
    with profile(record_shapes=True) as prof:
        a @ b
        b.t() @ a.t()
    mms = [e for e in prof.events() if e.name == "aten::matmul"]
    assert [e.input_shapes for e in mms] == [[[2, 3], [3, 4]], [[4, 3], [3, 2]]]
    assert [e.count for e in prof.key_averages() if e.key == "aten::matmul"] == [2]
    grouped = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == "aten::matmul"]
    assert sorted(str(e.input_shapes) for e in grouped) == ["[[2, 3], [3, 4]]", "[[4, 3], [3, 2]]"]
    assert "Input Shapes" in prof.key_averages(group_by_input_shape=True).table()


def test_schedule_actions():
    fn = schedule(wait=1, warmup=1, active=2, repeat=1, skip_first=1)
    A = ProfilerAction
    assert [fn(i) for i in range(7)] == [A.NONE, A.NONE, A.WARMUP, A.RECORD, A.RECORD_AND_SAVE, A.NONE, A.NONE]
    fn = schedule(wait=0, warmup=1, active=1)
    assert [fn(i) for i in range(4)] == [A.WARMUP, A.RECORD_AND_SAVE, A.WARMUP, A.RECORD_AND_SAVE]
    with pytest.raises(AssertionError, match="active=0"):
        schedule(wait=1, warmup=1, active=0)


def test_scheduled_profile_records_the_active_steps():
    traces = []
    x = ember.ones(8)
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=1),
                 on_trace_ready=lambda p: traces.append(names(p.events()))) as prof:
        for step in range(6):
            with record_function(f"work{step}"):
                x.exp()
            prof.step()
    assert len(traces) == 1
    steps = [n for n in traces[0] if n.startswith("ProfilerStep#")]
    work = [n for n in traces[0] if n.startswith("work")]
    assert steps == ["ProfilerStep#2", "ProfilerStep#3"] and work == ["work2", "work3"]
    assert traces[0].count("aten::exp") == 2


def test_table_format():
    a = ember.ones(32, 32)
    with profile() as prof:
        for _ in range(2):
            a @ a
        a.sum()
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)
    lines = table.splitlines()
    assert lines[0].startswith("---") and lines[2].startswith("---")
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total",
                                "CPU", "time", "avg", "#", "of", "Calls"]
    rows = {line.split()[0]: line.split() for line in lines[3:-2]}
    assert rows["aten::matmul"][-1] == "2" and rows["aten::sum"][-1] == "1"
    assert lines[-1].startswith("Self CPU time total: ")
    selfs = [e.self_cpu_time_total for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)]
    assert [r[0] for r in (line.split() for line in lines[3:-2])] == [
        e.key for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)]
    assert selfs == sorted(selfs, reverse=True)
    assert len(prof.key_averages().table(row_limit=1).splitlines()) == 6


def test_chrome_trace_and_trace_handler(tmp_path):
    with profile() as prof:
        ember.ones(4).exp()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    ops = [e for e in trace["traceEvents"] if e["name"] == "aten::exp"]
    assert len(ops) == 1 and ops[0]["ph"] == "X" and ops[0]["dur"] >= 0 and ops[0]["pid"] == os.getpid()
    prof.export_chrome_trace(str(tmp_path / "trace.json.gz"))
    assert json.loads(gzip.decompress((tmp_path / "trace.json.gz").read_bytes()))["traceEvents"]
    out = tmp_path / "tb"
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=1),
                 on_trace_ready=ember.profiler.tensorboard_trace_handler(str(out), worker_name="w0")) as p:
        for _ in range(3):
            ember.ones(2).neg()
            p.step()
    files = os.listdir(out)
    assert len(files) == 1 and files[0].startswith("w0.") and files[0].endswith(".pt.trace.json")


def test_stacks(tmp_path):
    with profile(with_stack=True) as prof:
        ember.ones(3).abs()
    ev = next(e for e in prof.events() if e.name == "aten::abs")
    assert "test_profiler.py" in ev.stack[0] and "test_stacks" in ev.stack[0]
    prof.export_stacks(str(tmp_path / "stacks.txt"))
    line = next(ln for ln in (tmp_path / "stacks.txt").read_text().splitlines() if "aten::abs" in ln)
    stack, value = line.rsplit(" ", 1)
    assert stack.endswith(";aten::abs") and int(value) >= 0


def test_autograd_profiler_interface():
    from ember.autograd import profiler
    with profiler.profile(record_shapes=True) as prof:
        with profiler.record_function("fwd"):
            ember.ones(2, 2).sigmoid()
    assert {"fwd", "aten::sigmoid"} <= set(names(prof.function_events))
    assert "aten::sigmoid" in prof.key_averages().table()
    assert prof.self_cpu_time_total == pytest.approx(sum(e.self_cpu_time_total for e in prof.function_events))
    off = profiler.profile(enabled=False)
    with off:
        ember.ones(2).sigmoid()
    with pytest.raises(RuntimeError, match="didn't finish"):
        off.key_averages()
