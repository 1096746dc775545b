"""Every snippet of cases.py run under Ember must give what PyTorch gave (committed in
fixtures/torch_cases.json by tools/gen_python_fixtures.py): values, dtypes, shapes, repr
strings, result kinds and exception types."""

import json
import pathlib

import pytest

import ember
from _harness import diff, run_case
from cases import CASES

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "torch_cases.json").read_text())["cases"]


def test_fixture_covers_every_case():
    assert sorted(FIXTURE) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_matches_torch(name):
    got = run_case(CASES[name], ember)
    d = diff(got, FIXTURE[name])
    assert d is None, f"{d}\n  ember: {got}\n  torch: {FIXTURE[name]}"
