"""``ember.utils.benchmark``: Timer runs and thread pinning, Measurement statistics against
their definitions, the repr and Compare's table."""

import numpy as np
import pytest

import ember
from ember.utils import benchmark


def test_timer_measures_with_pinned_threads():
    seen = []
    before = ember.get_num_threads()
    t = benchmark.Timer("seen.append(torch.get_num_threads())", globals={"seen": seen}, num_threads=1)
    m = t.timeit(number=50)
    assert m.number_per_run == 50 and len(m.raw_times) == 1 and m.times[0] == m.raw_times[0] / 50
    assert set(seen) == {1} and len(seen) == 50 + 2  # the runs and a warm-up of max(50 // 100, 2)
    assert ember.get_num_threads() == before
    assert t.blocked_autorange(min_run_time=0.02).number_per_run >= 1


def test_blocked_autorange_covers_min_run_time():
    x = ember.ones(8)
    m = benchmark.Timer("x + x", globals={"x": x}).blocked_autorange(min_run_time=0.05)
    assert sum(m.raw_times) >= 0.05 and m.number_per_run >= 10
    m = benchmark.Timer("x.exp()", globals={"x": x}).adaptive_autorange(threshold=0.5, max_run_time=0.5)
    assert len(m.raw_times) >= 4 or sum(m.raw_times) > 0.5


def spec():
    return benchmark.TaskSpec(stmt="f()", setup="pass", label="lbl", sub_label="row", description="col")


def test_measurement_statistics():
    raw = [4.0, 1.0, 3.0, 2.0, 10.0]
    m = benchmark.Measurement(2, raw, spec())
    times = np.array(raw) / 2
    assert m.median == np.quantile(times, 0.5) and m.mean == times.mean()
    assert m.iqr == np.quantile(times, 0.75) - np.quantile(times, 0.25)
    assert 1 <= m.significant_figures <= 4
    assert m.has_warnings  # IQR 1.0 of a median 1.5
    assert not m.meets_confidence(0.1) and m.meets_confidence(1.0)
    text = repr(m)
    assert "lbl: row" in text and "Median: 1.50 s" in text and "IQR:    1.00 s (1.00 to 2.00)" in text
    assert "5 measurements, 2 runs per measurement, 1 thread" in text and "WARNING: Interquartile" in text
    merged = benchmark.Measurement.merge([m, benchmark.Measurement(1, [7.0], spec())])
    assert len(merged) == 1 and merged[0].number_per_run == 1 and sorted(merged[0].times) == sorted(list(times) + [7.0])
    assert m.label == "lbl" and m.as_row_name == "row"


def test_select_unit_and_trim():
    assert benchmark.select_unit(3e-6) == ("us", 1e-6)
    assert benchmark.select_unit(2.5e-9) == ("ns", 1e-9)
    assert benchmark.select_unit(0.25) == ("ms", 1e-3)
    assert benchmark.select_unit(12.0) == ("s", 1)
    assert benchmark.trim_sigfig(123.456, 2) == 120.0


def test_compare_table():
    a = benchmark.Measurement(1, [2e-6, 2e-6, 2e-6, 2e-6], spec())
    b = benchmark.Measurement(1, [4e-6] * 4, benchmark.TaskSpec("g()", "pass", label="lbl", sub_label="row",
                                                             description="other"))
    text = str(benchmark.Compare([a, b]))
    assert "lbl" in text and "col" in text and "other" in text and "Times are in microseconds (us)." in text
    row = next(line for line in text.splitlines() if line.strip().startswith("row"))
    assert "2.0" in row and "4.0" in row
    with pytest.raises(ValueError, match="Measurement"):
        benchmark.Compare([1.0])


def test_unsupported_languages():
    with pytest.raises(NotImplementedError, match="C\\+\\+"):
        benchmark.Timer("x", language="c++")
    with pytest.raises(ValueError, match="str"):
        benchmark.Timer(lambda: 1)
