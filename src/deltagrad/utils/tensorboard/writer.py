"""``SummaryWriter`` and ``FileWriter``: PyTorch's TensorBoard writers, on the ``tensorboard``
package's event file writer (the same file names, events and summaries as PyTorch's)."""

from __future__ import annotations

import os
import time

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from . import summary as _summary

__all__ = ["FileWriter", "SummaryWriter"]


class FileWriter:
    """Writes Event protocol buffers to one event file in ``log_dir`` (asynchronously, as the
    tensorboard package's EventFileWriter does)."""

    def __init__(self, log_dir, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs,
                                            filename_suffix)

    def get_logdir(self) -> str:
        """The directory the event file is in."""
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None) -> None:
        """Stamp ``event`` with ``walltime`` (default now) and ``step``, and queue it."""
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)  # (numpy and Tensor steps become plain ints)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        """Wrap a Summary protocol buffer in an Event and queue it."""
        self.add_event(Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_profile, walltime=None) -> None:
        """Not supported: deltagrad has no graph tracer (see SummaryWriter.add_graph)."""
        raise NotImplementedError(_NO_GRAPH)

    def add_onnx_graph(self, graph, walltime=None) -> None:
        """Not supported: deltagrad does not export ONNX."""
        raise NotImplementedError("add_onnx_graph is not supported: deltagrad does not read "
                                  "or write ONNX graphs")

    def flush(self) -> None:
        """Write the queued events to disk."""
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.event_writer.close()

    def reopen(self) -> None:
        """Reopen a closed writer (new events go to the same file)."""
        self.event_writer.reopen()


_NO_GRAPH = ("SummaryWriter.add_graph is not supported: deltagrad has no JIT tracer to record "
             "the model's graph (torch.jit.trace); log scalars, histograms and text instead")


def _figure_image(figure, close: bool) -> np.ndarray:
    """A matplotlib figure's pixels as a uint8 CHW array (RGB), drawn on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # (only when a figure is logged)

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    width, height = figure.canvas.get_width_height()
    rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8).reshape(height, width, 4)
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return np.moveaxis(rgba[:, :, :3], 2, 0)


def _unsupported(method: str):
    def refuse(self, *args, **kwargs):
        raise NotImplementedError(f"SummaryWriter.{method} is not supported by deltagrad's "
                                  f"TensorBoard writer (supported: add_scalar, add_scalars, "
                                  f"add_histogram, add_image(s), add_text, add_hparams, "
                                  f"add_tensor, add_embedding)")

    refuse.__name__ = method
    refuse.__doc__ = f"Not supported: raises NotImplementedError ({method})."
    return refuse


class SummaryWriter:
    """Writes TensorBoard event files under ``log_dir`` (PyTorch's ``SummaryWriter``).

    Args:
        log_dir: the folder; default ``runs/<Mon>DD_HH-MM-SS_<hostname><comment>``.
        comment: appended to the default folder name (ignored when ``log_dir`` is given).
        purge_step: events at or after this step in earlier runs of ``log_dir`` are hidden.
        max_queue, flush_secs: how many events, or how long, before writing to disk.
        filename_suffix: appended to the event file's name.
    """

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = "") -> None:
        if not log_dir:
            import socket
            from datetime import datetime

            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = _summary.default_bins()

    def _get_file_writer(self) -> FileWriter:
        """The main FileWriter, made again after close()."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                # A restarted run: TensorBoard hides older events from this step on.
                step = self.purge_step
                self.file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(
                    Event(step=step, session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The folder event files go to."""
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """Log one number (a Python number, NumPy scalar or one-element tensor/array)."""
        self._get_file_writer().add_summary(
            _summary.scalar(tag, scalar_value, new_style=new_style,
                            double_precision=double_precision), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None,
                    walltime=None) -> None:
        """Log several numbers on one chart: each key gets its own run folder
        ``<log_dir>/<main_tag>_<key>`` and the values share the tag ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        base = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            folder = base + "/" + main_tag.replace("/", "_") + "_" + tag
            if folder not in self.all_writers:
                self.all_writers[folder] = FileWriter(folder, self.max_queue, self.flush_secs,
                                                      self.filename_suffix)
            self.all_writers[folder].add_summary(_summary.scalar(main_tag, value), global_step,
                                                 walltime)

    def add_tensor(self, tag: str, tensor, global_step=None, walltime=None) -> None:
        """Log a whole tensor (plugin "tensor")."""
        self._get_file_writer().add_summary(_summary.tensor_proto(tag, tensor), global_step,
                                            walltime)

    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow",
                      walltime=None, max_bins=None) -> None:
        """Log a histogram of ``values``; ``bins`` is "tensorflow" (exponential buckets) or
        anything ``numpy.histogram`` takes."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(
            _summary.histogram(tag, values, bins, max_bins=max_bins), global_step, walltime)

    def add_histogram_raw(self, tag: str, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None) -> None:
        """Log a histogram from precomputed statistics and buckets (right edges, counts)."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._get_file_writer().add_summary(
            _summary.histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits,
                                   bucket_counts), global_step, walltime)

    def add_image(self, tag: str, img_tensor, global_step=None, walltime=None,
                  dataformats: str = "CHW") -> None:
        """Log one image (float in [0, 1] or uint8), layout ``dataformats`` (CHW, HWC, HW)."""
        self._get_file_writer().add_summary(
            _summary.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step=None, walltime=None,
                   dataformats: str = "NCHW") -> None:
        """Log a batch of images tiled into one grid image."""
        self._get_file_writer().add_summary(
            _summary.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_figure(self, tag: str, figure, global_step=None, close: bool = True,
                   walltime=None) -> None:
        """Log a matplotlib figure (or a list of them, tiled) as an image, rendered by
        matplotlib's Agg canvas; the figure is closed afterwards unless ``close=False``."""
        if isinstance(figure, list):
            images = np.stack([_figure_image(f, close) for f in figure])
            self.add_images(tag, images, global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, _figure_image(figure, close), global_step, walltime,
                           dataformats="CHW")

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """Log a string (markdown) under ``<tag>/text_summary``."""
        self._get_file_writer().add_summary(_summary.text(tag, text_string), global_step,
                                            walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None,
                    run_name=None, global_step=None) -> None:
        """Log one run's hyperparameters and final metrics in a sub-folder ``run_name``
        (default: the current time) of the log folder."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        summaries = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        folder = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=folder) as run:
            for proto in summaries:
                run.file_writer.add_summary(proto, global_step)
            for tag, value in metric_dict.items():
                run.add_scalar(tag, value, global_step)

    def add_graph(self, model, input_to_model=None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Not supported: deltagrad has no tracer; raises NotImplementedError."""
        raise NotImplementedError(_NO_GRAPH)

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag: str = "default", metadata_header=None) -> None:
        """Write an embedding for TensorBoard's projector: ``<step>/<tag>/tensors.tsv`` (and
        metadata.tsv, sprite.png) plus ``projector_config.pbtxt`` in the log folder.

        Args:
            mat: (N, D) tensor or array, one row per point.
            metadata: N labels (or N rows of columns named by ``metadata_header``).
            label_img: (N, C, H, W) images, one per point.
        """
        from ._embedding import write_embedding

        if global_step is None:
            global_step = 0
        self._projector_config = write_embedding(
            self._get_file_writer().get_logdir(), getattr(self, "_projector_config", None),
            _summary.make_np(mat), metadata, label_img, global_step, tag, metadata_header)

    add_onnx_graph = _unsupported("add_onnx_graph")
    add_image_with_boxes = _unsupported("add_image_with_boxes")
    add_video = _unsupported("add_video")
    add_audio = _unsupported("add_audio")
    add_pr_curve = _unsupported("add_pr_curve")
    add_pr_curve_raw = _unsupported("add_pr_curve_raw")
    add_custom_scalars = _unsupported("add_custom_scalars")
    add_custom_scalars_multilinechart = _unsupported("add_custom_scalars_multilinechart")
    add_custom_scalars_marginchart = _unsupported("add_custom_scalars_marginchart")
    add_mesh = _unsupported("add_mesh")

    def flush(self) -> None:
        """Write every queued event to disk."""
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Flush and close every event file (a later add_* opens a new file)."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.close()
