"""``ember.profiler``, as ``torch.profiler``: ``profile`` records the ops a program runs
(forward ops by name, backward nodes from the autograd engine), ``record_function`` labels
spans, ``schedule`` and ``tensorboard_trace_handler`` drive periodic traces; results print as
PyTorch's tables (``key_averages().table(...)``) and export as Chrome traces."""

from ._events import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401
from ._record import record_function  # noqa: F401
from .profiler import (ProfilerAction, ProfilerActivity, _KinetoProfile, profile, schedule,  # noqa: F401
                       supported_activities, tensorboard_trace_handler)

__all__ = ["profile", "schedule", "supported_activities", "tensorboard_trace_handler", "ProfilerAction",
           "ProfilerActivity", "record_function"]
