"""Checkpoints as row deltas: only the rows that moved are stored, and resume stays bit-identical.

A fine-tuned pretrained table has many rows training never touches; a checkpoint stores the rows
that differ (bit for bit) from the run's initial weights, and the optimizer's per-parameter state
as the rows that are not zero. These tests train with vectors for many words that the training
data never uses, interrupt the run, and check what the checkpoint holds and what resuming gives.
"""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.ner.checkpoint import _changed_rows, _from_rows_node, _optimizer_state, _rows_node
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default
from deltagrad.ner.model_dir import ModelError
from deltagrad.ner.training import TrainingInterrupted, train

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")

UNUSED_WORDS = 3000  # vector words absent from the training slice: rows no step touches


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:120], load_default("dev")[:30]


def vectors(data, seed=0):
    """Vectors for the slice's words and for many words it never uses."""
    words = sorted({w.lower() for s in data[0] + data[1] for w in s.words})
    words += [f"unused{i}" for i in range(UNUSED_WORDS)]
    rng = np.random.default_rng(seed)
    return words, rng.normal(0, 0.5, (len(words), 6)).astype(np.float32)


def config(out, **changes):
    base = dict(vectors="glove-test", epochs=2, hidden=8, casing_dim=2, suffix_dim=2,
                batch_size=32, checkpoint_every=3, patience=10, seed=7, out=str(out),
                loss="softmax", document="none", chars="none", ensemble=1)
    base.update(changes)
    return TrainConfig(**base)


def run(data, out, matrix=None, **kwargs):
    words_matrix = vectors(data) if matrix is None else matrix
    return train(config(out), progress=False, log=lambda _: None, train_sentences=data[0],
                 dev_sentences=data[1], vectors=words_matrix, **kwargs)


def weights(directory):
    return {k: v.detach().numpy() for k, v in dg.load(directory / "weights.safetensors").items()}


def test_interrupted_run_stores_only_moved_rows_and_resumes_bit_identically(data, tmp_path):
    run(data, tmp_path / "whole")
    killed = tmp_path / "killed"
    with pytest.raises(TrainingInterrupted):
        run(data, killed, stop_after_steps=70)  # epoch 2 (63 steps an epoch), step 7
    state = dg.load(killed / "checkpoint.safetensors")
    table = state["model"]["words.weight"]
    assert isinstance(table, dict) and table["against"] == "initial"
    vocab = len(vectors(data)[0])
    assert 0 < len(table["changed_rows"]) < vocab - UNUSED_WORDS + 10
    moments = [entry for entry in state["optimizer"]["state"].values()
               if isinstance(entry.get("exp_avg"), dict)]
    assert moments and all(m["exp_avg"]["against"] == "zeros" for m in moments)
    assert isinstance(state["best_state"]["words.weight"], dict)
    run(data, killed, resume=True)
    a, b = weights(tmp_path / "whole"), weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_resume_with_other_initial_weights_is_refused(data, tmp_path):
    with pytest.raises(TrainingInterrupted):
        run(data, tmp_path, stop_after_steps=4)
    other = vectors(data, seed=1)  # same words, other vectors: same shapes, other start
    with pytest.raises(ModelError, match="initial words.weight differ"):
        run(data, tmp_path, matrix=other, resume=True)


def test_rows_node_round_trips_bits():
    base = np.arange(40, dtype=np.float32).reshape(10, 4)
    array = base.copy()
    array[2, 1] = -0.0 if base[2, 1] == 0 else base[2, 1] + 1
    array[7] = np.frombuffer(np.uint32(0x7FC00001).tobytes() * 4, np.float32)  # a NaN payload
    node = _rows_node(array, base, "initial")
    assert node["changed_rows"].tolist() == [2, 7]
    back = _from_rows_node(node, base, "w")
    assert back.tobytes() == array.tobytes()
    zero = np.zeros((6, 3), np.float64)
    zero[4, 2] = -0.0  # differs from zero in its bits
    assert _changed_rows(zero, None).tolist() == [4]
    assert _from_rows_node(_rows_node(zero, None, "zeros"), np.zeros((6, 3)), "m",
                           "zeros").tobytes() == zero.tobytes()


def test_rows_node_is_a_whole_copy_when_most_rows_moved():
    base = np.zeros((4, 2), np.float32)
    array = np.ones((4, 2), np.float32)
    node = _rows_node(array, base, "initial")
    assert isinstance(node, np.ndarray) and node is not array
    np.testing.assert_array_equal(node, array)


@pytest.mark.parametrize("change, message", [
    (dict(changed_rows=np.array([10])), "row numbers below 10"),
    (dict(changed_rows=np.array([-1])), "row numbers below 10"),
    (dict(changed_rows=np.array([[1]])), "row numbers below 10"),
    (dict(changed_rows=np.array([1.0])), "row numbers below 10"),
    (dict(values=np.zeros((1, 3), np.float32)), "values are"),
    (dict(values=np.zeros((1, 4), np.float64)), "values are"),
    (dict(against="zeros"), "row delta against 'zeros'"),
])
def test_hostile_rows_node_is_an_error(change, message):
    base = np.zeros((10, 4), np.float32)
    node = {"changed_rows": np.array([1]), "values": np.ones((1, 4), np.float32),
            "against": "initial"}
    node.update(change)
    with pytest.raises(ValueError, match=message):
        _from_rows_node(node, base, "w")


def plain(value):
    """A state dict with arrays as (dtype, bytes), to compare two of them exactly."""
    if isinstance(value, dg.Tensor):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):
        return value.dtype.str, value.shape, value.tobytes()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value), [plain(item) for item in value]
    return type(value), value


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "Adagrad", "RMSprop"])
def test_optimizer_state_is_the_optimizers_state_dict(name):
    dg.manual_seed(0)
    table, layer = nn.Embedding(20, 3, sparse=name == "Adam"), nn.Linear(3, 2)
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    optimizer = getattr(dg.optim, name)(
        [{"params": [table.weight]}, {"params": list(layer.parameters()), "lr": 0.05}],
        lr=0.1, **kwargs)
    schedule = dg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    for step in range(3):
        optimizer.zero_grad()
        layer(table(dg.tensor([step, 5, 7]))).sum().backward()
        optimizer.step()
        schedule.step()
    assert plain(_optimizer_state(optimizer)) == plain(optimizer.state_dict())
