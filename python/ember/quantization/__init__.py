"""``ember.quantization``: the older name of ``ember.ao.quantization`` (as
``torch.quantization``)."""

from ..ao.quantization import *  # noqa: F401,F403
from ..ao.quantization import (QConfig, QConfigDynamic, convert, default_dynamic_qconfig,  # noqa: F401
                               float16_dynamic_qconfig, per_channel_dynamic_qconfig, propagate_qconfig_,
                               quantize_dynamic)
