"""Every ``torch.nn`` snippet of cases_nn.py run under Ember must give what PyTorch gave
(committed in fixtures/torch_nn_cases.json by tools/gen_python_fixtures.py): outputs, input and
parameter gradients, printed module trees, state-dict keys, error types and messages."""

import json
import pathlib

import pytest

import ember
from _harness import diff, run_case
from cases_nn import CASES, PRELUDE

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "torch_nn_cases.json").read_text())["cases"]


def test_fixture_covers_every_case():
    assert sorted(FIXTURE) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_nn_case_matches_torch(name):
    got = run_case(PRELUDE + CASES[name], ember)
    d = diff(got, FIXTURE[name])
    assert d is None, f"{d}\n  ember: {str(got)[:2000]}\n  torch: {str(FIXTURE[name])[:2000]}"
