"""The committed type stubs list every public name (regenerate with tools/gen_stubs.py)."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_stubs_are_current():
    spec = importlib.util.spec_from_file_location("gen_stubs", ROOT / "tools" / "gen_stubs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (ROOT / "python" / "ember" / "__init__.pyi").read_text()
    assert committed == gen.render(), "stubs are stale: run python tools/gen_stubs.py"
    assert (ROOT / "python" / "ember" / "py.typed").exists()
