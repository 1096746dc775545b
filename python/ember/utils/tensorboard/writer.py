"""``SummaryWriter`` and ``FileWriter``, as ``torch.utils.tensorboard``: the same methods,
arguments, defaults and directory layout (``runs/<date>_<host><comment>``, one sub-directory
per ``add_scalars`` series, ``<step>/<tag>`` per embedding), written without the
``tensorboard`` or ``protobuf`` packages."""

import math
import os
import socket
import time
import warnings
from datetime import datetime

import numpy as np

from . import _proto as pb
from ._record import EventFileWriter
from .summary import (audio, figure_to_image, custom_scalars, histogram, histogram_raw, hparams, image, make_grid, make_np, pr_curve,
                      pr_curve_raw, scalar, tensor_proto, text, _png)

__all__ = ["FileWriter", "SummaryWriter"]


class FileWriter:
    """Writes ``Event`` messages to one event file in ``log_dir``."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None):
        """``event``: the fields of an ``Event`` besides its time and step, as a dict
        (``summary=`` encoded ``Summary`` bytes, ``file_version=``, ``session_log=``)."""
        wall_time = time.time() if walltime is None else walltime
        self.event_writer.add_event(pb.event(wall_time=wall_time, step=0 if step is None else int(step), **event))

    def add_summary(self, summary, global_step=None, walltime=None):
        self.add_event({"summary": summary}, global_step, walltime)

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()

    def reopen(self):
        """Opens a new event file in the same directory (the old one stays as written)."""
        w = self.event_writer
        self.event_writer = EventFileWriter(w.get_logdir(), w._max_queue_size, w._flush_secs)


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class SummaryWriter:
    """Writes entries to event files in ``log_dir`` for TensorBoard to read.

    ``log_dir`` defaults to ``runs/<Mon><day>_<HH-MM-SS>_<hostname><comment>``. Entries reach the
    file at once and the disk every ``flush_secs`` seconds, on ``flush()``, on ``close()`` and at
    exit."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120, filename_suffix=""):
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        # TensorBoard's default histogram buckets: +-1e-12 growing by 10% up to 1e20, and 0.
        v, buckets = 1e-12, []
        while v < 1e20:
            buckets.append(v)
            v *= 1.1
        self.default_bins = [-b for b in buckets[::-1]] + [0] + buckets

    def _get_file_writer(self):
        """The default ``FileWriter``; recreated after ``close()``."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step = self.purge_step
                self.file_writer.add_event({"file_version": "brain.Event:2"}, step)
                self.file_writer.add_event({"session_log": pb.session_log(pb.SESSION_LOG_START)}, step)
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary, global_step, walltime):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None, global_step=None):
        """Logs hyperparameters and their metrics into ``<log_dir>/<run_name>`` (default: the
        current time) for TensorBoard's HPARAMS tab."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            w_hp.file_writer.add_summary(exp, global_step)
            w_hp.file_writer.add_summary(ssi, global_step)
            w_hp.file_writer.add_summary(sei, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False, double_precision=False):
        self._add(scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision), global_step,
                  walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Logs several scalars under ``main_tag``, each series in its own sub-directory
        ``<log_dir>/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[fw_tag] = fw
            fw.add_summary(scalar(main_tag, scalar_value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        self._add(tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """Logs a histogram of ``values``; ``bins`` is ``"tensorflow"`` (TensorBoard's
        exponential buckets) or anything ``numpy.histogram`` accepts."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._add(histogram(tag, values, bins, max_bins=max_bins), global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts, global_step=None,
                          walltime=None):
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._add(histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts), global_step,
                  walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._add(image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self._add(image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """Renders a matplotlib figure (or a list of them) and logs it as an image."""
        batch = isinstance(figure, list)
        self.add_image(tag, figure_to_image(figure, close), global_step, walltime,
                       dataformats="NCHW" if batch else "CHW")

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        self._add(audio(tag, snd_tensor, sample_rate=sample_rate), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._add(text(tag, text_string), global_step, walltime)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127, weights=None,
                     walltime=None):
        labels, predictions = make_np(labels), make_np(predictions)
        self._add(pr_curve(tag, labels, predictions, num_thresholds, weights), global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds=127, weights=None,
                         walltime=None):
        self._add(pr_curve_raw(tag, true_positive_counts, false_positive_counts, true_negative_counts,
                               false_negative_counts, precision, recall, num_thresholds, weights), global_step,
                  walltime)

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        if len(tags) != 3:
            raise AssertionError("len(tags) != 3")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_custom_scalars(self, layout):
        self._add(custom_scalars(layout), None, None)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Not available: PyTorch traces the model with TorchScript to draw its graph, and Ember
        has no tracer. Warns and logs nothing, so a training script goes on."""
        warnings.warn("ember.utils.tensorboard: add_graph needs a TorchScript trace of the model, which Ember does "
                      "not have; no graph was logged", stacklevel=2)

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        raise NotImplementedError("ember.utils.tensorboard: add_video needs moviepy to encode a GIF and is not "
                                  "supported")

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None, global_step=None, walltime=None):
        raise NotImplementedError("ember.utils.tensorboard: add_mesh is not supported")

    @staticmethod
    def _encode(rawstr):
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        """Writes ``mat`` (``N x D``) for TensorBoard's projector into ``<log_dir>/<step>/<tag>``:
        ``tensors.tsv``, optional ``metadata.tsv`` and ``sprite.png``, and the run's
        ``projector_config.pbtxt``."""
        mat = make_np(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        logdir = self._get_file_writer().get_logdir()
        save_path = os.path.join(logdir, subdir)
        if os.path.exists(save_path):
            if os.path.isdir(save_path):
                print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
            else:
                raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            if not metadata_header:
                lines = [str(x) for x in metadata]
            else:
                if len(metadata_header) != len(metadata[0]):
                    raise AssertionError("len of header must be equal to the number of columns in metadata")
                lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
            with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
                f.write(("\n".join(lines) + "\n").encode("utf-8"))
        if label_img is not None:
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            nrow = math.ceil(label_img.shape[0] ** 0.5)
            chw = make_grid(make_np(label_img), ncols=nrow)
            square = np.zeros((chw.shape[2], chw.shape[2], 3))
            hwc = chw.transpose(1, 2, 0)
            square[:hwc.shape[0], :, :] = hwc
            with open(os.path.join(save_path, "sprite.png"), "wb") as f:
                f.write(_png(np.uint8((square * 255).clip(0, 255))))
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
            for row in mat:
                f.write(("\t".join(str(v.item()) for v in row) + "\n").encode("utf-8"))
        entry = f"  tensor_name: {_quote(f'{tag}:{str(global_step).zfill(5)}')}\n"
        if metadata is not None:
            entry += f"  metadata_path: {_quote(subdir + '/metadata.tsv')}\n"
        if label_img is not None:
            entry += (f"  sprite {{\n    image_path: {_quote(subdir + '/sprite.png')}\n"
                      f"    single_image_dim: {label_img.shape[3]}\n    single_image_dim: {label_img.shape[2]}\n  }}\n")
        entry += f"  tensor_path: {_quote(subdir + '/tensors.tsv')}\n"
        self._projector_entries = getattr(self, "_projector_entries", []) + ["embeddings {\n" + entry + "}\n"]
        with open(os.path.join(logdir, "projector_config.pbtxt"), "wb") as f:
            f.write("".join(self._projector_entries).encode("utf-8"))

    def flush(self):
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
