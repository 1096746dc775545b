"""Builders of ``Summary`` messages, as ``torch.utils.tensorboard.summary``: each returns the
encoded message (bytes) for one kind of data. Inputs may be Ember tensors, NumPy arrays or
Python numbers; histograms, images and curves are computed with NumPy exactly as PyTorch's
module computes them, so TensorBoard shows the same thing."""

import io
import struct
import wave
import zlib

import numpy as np

from . import _proto as pb

__all__ = ["scalar", "tensor_proto", "histogram_raw", "histogram", "make_histogram", "image", "make_image",
           "audio", "custom_scalars", "text", "hparams", "pr_curve_raw", "pr_curve", "compute_curve",
           "half_to_int", "int_to_half", "convert_to_HWC", "make_grid", "make_np", "figure_to_image"]


def make_np(x):
    """A NumPy array from an Ember tensor, a NumPy array or a Python/NumPy scalar."""
    from ... import Tensor, bfloat16, float16
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, Tensor):
        if x.dtype == bfloat16:
            x = x.to(float16)
        return x.detach().numpy()
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


def half_to_int(f):
    """The bits of ``f`` packed as a float32 and read as an int32 (what ``half_val`` holds)."""
    return struct.unpack("i", struct.pack("f", f))[0]


def int_to_half(i):
    return struct.unpack("f", struct.pack("i", i))[0]


def scalar(name, tensor, collections=None, new_style=False, double_precision=False):
    """A ``Summary`` with one scalar: ``simple_value``, or with ``new_style`` a 0-d tensor under
    the ``scalars`` plugin."""
    tensor = make_np(tensor).squeeze()
    if tensor.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {tensor.size} "
                             f"and {tensor.ndim} dimensions.")
    value = float(tensor)
    if not new_style:
        return pb.summary(pb.summary_value(name, simple_value=value))
    if double_precision:
        tensor = pb.tensor_proto("DT_DOUBLE", None, "double_val", [value])
    else:
        tensor = pb.tensor_proto("DT_FLOAT", None, "float_val", [value])
    return pb.summary(pb.summary_value(name, tensor=tensor, metadata=pb.summary_metadata("scalars")))


def _tensor_values(t):
    """(dtype name, TensorProto field, values) for an Ember tensor, as PyTorch's type map."""
    name = str(t.dtype).replace("torch.", "")
    flat = t.detach().reshape(-1)
    if name in ("float16", "bfloat16"):
        return ("DT_HALF" if name == "float16" else "DT_BFLOAT16"), "half_val", [half_to_int(v) for v in flat.tolist()]
    table = {"float32": ("DT_FLOAT", "float_val"), "float64": ("DT_DOUBLE", "double_val"),
             "int8": ("DT_INT8", "int_val"), "int16": ("DT_INT16", "int_val"), "int32": ("DT_INT32", "int_val"),
             "int64": ("DT_INT64", "int64_val"), "bool": ("DT_BOOL", "bool_val"), "uint8": ("DT_UINT8", "uint32_val")}
    if name not in table:
        return None
    return table[name] + (flat.tolist(),)


def tensor_proto(tag, tensor):
    """A ``Summary`` holding the whole tensor (``tensor`` plugin)."""
    if tensor.numel() * tensor.element_size() >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    found = _tensor_values(tensor)
    if found is None:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, field, values = found
    proto = pb.tensor_proto(dtype, list(tensor.shape), field, values)
    return pb.summary(pb.summary_value(tag, metadata=pb.summary_metadata("tensor"), tensor=proto))


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    return pb.summary(pb.summary_value(name, histo=pb.histogram_proto(min, max, num, sum, sum_squares,
                                                                      bucket_limits, bucket_counts)))


def histogram(name, values, bins, max_bins=None):
    values = make_np(values)
    return pb.summary(pb.summary_value(name, histo=make_histogram(values.astype(float), bins, max_bins)))


def make_histogram(values, bins, max_bins=None):
    """The encoded ``HistogramProto`` of ``values`` (TensorBoard's histogram.cc logic: only the
    support of the counts is kept, with one empty bucket on its left)."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    num_bins = len(counts)
    if max_bins is not None and num_bins > max_bins:
        subsampling = num_bins // max_bins
        remainder = num_bins % subsampling
        if remainder != 0:
            counts = np.pad(counts, pad_width=[[0, subsampling - remainder]], mode="constant", constant_values=0)
        counts = counts.reshape(-1, subsampling).sum(axis=-1)
        new_limits = np.empty((counts.size + 1,), limits.dtype)
        new_limits[:-1] = limits[:-1:subsampling]
        new_limits[-1] = limits[-1]
        limits = new_limits
    cum_counts = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum_counts, [0, cum_counts[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return pb.histogram_proto(values.min(), values.max(), len(values), values.sum(), values.dot(values),
                              limits.tolist(), counts.tolist())


# -- images

def make_grid(I, ncols=8):
    """``N x 1|3 x H x W`` images tiled into one ``3 x H' x W'`` canvas, ``ncols`` per row."""
    if not isinstance(I, np.ndarray):
        raise AssertionError("plugin error, should pass numpy array here")
    if I.shape[1] == 1:
        I = np.concatenate([I, I, I], 1)
    if I.ndim != 4 or I.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    nimg, H, W = I.shape[0], I.shape[2], I.shape[3]
    ncols = min(nimg, ncols)
    nrows = int(np.ceil(float(nimg) / ncols))
    canvas = np.zeros((3, H * nrows, W * ncols), dtype=I.dtype)
    for i in range(nimg):
        y, x = divmod(i, ncols)
        canvas[:, y * H:(y + 1) * H, x * W:(x + 1) * W] = I[i]
    return canvas


def convert_to_HWC(tensor, input_format):
    """An image array in ``input_format`` (``NCHW``, ``CHW``, ``HWC``, ``HW``, any order) as
    ``H x W x C`` (batches tiled by ``make_grid``, gray made RGB)."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError(f"You can not use the same dimension shorthand twice. input_format: {input_format}")
    if len(tensor.shape) != len(input_format):
        raise AssertionError(f"size of input tensor and input format are different. tensor shape: {tensor.shape}, "
                             f"input_format: {input_format}")
    input_format = input_format.upper()
    if len(input_format) == 4:
        nchw = tensor.transpose([input_format.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(input_format) == 3:
        hwc = tensor.transpose([input_format.find(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc, hwc, hwc], 2)
        return hwc
    if len(input_format) == 2:
        hw = tensor.transpose([input_format.find(c) for c in "HW"])
        return np.stack([hw, hw, hw], 2)
    raise AssertionError(f"unsupported input_format {input_format}")


def _png(pixels):
    """A PNG (8-bit, filter 0 per row, zlib-compressed) of an ``H x W x C`` uint8 array, C in
    1 (gray), 2 (gray + alpha), 3 (RGB), 4 (RGBA)."""
    height, width, channels = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, width * channels)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))


def figure_to_image(figures, close=True):
    """A matplotlib figure rendered to a ``3 x H x W`` uint8 array (a list: ``N x 3 x H x W``)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends import backend_agg

    def render(figure):
        canvas = backend_agg.FigureCanvasAgg(figure)
        canvas.draw()
        data = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        w, h = figure.canvas.get_width_height()
        chw = np.moveaxis(data.reshape([h, w, 4])[:, :, 0:3], source=2, destination=0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)


def make_image(tensor, rescale=1, rois=None, labels=None):
    """The encoded ``Summary.Image`` of an ``H x W x C`` uint8 array, as a PNG."""
    if rois is not None:
        raise NotImplementedError("ember.utils.tensorboard: drawing boxes (add_image_with_boxes) needs PIL and is "
                                  "not supported")
    height, width, channel = tensor.shape
    if rescale != 1:
        # Nearest-neighbour resize (PyTorch resamples with PIL's Lanczos filter).
        rows = (np.arange(int(height * rescale)) / rescale).astype(int).clip(0, height - 1)
        cols = (np.arange(int(width * rescale)) / rescale).astype(int).clip(0, width - 1)
        tensor = tensor[rows][:, cols]
    return pb.image_proto(height, width, channel, _png(np.ascontiguousarray(tensor, dtype=np.uint8)))


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    """A ``Summary`` with one image (a batch is tiled into a grid). Float images are taken as
    ``[0, 1]`` and uint8 images as ``[0, 255]``; values outside are clipped."""
    tensor = convert_to_HWC(make_np(tensor), dataformats)
    scale_factor = 1 if tensor.dtype == np.uint8 else 255
    tensor = (tensor.astype(np.float32) * scale_factor).clip(0, 255).astype(np.uint8)
    return pb.summary(pb.summary_value(tag, image=make_image(tensor, rescale=rescale)))


def audio(tag, tensor, sample_rate=44100):
    """A ``Summary`` with a mono 16-bit WAV of ``tensor`` (samples in ``[-1, 1]``)."""
    array = make_np(tensor).squeeze()
    if abs(array).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        array = array.clip(-1, 1)
    if array.ndim != 1:
        raise ValueError("input tensor should be 1 dimensional.")
    array = (array * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(array.data)
    encoded = pb.audio_proto(sample_rate, 1, array.shape[-1], buf.getvalue(), "audio/wav")
    return pb.summary(pb.summary_value(tag, audio=encoded))


# -- text, layouts, curves, hyperparameters

def text(tag, text):
    tensor = pb.tensor_proto("DT_STRING", [1], "string_val", [text.encode("utf_8")])
    return pb.summary(pb.summary_value(tag + "/text_summary", metadata=pb.summary_metadata("text"), tensor=tensor))


def custom_scalars(layout):
    """The ``custom_scalars`` plugin's layout: ``{category: {chart: ["Multiline", [tags]] or
    ["Margin", [value, lower, upper]]}}``."""
    categories = b""
    for title, charts in layout.items():
        body = pb.bytes_field(1, title)
        for chart_name, (kind, tags) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                series = pb.bytes_field(1, tags[0]) + pb.bytes_field(2, tags[1]) + pb.bytes_field(3, tags[2])
                chart = pb.bytes_field(1, chart_name) + pb.message_field(3, pb.message_field(1, series))
            else:
                chart = pb.bytes_field(1, chart_name) + pb.message_field(2, pb.repeated_bytes(1, tags))
            body += pb.message_field(2, chart)
        categories += pb.message_field(2, body)
    tensor = pb.tensor_proto("DT_STRING", [], "string_val", [categories])
    return pb.summary(pb.summary_value("custom_scalars__config__", tensor=tensor,
                                       metadata=pb.summary_metadata("custom_scalars")))


def compute_curve(labels, predictions, num_thresholds=None, weights=None):
    """Rows tp, fp, tn, fn, precision, recall over ``num_thresholds`` thresholds."""
    minimum_count = 1e-7
    if weights is None:
        weights = 1.0
    bucket_indices = np.int32(np.floor(predictions * (num_thresholds - 1)))
    float_labels = labels.astype(np.float64)
    histogram_range = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(bucket_indices, bins=num_thresholds, range=histogram_range,
                                 weights=float_labels * weights)
    fp_buckets, _ = np.histogram(bucket_indices, bins=num_thresholds, range=histogram_range,
                                 weights=(1.0 - float_labels) * weights)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def _pr_summary(tag, data, num_thresholds):
    content = pb.int_field(2, num_thresholds)  # PrCurvePluginData: version 0 (1), num_thresholds (2)
    tensor = pb.tensor_proto("DT_FLOAT", list(data.shape), "float_val", data.reshape(-1).tolist())
    return pb.summary(pb.summary_value(tag, metadata=pb.summary_metadata("pr_curves", content), tensor=tensor))


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    num_thresholds = min(num_thresholds, 127)
    return _pr_summary(tag, compute_curve(labels, predictions, num_thresholds, weights), num_thresholds)


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    num_thresholds = min(num_thresholds, 127)
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)), num_thresholds)


_HPARAMS = "hparams"


def _hparams_summary(tag, plugin_content):
    content = pb.message_field({"experiment": 2, "start": 3, "end": 4}[plugin_content[0]], plugin_content[1])
    return pb.summary(pb.summary_value(tag, metadata=pb.summary_metadata(_HPARAMS, content)))


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The three summaries of the hparams plugin: the experiment (names of hyperparameters and
    metrics), the session start (the values) and the session end (success)."""
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    hparam_domain_discrete = hparam_domain_discrete or {}
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in hparam_domain_discrete.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")
    from ... import Tensor
    infos, entries = b"", b""
    for k, v in hparam_dict.items():
        if v is None:
            continue
        # PyTorch's order of checks: bools are ints, so they are logged as numbers.
        if isinstance(v, (int, float)):
            kind, data_type = "number", 3
        elif isinstance(v, str):
            kind, data_type = "string", 1
        elif isinstance(v, Tensor):
            kind, data_type, v = "number", 3, make_np(v).reshape(-1)[0]
            hparam_domain_discrete = {key: d for key, d in hparam_domain_discrete.items() if key != k}
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        entries += pb.message_field(1, pb.bytes_field(1, k, always=True) + pb.message_field(2, pb.struct_value(kind, v)))
        info = pb.bytes_field(1, k) + pb.int_field(4, data_type)
        if k in hparam_domain_discrete:
            listed = b"".join(pb.message_field(1, pb.struct_value(kind, d)) for d in hparam_domain_discrete[k])
            info += pb.message_field(5, listed)
        infos += pb.message_field(4, info)
    metrics = b"".join(pb.message_field(5, pb.message_field(1, pb.bytes_field(2, k))) for k in metric_dict)
    exp = _hparams_summary("_hparams_/experiment", ("experiment", infos + metrics))
    ssi = _hparams_summary("_hparams_/session_start_info", ("start", entries))
    sei = _hparams_summary("_hparams_/session_end_info", ("end", pb.int_field(1, 1)))
    return exp, ssi, sei
