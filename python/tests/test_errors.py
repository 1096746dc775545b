"""Errors become the exception types PyTorch raises, each naming the Python line that made the
call; bad argument types are TypeErrors; a Rust panic is an exception, not a crash."""

import inspect
import subprocess
import sys

import pytest

import ember


def here():
    """`file:line` of the caller's next line (where the failing call is)."""
    f = inspect.currentframe().f_back
    return f"{f.f_code.co_filename}:{f.f_lineno + 1}"


@pytest.mark.parametrize("kind, call", [
    (RuntimeError, lambda: ember.ones(2, 3) + ember.ones(4)),
    (RuntimeError, lambda: ember.ones(2, 3) @ ember.ones(2, 3)),
    (RuntimeError, lambda: ember.ones(2, 3).view(4)),
    (RuntimeError, lambda: ember.tensor([1, 2]).requires_grad_()),
    (IndexError, lambda: ember.ones(2, 3).sum(5)),
    (IndexError, lambda: ember.ones(2, 3)[7]),
    (IndexError, lambda: ember.ones(2).gather(0, ember.tensor([5]))),
    (TypeError, lambda: ember.ones(2).reshape("a")),
    (TypeError, lambda: ember.zeros("a")),
    (TypeError, lambda: ember.tensor(object())),
    (TypeError, lambda: ember.ones(2).sum(dim=1.5)),
    (TypeError, lambda: ember.ones(2) + "a"),
    (ValueError, lambda: ember.tensor([[1, 2], [3]])),
    (ValueError, lambda: ember.cat([])),
    (NotImplementedError, lambda: ember.tensor([1, 2]).mean()),
])
def test_exception_types(kind, call):
    with pytest.raises(kind):
        call()


def test_message_names_the_python_line_for_every_family():
    cases = []
    try:
        where = here()
        ember.ones(2, 3) + ember.ones(4)
    except RuntimeError as e:
        cases.append((where, str(e)))
    try:
        where = here()
        ember.ones(2, 3).sum(9)
    except IndexError as e:
        cases.append((where, str(e)))
    try:
        where = here()
        ember.ones(2).index_select(0, ember.tensor([3]))
    except IndexError as e:
        cases.append((where, str(e)))
    try:
        where = here()
        ember.ones(2).to(dtype="x")
    except TypeError as e:
        cases.append((where, str(e)))
    try:
        where = here()
        ember.ones(2, requires_grad=True).add_(1)
    except RuntimeError as e:
        cases.append((where, str(e)))
    assert len(cases) == 5
    for where, msg in cases:
        assert where in msg, (where, msg)
        assert ".rs:" not in msg, msg


def test_error_inside_backward_names_the_backward_call():
    x = ember.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time") as e:
        where = here()
        y.backward()
    assert where in str(e.value)


def test_hook_exception_propagates_unchanged():
    x = ember.ones(2, requires_grad=True)
    y = x * 2

    def bad(g):
        raise KeyError("from the hook")

    y.register_hook(bad)
    with pytest.raises(KeyError, match="from the hook"):
        y.sum().backward()


def test_panic_becomes_an_exception_not_a_crash():
    # In-process: the interpreter survives and the next call works.
    with pytest.raises(BaseException, match="deliberate panic") as e:
        ember._C._panic_for_tests()
    assert type(e.value).__name__ == "PanicException"
    assert (ember.ones(2) + 1).tolist() == [2.0, 2.0]


def test_panic_in_a_child_interpreter_exits_cleanly():
    code = ("import ember\ntry:\n    ember._C._panic_for_tests()\nexcept BaseException as e:\n"
            "    print('caught', type(e).__name__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "caught PanicException" in r.stdout, r.stderr


def test_huge_allocation_is_an_error():
    with pytest.raises(RuntimeError):
        ember.zeros(1 << 40, 1 << 30)
