"""torch.utils.tensorboard: the same logging program under PyTorch and under deltagrad's alias
writes the same event files (names, events, summaries) and TensorBoard reads the same data."""

import os
import re
import socket

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorboard")
pytest.importorskip("PIL")

from alias_runs import run_both  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData  # noqa: E402

PROGRAM = os.path.join(os.path.dirname(__file__), "prog_s9_T17_tensorboard.py")
EVENT_NAME = re.compile(r"events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)(.*)$")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tb")
    real, ours = run_both(PROGRAM, folder, side_args=lambda side: [str(folder / f"{side}_logs")],
                          timeout=120)
    return folder, real, ours


def _event_files(root) -> dict:
    """{(folder relative to root, event file uid + suffix): path} with the host checked."""
    found = {}
    for here, _dirs, files in os.walk(root):
        for name in files:
            match = EVENT_NAME.match(name)
            if match:
                assert match.group(2) == socket.gethostname()
                key = (os.path.relpath(here, root), match.group(4) + match.group(5))
                found[key] = os.path.join(here, name)
    return found


def _events(path) -> list:
    events = []
    for event in EventFileLoader(path).Load():
        for value in event.summary.value:
            plugin = value.metadata.plugin_data
            if plugin.plugin_name == "hparams":  # (a proto map: its byte order varies by run)
                data = HParamsPluginData.FromString(plugin.content)
                plugin.content = data.SerializeToString(deterministic=True)
        if event.wall_time < 1e6:  # (an explicit walltime: compared)
            events.append(event)
            continue
        event.wall_time = 0.0
        events.append(event)
    return events


def test_same_files_and_events(runs):
    folder, real, ours = runs
    real_files, our_files = _event_files(folder / "torch_logs"), _event_files(
        folder / "deltagrad_logs")
    assert sorted(our_files) == sorted(real_files)
    assert len(real_files) == 7  # main, after close, 2 add_scalars runs, hp, purged, embedding
    assert any(key[1].endswith(".main") for key in real_files)
    for key, path in real_files.items():
        expected, got = _events(path), _events(our_files[key])
        assert [e.file_version for e in got] == [e.file_version for e in expected], key
        assert got == expected, (key, [str(e)[:300] for e in got if e not in expected][:3])


def test_event_accumulator_reads_the_same(runs):
    folder, _, _ = runs
    loaded = {}
    for side in ("torch", "deltagrad"):
        accumulator = event_accumulator.EventAccumulator(
            str(folder / f"{side}_logs"), size_guidance={event_accumulator.SCALARS: 0,
                                                         event_accumulator.HISTOGRAMS: 0,
                                                         event_accumulator.IMAGES: 0,
                                                         event_accumulator.TENSORS: 0})
        accumulator.Reload()
        loaded[side] = accumulator
    real, ours = loaded["torch"], loaded["deltagrad"]
    assert ours.Tags() == real.Tags()
    for tag in real.Tags()["scalars"]:
        assert [(e.step, e.value) for e in ours.Scalars(tag)] == [
            (e.step, e.value) for e in real.Scalars(tag)]
    assert ours.Scalars("loss/int")[2].value == 6.0
    for tag in real.Tags()["histograms"]:
        for a, b in zip(real.Histograms(tag), ours.Histograms(tag), strict=True):
            assert a.step == b.step and a.histogram_value == b.histogram_value
    weights = ours.Histograms("weights")[0].histogram_value
    assert weights.num == 320 and len(weights.bucket_limit) == len(weights.bucket)
    for tag in real.Tags()["images"]:
        for a, b in zip(real.Images(tag), ours.Images(tag), strict=True):
            assert (a.step, a.width, a.height, a.encoded_image_string) == (
                b.step, b.width, b.height, b.encoded_image_string)
    for tag in real.Tags()["tensors"]:
        for a, b in zip(real.Tensors(tag), ours.Tensors(tag), strict=True):
            assert a.step == b.step and a.tensor_proto == b.tensor_proto
    text = ours.Tensors("note/text_summary")
    assert [t.tensor_proto.string_val[0] for t in text] == [b"deltagrad *markdown* text",
                                                           b"second step"]


def test_hparams_and_embedding_files(runs):
    folder, real, ours = runs
    for side in ("torch", "deltagrad"):
        accumulator = event_accumulator.EventAccumulator(str(folder / f"{side}_logs" / "hp"))
        accumulator.Reload()
        content = accumulator.PluginTagToContent("hparams")
        assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info",
                                "_hparams_/session_end_info"}
    pairs = {}
    for side in ("torch", "deltagrad"):
        root = folder / f"{side}_logs" / "embedding"
        pairs[side] = {os.path.relpath(os.path.join(here, name), root):
                       open(os.path.join(here, name), "rb").read()
                       for here, _, files in os.walk(root) for name in files
                       if not name.startswith("events.")}
    assert sorted(pairs["deltagrad"]) == sorted(pairs["torch"])
    assert "00000/emb%2f1/sprite.png" in pairs["torch"]
    for name, content in pairs["torch"].items():
        assert pairs["deltagrad"][name] == content, name


def test_errors_and_default_folder(runs):
    _, real, ours = runs
    errors = {k: str(v) for k, v in real.items() if k != "default_dir"}
    assert {k: str(v) for k, v in ours.items() if k != "default_dir"} == errors
    assert errors["scalar_list"] == "NotImplementedError"
    pattern = (r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname())
               + "_T17$")
    for side in (real, ours):
        assert re.match(pattern, str(side["default_dir"])), side["default_dir"]
