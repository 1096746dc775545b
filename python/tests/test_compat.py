"""What PyTorch scripts probe and how they run unmodified: `python -m ember.compat`, torch
module paths, accelerator/cuda/backends answers of a CPU-only torch, legacy constructors,
finfo/iinfo, real optimizer signatures, and the error naming a missing torch API."""

import inspect
import subprocess
import sys
import textwrap

import pytest

import ember as torch

SCRIPT = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.dataloader import default_collate
    from torch.nn.utils.rnn import pad_sequence
    import torch.nn.modules.batchnorm
    use_accel = torch.accelerator.is_available()
    device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)).to(device)
    opt = optim.SGD(model.parameters(), lr=0.5)
    sched = StepLR(opt, 10)
    for _ in range(30):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True):
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        sched.step()
    acc = (model(x).argmax(1) == y).float().mean().item()
    print("ACC", acc, torch.__name__, torch.nn is sys.modules["torch.nn"])
''')


def run_compat(tmp_path, code, *args):
    script = tmp_path / "script.py"
    script.write_text("import sys\n" + code)
    return subprocess.run([sys.executable, "-m", "ember.compat", str(script), *args], capture_output=True,
                          text=True, timeout=300)


def test_unmodified_script_runs_under_compat(tmp_path):
    r = run_compat(tmp_path, SCRIPT, "--flag")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("ACC"))
    acc, name, same = line.split()[1:]
    assert float(acc) > 0.9 and name == "ember" and same == "True"


def test_missing_torch_module_is_named(tmp_path):
    r = run_compat(tmp_path, "import torch.fx\n")
    assert r.returncode != 0 and "torch.fx" in r.stderr and "Ember does not provide" in r.stderr


def test_missing_torch_attribute_is_named():
    with pytest.raises(AttributeError, match=r"torch\.fft is not provided by Ember"):
        torch.fft


def test_probes_answer_as_cpu_only_torch():
    assert torch.accelerator.is_available() is False and torch.accelerator.current_accelerator() is None
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    torch.cuda.manual_seed_all(1)
    assert torch.backends.mps.is_available() is False and torch.backends.cudnn.is_available() is False
    torch.backends.cudnn.benchmark = True
    assert torch.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT")
    x = torch.zeros(2)
    assert x.is_cuda is False and x.device.type == "cpu" and torch.device("cpu").type == "cpu"
    assert x.to(torch.device("cpu")) is x
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        torch.cuda.current_device()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = torch.ones(2) * 2
    assert y.tolist() == [2.0, 2.0]
    scaler = torch.amp.GradScaler()
    assert scaler.scale(y) is y
    assert torch.compile(torch.nn.Linear(1, 1)).__class__ is torch.nn.Linear


def test_legacy_constructors_and_type_checks():
    x = torch.LongTensor([1, 2])
    assert x.dtype == torch.int64 and isinstance(x, torch.LongTensor) and not isinstance(x, torch.FloatTensor)
    assert torch.FloatTensor(2, 3).shape == torch.Size([2, 3]) and torch.FloatTensor([1]).dtype == torch.float32
    assert torch.ByteTensor([1]).dtype == torch.uint8


def test_finfo_iinfo():
    assert torch.finfo(torch.float32).eps == 1.1920928955078125e-07
    assert torch.finfo(torch.bfloat16).eps == 0.0078125 and torch.finfo().bits == 32
    assert torch.iinfo(torch.int64).max == 2 ** 63 - 1 and torch.iinfo(torch.uint8).min == 0
    with pytest.raises(TypeError):
        torch.finfo(torch.int64)


def test_module_paths_exist():
    import ember.nn.modules.batchnorm as bn
    import ember.nn.modules.linear  # noqa: F401
    import ember.nn.utils.rnn  # noqa: F401
    import ember.optim.lr_scheduler  # noqa: F401
    import ember.utils.data.dataloader  # noqa: F401
    assert issubclass(torch.nn.BatchNorm2d, bn._BatchNorm)
    assert torch.nn.modules.conv.Conv2d is torch.nn.Conv2d


def test_optimizer_signatures_are_real():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS"):
        params = inspect.signature(getattr(torch.optim, name)).parameters
        assert "params" in params and "lr" in params, name
    assert "fused" in inspect.signature(torch.optim.AdamW).parameters
