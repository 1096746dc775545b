"""``ember.signal.windows``, as ``torch.signal.windows``: the window functions of SciPy's
``signal.windows`` with torch's signatures (``M``, keyword-only options, ``sym=True`` for a
symmetric window, ``sym=False`` for a periodic one), computed as torch computes them, from
``linspace`` over the window's argument."""

from .windows import (bartlett, blackman, cosine, exponential, gaussian, general_cosine,  # noqa: F401
                      general_hamming, hamming, hann, kaiser, nuttall)

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]
