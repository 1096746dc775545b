"""``ember.hub`` / ``ember.utils.model_zoo``: downloads (from ``file://`` URLs) into the cache,
the cache hit, the hash check, atomic placement, and the refusal to run ``hubconf.py``."""

import hashlib
import os
import pathlib

import pytest

import ember
from ember import hub
from ember.utils import model_zoo


def saved_state(tmp_path, name="weights.pt"):
    model = ember.nn.Linear(3, 2)
    src = tmp_path / "src" / name
    src.parent.mkdir()
    ember.save(model.state_dict(), src)
    return model, src


def test_load_state_dict_from_url_downloads_once(tmp_path, capsys):
    model, src = saved_state(tmp_path)
    cache = tmp_path / "cache"
    state = hub.load_state_dict_from_url(src.as_uri(), model_dir=str(cache), progress=False)
    assert 'Downloading: "' in capsys.readouterr().out
    assert sorted(state) == ["bias", "weight"] and ember.equal(state["weight"], model.weight.detach())
    assert os.listdir(cache) == ["weights.pt"]  # no partial file left
    src.unlink()  # the second call reads the cache
    again = model_zoo.load_url(src.as_uri(), model_dir=str(cache), progress=False)
    assert ember.equal(again["bias"], model.bias.detach())
    other = hub.load_state_dict_from_url(src.as_uri(), model_dir=str(cache), file_name="weights.pt")
    assert ember.equal(other["bias"], model.bias.detach())


def test_hash_prefix_in_the_file_name_is_checked(tmp_path):
    _, src = saved_state(tmp_path)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    good = src.with_name(f"net-{digest[:8]}.pt")
    src.rename(good)
    state = hub.load_state_dict_from_url(good.as_uri(), model_dir=str(tmp_path / "a"), check_hash=True,
                                         progress=False)
    assert "weight" in state
    bad = good.with_name("net-00000000.pt")
    good.rename(bad)
    with pytest.raises(RuntimeError, match='invalid hash value \\(expected "00000000"'):
        hub.load_state_dict_from_url(bad.as_uri(), model_dir=str(tmp_path / "b"), check_hash=True, progress=False)
    assert os.listdir(tmp_path / "b") == []  # nothing half-written stays


def test_download_url_to_file(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    dst = tmp_path / "out.bin"
    hub.download_url_to_file(src.as_uri(), str(dst), hash_prefix=hashlib.sha256(src.read_bytes()).hexdigest()[:6],
                             progress=False)
    assert dst.read_bytes() == src.read_bytes()


def test_cache_directory(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub.get_dir() == str(tmp_path / "th" / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    hub.set_dir(str(tmp_path / "mine"))
    assert hub.get_dir() == str(tmp_path / "mine")


def test_hubconf_is_never_run(tmp_path):
    (tmp_path / "hubconf.py").write_text("import pathlib\npathlib.Path(__file__).with_name('ran').touch()\n")
    for call in (lambda: hub.load(str(tmp_path), "model", source="local"), lambda: hub.list("owner/repo"),
                 lambda: hub.help("owner/repo", "model")):
        with pytest.raises(RuntimeError, match="never runs code"):
            call()
    assert not pathlib.Path(tmp_path, "ran").exists()
