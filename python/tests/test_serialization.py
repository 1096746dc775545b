"""ember.save / ember.load: files torch wrote (fixtures/torch_saved, tools/gen_python_fixtures.py
--io) load with the same values; files Ember writes parse with an independent reader of torch's
format (zip + pickle with storages as persistent ids, below); whole modules round-trip; and
hostile pickles are refused without running, in every weights_only mode."""

import io
import json
import os
import pathlib
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

import ember as torch

FIX = pathlib.Path(__file__).parent / "fixtures" / "torch_saved"
EXPECTED = json.loads((FIX / "expected.json").read_text())


def close(a, b, tol=1e-6):
    a, b = list(a), list(b)
    return len(a) == len(b) and all(abs(x - y) <= tol * (1 + abs(y)) for x, y in zip(a, b))


def det(*shape, offset=0.0):
    n = 1
    for s in shape:
        n *= s
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + offset).reshape(shape).float()


# ---- torch-written files

def test_torch_state_dict_and_optimizer_load():
    ck = torch.load(FIX / "state_dict.pt")
    assert list(ck) == ["model", "optimizer", "epoch", "lr", "name", "shape", "flags", "f16", "bf16", "i32", "view"]
    for k, v in ck["model"].items():
        assert close(v.double().reshape(-1).tolist(), EXPECTED["state"][k]), k
    assert ck["model"]["1.num_batches_tracked"].dtype == torch.int64
    assert ck["epoch"] == 3 and ck["lr"] == 0.01 and ck["name"] == "run-1"
    assert ck["shape"] == torch.Size([2, 3]) and isinstance(ck["shape"], torch.Size)
    assert ck["flags"] == (True, None, [1, 2.5])
    assert ck["f16"].dtype == torch.float16 and ck["bf16"].dtype == torch.bfloat16 and ck["i32"].tolist() == [7, -8]
    assert close(ck["view"].reshape(-1).tolist(), EXPECTED["view"])
    sd = ck["optimizer"]
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3, 4, 5] and sd["param_groups"][0]["lr"] == 0.01
    assert close(sd["state"][0]["exp_avg"].reshape(-1).tolist(), EXPECTED["exp_avg_0"])


def test_torch_state_dict_drives_ember_model_and_optimizer():
    ck = torch.load(FIX / "state_dict.pt")
    seq = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(8, 3))
    assert repr(seq.load_state_dict(ck["model"])) == "<All keys matched successfully>"
    seq.eval()
    assert close(seq(det(2, 1, 4, 4)).reshape(-1).tolist(), EXPECTED["seq_out"], 1e-5)
    opt = torch.optim.Adam(seq.parameters(), lr=0.5)
    opt.load_state_dict(ck["optimizer"])
    assert opt.param_groups[0]["lr"] == 0.01 and float(opt.state[seq[0].weight]["step"]) == 2.0


def test_torch_whole_module_loads_as_ember_classes():
    seq = torch.load(FIX / "whole_sequential.pt", weights_only=False)
    assert type(seq) is torch.nn.Sequential and type(seq[1]) is torch.nn.BatchNorm2d
    assert close(seq(det(2, 1, 4, 4)).reshape(-1).tolist(), EXPECTED["seq_out"], 1e-5)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(FIX / "whole_sequential.pt")


def test_torch_whole_user_module_needs_the_class_in_the_program():
    with pytest.raises(pickle.UnpicklingError, match="fixture_models.Net"):
        torch.load(FIX / "whole_user.pt", weights_only=False)
    mod = types.ModuleType("fixture_models")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            raise AssertionError("__init__ must not run when loading")

        def forward(self, x):
            return self.act(self.fc(x)) * self.scale

    Net.__module__, Net.__qualname__ = "fixture_models", "Net"
    mod.Net = Net
    sys.modules["fixture_models"] = mod
    try:
        net = torch.load(FIX / "whole_user.pt", weights_only=False)
        assert type(net) is Net and net.note == "hello" and type(net.fc) is torch.nn.Linear
        assert close(net(det(2, 3)).reshape(-1).tolist(), EXPECTED["net_out"], 1e-5)
        with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.linear.Linear"):
            with torch.serialization.safe_globals([Net]):
                torch.load(FIX / "whole_user.pt", weights_only=True)
        with torch.serialization.safe_globals([Net, torch.nn.Linear, torch.nn.Tanh]):
            assert type(torch.load(FIX / "whole_user.pt", weights_only=True)) is Net
    finally:
        del sys.modules["fixture_models"]


# ---- an independent reader of torch's format, for files Ember writes

class _Ref:
    def __init__(self, *args):
        self.args = args


def reference_read(data):
    """Reads a torch zip file without ember: globals become markers, tensors NumPy arrays."""
    z = zipfile.ZipFile(io.BytesIO(data))
    names = z.namelist()
    pkl = next(n for n in names if n.endswith("/data.pkl"))
    prefix = pkl[: -len("data.pkl")]
    assert z.read(prefix + "byteorder") == b"little" and z.read(prefix + "version") == b"3\n"
    for info in z.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        if "/data/" in info.filename:  # storages start 64-byte aligned, as torch writes them
            z.fp.seek(info.header_offset)
            header = z.fp.read(30)
            start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + \
                int.from_bytes(header[28:30], "little")
            assert start % 64 == 0, info.filename
    np_types = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "LongStorage": "<i8", "HalfStorage": "<f2",
                "IntStorage": "<i4", "ByteStorage": "u1", "BoolStorage": "?", "BFloat16Storage": "<u2"}

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                def rebuild(storage, offset, size, stride, requires_grad, hooks, metadata=None):
                    arr = storage[offset:]
                    return np.lib.stride_tricks.as_strided(arr, size, [s * arr.itemsize for s in stride]).copy()
                return rebuild
            if (module, name) == ("torch._utils", "_rebuild_parameter"):
                return lambda data, rg, hooks: ("Parameter", data, rg)
            if (module, name) == ("collections", "OrderedDict"):
                import collections
                return collections.OrderedDict
            if module == "torch" and name in np_types:
                return name
            return _Ref(module, name)

        def persistent_load(self, pid):
            kind, stype, key, location, numel = pid
            assert kind == "storage" and location == "cpu"
            return np.frombuffer(z.read(f"{prefix}data/{key}"), dtype=np_types[stype], count=numel)

    return U(io.BytesIO(z.read(pkl))).load()


def test_ember_files_follow_torchs_format():
    x = det(3, 4)
    buf = io.BytesIO()
    torch.save({"w": x, "t": x.t(), "i": torch.arange(5), "p": torch.nn.Parameter(torch.ones(2)),
                "b": torch.tensor([True, False]), "n": 3, "s": "x", "l": [1.5, None]}, buf)
    got = reference_read(buf.getvalue())
    assert np.allclose(got["w"], np.array(x.tolist())) and np.allclose(got["t"], np.array(x.t().tolist()))
    assert got["i"].tolist() == [0, 1, 2, 3, 4] and got["i"].dtype == np.int64
    assert got["p"][0] == "Parameter" and got["p"][1].tolist() == [1.0, 1.0] and got["p"][2] is True
    assert got["b"].tolist() == [True, False] and got["n"] == 3 and got["s"] == "x" and got["l"] == [1.5, None]


def test_ember_state_dict_keeps_order_and_metadata():
    m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    got = reference_read(_saved(m.state_dict()))
    assert list(got) == list(m.state_dict())
    assert got["1.num_batches_tracked"].dtype == np.int64


def _saved(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_tied_weights_share_one_storage():
    m = torch.nn.Linear(3, 3)
    data = _saved({"a": m.weight, "b": m.weight})
    assert sum(1 for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if "/data/" in n) == 1


# ---- round trips

def test_round_trip_values_and_dtypes(tmp_path):
    obj = {"f32": det(2, 3), "f64": det(4).double(), "f16": det(3).half(), "bf16": det(3).bfloat16(),
           "i64": torch.arange(-2, 3), "i32": torch.tensor([1, -1], dtype=torch.int32), "u8": torch.tensor([255],
           dtype=torch.uint8), "bool": torch.tensor([True]), "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 2),
           "noncontig": det(4, 4)[::2, 1:], "dtype": torch.float16, "size": torch.Size([1, 2]), "nested": [(1, "a")]}
    path = tmp_path / "x.pt"
    torch.save(obj, path)
    back = torch.load(path)
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
            assert back[k].tolist() == v.tolist(), k
        else:
            assert back[k] == v, k


class UserNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU())
        self.head = torch.nn.Linear(4, 1)
        self.register_buffer("offset", torch.tensor([0.5]))

    def forward(self, x):
        return self.head(self.body(x)) + self.offset


def test_whole_user_model_round_trip(tmp_path):
    net = UserNet()
    path = tmp_path / "net.pt"
    torch.save(net, path)
    back = torch.load(path, weights_only=False)
    assert type(back) is UserNet and back is not net
    x = det(2, 3)
    assert back(x).tolist() == net(x).tolist()
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in net.named_parameters()]
    back(x).sum().backward()
    assert back.head.weight.grad is not None


def test_save_is_atomic(tmp_path):
    path = tmp_path / "ck.pt"
    torch.save({"a": torch.ones(2)}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("cannot pickle this")

    with pytest.raises(Exception):
        torch.save({"a": torch.zeros(2), "b": Boom()}, path)
    assert torch.load(path)["a"].tolist() == [1.0, 1.0]
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]


# ---- hostile and malformed files

MARK = "/tmp/ember-hostile-pickle-ran"


def _archive(payload):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
    return buf.getvalue()


class _System:
    def __reduce__(self):
        return (os.system, (f"touch {MARK}",))


class _Eval:
    def __reduce__(self):
        return (eval, (f"open({MARK!r}, 'w')",))


HOSTILE = {
    "os_system": pickle.dumps(_System(), protocol=2),
    "eval": pickle.dumps(_Eval(), protocol=2),
    "getattr_builtins": b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\nX\x02\x00\x00\x00osq\x00\x85R" +
                        b"X\x06\x00\x00\x00systemq\x01\x86Rq\x02.",
    "module_ctor_reduce": b"\x80\x02cember.nn.modules.linear\nLinear\nK\x02K\x03\x86R.",
    "inst_opcode": b"(S'touch " + MARK.encode() + b"'\nios\nsystem\n.",
    "storage_past_end": None,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("weights_only", [True, False, None])
def test_hostile_pickles_are_refused_without_running(name, weights_only, tmp_path):
    if os.path.exists(MARK):
        os.unlink(MARK)
    if name == "storage_past_end":
        buf = io.BytesIO()
        torch.save({"w": torch.ones(4)}, buf)
        data = bytearray(buf.getvalue())
        pkl = zipfile.ZipFile(io.BytesIO(bytes(data))).read("archive/data.pkl")
        evil = pkl.replace(b"K\x04\x85", b"M\x00\x01\x85")  # size (4,) -> (256,)
        assert evil != pkl
        data = _rewrite(bytes(data), evil)
    else:
        data = _archive(HOSTILE[name])
    path = tmp_path / "evil.pt"
    path.write_bytes(data)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=weights_only)
    assert not os.path.exists(MARK)


def _rewrite(data, new_pkl):
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in src.namelist():
            z.writestr(n, new_pkl if n.endswith("data.pkl") else src.read(n))
    return buf.getvalue()


def test_repo_fixture_evil_file_is_refused():
    evil = pathlib.Path(__file__).resolve().parents[2] / "crates/ember-io/tests/fixtures/evil_os_system.pt"
    for wo in (True, False):
        with pytest.raises(pickle.UnpicklingError, match="posix.system"):
            torch.load(evil, weights_only=wo)


def test_not_a_zip_is_a_clear_error(tmp_path):
    p = tmp_path / "old.pt"
    p.write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(RuntimeError, match="zip format"):
        torch.load(p)


def test_truncated_zip_is_an_error_not_a_crash(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(100)}, buf)
    p = tmp_path / "cut.pt"
    p.write_bytes(buf.getvalue()[:-300])
    with pytest.raises(Exception) as e:
        torch.load(p)
    assert not isinstance(e.value, SystemError)


# ---- safetensors

def test_safetensors_round_trip_and_metadata(tmp_path):
    sd = {"w": det(2, 3), "b": torch.arange(3), "h": det(4).bfloat16(), "f": torch.tensor([True, False])}
    path = tmp_path / "m.safetensors"
    torch.save_file(sd, path, metadata={"format": "pt"})
    back = torch.load_file(path)
    assert sorted(back) == sorted(sd)
    for k in sd:
        assert back[k].dtype == sd[k].dtype and back[k].tolist() == sd[k].tolist()
    assert torch.safetensors.load_metadata(path) == {"format": "pt"}
    with torch.safetensors.safe_open(path, framework="pt") as f:
        assert sorted(f.keys()) == ["b", "f", "h", "w"] and f.get_tensor("b").tolist() == [0, 1, 2]
    assert torch.safetensors.load(torch.safetensors.save(sd))["w"].tolist() == sd["w"].tolist()


def test_safetensors_written_by_torch():
    root = pathlib.Path(__file__).resolve().parents[2] / "crates/ember-io/tests/fixtures"
    expected = json.loads((root / "expected.json").read_text())
    got = torch.load_file(root / "torch_written.safetensors")
    for name in ("f32", "f64", "bf16", "i64", "u8", "bool"):
        assert close(got[name].double().reshape(-1).tolist(), expected[name]["data"], 1e-3), name


def test_safetensors_malformed_is_an_error(tmp_path):
    data = torch.safetensors.save({"w": det(8)})
    for bad in (data[:20], b"\xff" * 16, data[:8] + b"[" + data[9:]):
        with pytest.raises(RuntimeError):
            torch.safetensors.load(bad)
