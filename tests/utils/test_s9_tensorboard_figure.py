"""SummaryWriter.add_figure: matplotlib figures logged as PyTorch logs them (same PNG bytes)."""

import hashlib

import pytest

pytest.importorskip("tensorboard")
matplotlib = pytest.importorskip("matplotlib")
torch = pytest.importorskip("torch")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

from deltagrad.utils.tensorboard import SummaryWriter  # noqa: E402


def _log(writer_class, folder):
    writer = writer_class(str(folder))
    figure = plt.figure(figsize=(2, 1.5), dpi=50)
    plt.plot([0, 1], [1, 0])
    writer.add_figure("one", figure, 3)
    figures = []
    for i in range(2):
        figures.append(plt.figure(figsize=(1, 1), dpi=40))
        plt.plot([0, i])
    writer.add_figure("two", figures, 4, close=False)
    writer.close()
    open_after = len(plt.get_fignums())
    plt.close("all")
    events = EventAccumulator(str(folder), size_guidance={"images": 0})
    events.Reload()
    images = {tag: events.Images(tag)[0] for tag in events.Tags()["images"]}
    return open_after, {tag: (e.step, e.width, e.height,
                              hashlib.md5(e.encoded_image_string).hexdigest())
                        for tag, e in images.items()}


def test_add_figure_matches_pytorch(tmp_path):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    plt.close("all")
    expected = _log(TorchWriter, tmp_path / "torch")
    got = _log(SummaryWriter, tmp_path / "deltagrad")
    assert got == expected
    assert got[0] == 2 and set(got[1]) == {"one", "two"}  # close=False kept the two open
