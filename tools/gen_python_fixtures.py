"""Writes python/tests/fixtures/torch_cases.json (what PyTorch gives for every snippet in
python/tests/cases.py) and python/tests/fixtures/torch_nn_cases.json (the ``torch.nn`` snippets of
cases_nn.py). Needs torch; CI only reads the committed files.

    python3 tools/gen_python_fixtures.py          # both
    python3 tools/gen_python_fixtures.py --nn     # only the nn cases
    python3 tools/gen_python_fixtures.py --io     # torch-saved files for test_serialization.py
"""

import json
import pathlib
import sys

import torch

TESTS = pathlib.Path(__file__).resolve().parent.parent / "python" / "tests"
sys.path.insert(0, str(TESTS))

from _harness import run_case  # noqa: E402
from cases import CASES  # noqa: E402


def write(name, cases, prelude=""):
    torch.manual_seed(0)
    out = {"torch_version": torch.__version__,
           "cases": {n: run_case(prelude + code, torch) for n, code in cases.items()}}
    path = TESTS / "fixtures" / name
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out['cases'])} cases to {path}")


def main():
    import cases_nn
    if "--io" in sys.argv:
        gen_io()
        return
    if "--nn" not in sys.argv:
        write("torch_cases.json", CASES)
    write("torch_nn_cases.json", cases_nn.CASES, cases_nn.PRELUDE)



def gen_io():
    """Files torch.save writes, for python/tests/test_serialization.py: a state dict with an
    optimizer state and plain values, a whole built-in model, and a whole user-defined model
    (class ``fixture_models.Net``), with the values and outputs Ember must reproduce."""
    import math
    import types
    out_dir = TESTS / "fixtures" / "torch_saved"
    out_dir.mkdir(parents=True, exist_ok=True)

    def det(*shape, offset=0.0):
        n = math.prod(shape)
        return torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + offset).reshape(shape).float()

    def fill(m):
        with torch.no_grad():
            for i, (_, p) in enumerate(m.named_parameters()):
                p.copy_(det(*p.shape, offset=float(i)) * 0.5)
        return m

    seq = fill(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                                   torch.nn.Flatten(), torch.nn.Linear(8, 3)))
    x = det(2, 1, 4, 4)
    seq.train()
    seq(x)  # running statistics move
    opt = torch.optim.Adam(seq.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        seq(x).square().sum().backward()
        opt.step()
    seq.eval()
    torch.save({"model": seq.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "lr": 0.01,
                "name": "run-1", "shape": torch.Size([2, 3]), "flags": (True, None, [1, 2.5]),
                "f16": det(3).half(), "bf16": det(3).bfloat16(), "i32": torch.tensor([7, -8], dtype=torch.int32),
                "view": det(4, 6)[1:, ::2]}, out_dir / "state_dict.pt")
    torch.save(seq, out_dir / "whole_sequential.pt")
    mod = types.ModuleType("fixture_models")
    exec(compile('''
import torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.act = torch.nn.Tanh()
        self.register_buffer("scale", torch.tensor([2.0, 0.5]))
        self.note = "hello"
    def forward(self, x):
        return self.act(self.fc(x)) * self.scale
''', "fixture_models", "exec"), mod.__dict__)
    sys.modules["fixture_models"] = mod
    net = fill(mod.Net())
    torch.save(net, out_dir / "whole_user.pt")
    with torch.no_grad():
        expected = {
            "seq_out": seq(x).flatten().tolist(),
            "net_out": net(det(2, 3)).flatten().tolist(),
            "state": {k: v.double().flatten().tolist() for k, v in seq.state_dict().items()},
            "exp_avg_0": opt.state_dict()["state"][0]["exp_avg"].flatten().tolist(),
            "view": det(4, 6)[1:, ::2].flatten().tolist(),
        }
    (out_dir / "expected.json").write_text(json.dumps({"torch": torch.__version__, **expected}) + "\n")
    print(f"wrote torch-saved files to {out_dir}")


if __name__ == "__main__":
    main()
