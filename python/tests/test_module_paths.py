"""Module paths PyTorch scripts import directly (``import torch.backends.cudnn as cudnn``,
``torch.cuda.amp``, ``torch.nn.modules.utils``), as modules, through ``ember.compat`` too."""

import subprocess
import sys
from collections import OrderedDict

import ember


def test_backends_are_submodules_with_their_flags():
    import ember.backends.cpu
    import ember.backends.cuda
    import ember.backends.cudnn as cudnn
    import ember.backends.mkldnn
    import ember.backends.mps
    assert cudnn is ember.backends.cudnn and not cudnn.is_available()
    before = cudnn.benchmark
    try:
        cudnn.benchmark = True
        assert ember.backends.cudnn.benchmark is True
    finally:
        cudnn.benchmark = before
    assert not ember.backends.mps.is_available() and not ember.backends.mps.is_built()
    assert ember.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT")
    # The attention switches still drive sdpa_kernel.
    assert ember.backends.cuda.flash_sdp_enabled()
    with ember.backends.cuda.sdp_kernel(enable_flash=False):
        assert not ember.backends.cuda.flash_sdp_enabled() and ember.backends.cuda.math_sdp_enabled()
    assert ember.backends.cuda.flash_sdp_enabled()
    ember.backends.cuda.enable_mem_efficient_sdp(False)
    assert not ember.backends.cuda.mem_efficient_sdp_enabled()
    ember.backends.cuda.enable_mem_efficient_sdp(True)


def test_cuda_amp_is_a_module():
    import ember.cuda.amp as amp
    assert amp.autocast is ember.amp.autocast and amp.GradScaler is ember.amp.GradScaler
    assert not ember.cuda.is_available()


def test_nn_module_utils_and_common_types():
    from ember.nn.common_types import _size_2_t  # noqa: F401
    from ember.nn.modules.utils import _pair, _reverse_repeat_tuple, _triple, consume_prefix_in_state_dict_if_present
    assert _pair(3) == (3, 3) and _pair((1, 2)) == (1, 2) and _triple(0) == (0, 0, 0)
    assert _reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1)
    sd = OrderedDict([("module.w", 1), ("b", 2)])
    sd._metadata = OrderedDict([("", {}), ("module", {"v": 1}), ("module.sub", {})])
    consume_prefix_in_state_dict_if_present(sd, "module.")
    assert list(sd) == ["b", "w"] and list(sd._metadata) == ["", "sub"] and sd._metadata[""] == {"v": 1}


def test_scripts_import_them_under_compat(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import torch\nimport torch.backends.cudnn as cudnn\nimport torch.cuda.amp\n"
                      "from torch.nn.modules.utils import _pair\n"
                      "cudnn.benchmark = True\nprint(torch.backends.cudnn.benchmark, _pair(2))\n")
    out = subprocess.run([sys.executable, "-m", "ember.compat", str(script)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True (2, 2)"


def test_optimizer_modules_collate_and_hooks():
    from ember.optim.adam import Adam
    from ember.optim.adamw import AdamW
    from ember.optim.sgd import SGD
    from ember.utils.data._utils.collate import default_collate
    from ember.utils.hooks import RemovableHandle
    assert (Adam, AdamW, SGD) == (ember.optim.Adam, ember.optim.AdamW, ember.optim.SGD)
    assert default_collate is ember.utils.data.default_collate
    assert default_collate([ember.ones(2), ember.zeros(2)]).shape == (2, 2)
    handle = ember.nn.Linear(2, 2).register_forward_hook(lambda *args: None)
    assert isinstance(handle, RemovableHandle)
