"""A checkpoint written at the end of a best epoch takes that epoch's best-weights node as its
own weights (the same arrays: compared with the initial weights once, written once), and a
run resumed from it ends with the uninterrupted run's weights bit for bit (issue 18)."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.ner.checkpoint import RunState
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default
from deltagrad.ner.training import TrainingInterrupted, train

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:40], load_default("dev")[:10]


def vectors(data):
    words = sorted({w.lower() for s in data[0] + data[1] for w in s.words})
    words += [f"unused{i}" for i in range(500)]
    return words, np.random.default_rng(0).normal(0, 0.5, (len(words), 6)).astype(np.float32)


def run(data, out, **kwargs):
    config = TrainConfig(vectors="glove-test", epochs=2, hidden=8, casing_dim=2, suffix_dim=2,
                         batch_size=32, patience=10, seed=3, out=str(out), loss="softmax",
                         document="none", chars="none", ensemble=1)
    return train(config, progress=False, log=lambda _: None, train_sentences=data[0],
                 dev_sentences=data[1], vectors=vectors(data), **kwargs)


def test_epoch_end_checkpoint_shares_the_best_node_and_resumes_exactly(data, tmp_path):
    run(data, tmp_path / "whole")
    killed = tmp_path / "killed"
    per_epoch = math.ceil(sum(len(s.words) for s in data[0]) / 32)  # (tokens, batches of 32)
    with pytest.raises(TrainingInterrupted):
        run(data, killed, stop_after_steps=per_epoch)  # all of epoch 1, none of epoch 2
    state = dg.load(killed / "checkpoint.safetensors")
    assert (state["epoch"], state["step"], state["best_epoch"]) == (2, 0, 1)
    model, best = state["model"], state["best_state"]
    assert model.keys() == best.keys()
    for key in model:
        assert model[key] is best[key], key  # stored once, loaded as one object
    run(data, killed, resume=True)
    whole = dg.load(tmp_path / "whole" / "weights.safetensors")
    resumed = dg.load(killed / "weights.safetensors")
    assert whole.keys() == resumed.keys()
    for key in whole:
        np.testing.assert_array_equal(whole[key].numpy(), resumed[key].numpy(), err_msg=key)


def test_checkpoint_encodes_the_weights_again_once_they_moved():
    dg.manual_seed(0)
    model = nn.Sequential(nn.Embedding(40, 3), nn.Linear(3, 2))
    optimizer = dg.optim.Adam(model.parameters(), lr=0.1)
    state = RunState(TrainConfig(), model, optimizer, None, np.random.default_rng(0))

    def step():
        optimizer.zero_grad()
        model(dg.tensor([1, 2, 3])).sum().backward()
        optimizer.step()
        state.step += 1

    step()
    state.end_epoch(0.5, {})  # best so far: the node is the checkpoint's weights
    assert state.state_dict()["model"] is state._best_node
    step()  # the weights moved: encoded from the model again
    moved = state.state_dict()["model"]
    assert moved is not state._best_node
    assert not np.array_equal(moved["1.weight"], state._best_node["1.weight"])
    state.end_epoch(0.4, {})  # not best: the best node stays the first epoch's
    after = state.state_dict()["model"]
    assert after is not state._best_node
    np.testing.assert_array_equal(after["1.weight"], model[1].weight.detach().numpy())
    table = after["0.weight"]  # three of forty rows moved: a row delta
    assert isinstance(table, dict) and table["changed_rows"].tolist() == [1, 2, 3]
