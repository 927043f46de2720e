"""Optimizer state entries that belong to no parameter (``self.state["k"]``: pytorch_optimizer's
MADGRAD keeps its step count there, EmoNavi / TRAC / SPAM keep theirs) travel through
``state_dict`` / ``load_state_dict`` as in PyTorch. deltagrad dropped them, so a resumed run
restarted the count and silently diverged from the uninterrupted one (found by pytorch-optimizer's
own test_checkpoint_resume under the alias)."""
import io

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _counting_sgd(lib):
    class CountingSGD(lib.optim.Optimizer):
        """SGD whose step size decays with a counter kept in ``self.state["k"]``."""

        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        @lib.no_grad()
        def step(self, closure=None):
            if "k" not in self.state:
                self.state["k"] = lib.tensor([0], dtype=lib.long)
            scale = 1.0 / float(self.state["k"].item() + 1)
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p]["seen"] = self.state[p].get("seen", 0) + 1
                    p.add_(p.grad, alpha=-group["lr"] * scale)
            self.state["k"].add_(1)

    return CountingSGD


def _resumed_gap(lib, through_file):
    start = np.array([[1.0, 2.0], [-1.0, 0.5]], dtype=np.float32)

    def setup():
        p = lib.nn.Parameter(lib.tensor(start))
        return p, _counting_sgd(lib)([p], lr=0.1)

    def step(opt, p):
        opt.zero_grad()
        ((p - 0.1) ** 2).sum().backward()
        opt.step()

    p, opt = setup()
    for _ in range(3):
        step(opt, p)
    saved = opt.state_dict()
    assert "k" in saved["state"] and saved["state"]["k"].tolist() == [3]
    if through_file:
        buffer = io.BytesIO()
        lib.save(saved, buffer)
        buffer.seek(0)
        saved = lib.load(buffer, weights_only=False)
    p2, opt2 = setup()
    opt2.load_state_dict(saved)
    with lib.no_grad():
        p2.copy_(p)
    for _ in range(3):
        step(opt, p)
        step(opt2, p2)
    return (p - p2).abs().max().item(), opt2.state["k"].tolist(), opt2.state[p2]["seen"]


@pytest.mark.parametrize("through_file", [False, True], ids=["in_memory", "save_load"])
def test_non_parameter_state_survives_a_resume_as_in_pytorch(through_file):
    ours = _resumed_gap(dg, through_file)
    theirs = _resumed_gap(torch, through_file)
    assert ours == theirs
    # Through a file the resumed run is the uninterrupted one; in memory the entry is the same
    # tensor in both optimizers (PyTorch's load keeps it), so both runs advance one counter.
    assert ours == ((0.0, [6], 6) if through_file else (ours[0], [9], 6))
    assert through_file or ours[0] > 0


def test_unknown_parameter_id_still_refused():
    p = dg.nn.Parameter(dg.ones(2))
    opt = dg.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="parameter id 5"):
        opt.load_state_dict({"state": {5: {"momentum_buffer": dg.ones(2)}},
                             "param_groups": opt.state_dict()["param_groups"]})


@pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])
def test_a_dict_keyed_by_tensors_saves_and_loads(lib):
    # TRAC's legacy optimizer state is keyed by its parameters: torch.save keeps the keys as
    # tensors (pickle there, a stored tensor here), the same object where it recurs.
    a = lib.nn.Parameter(lib.tensor([1.0]))
    b = lib.tensor([2.0, 3.0])
    buffer = io.BytesIO()
    lib.save({"trac": {a: lib.tensor(5.0), b: 1}, "same": a}, buffer)
    buffer.seek(0)
    loaded = lib.load(buffer, weights_only=False)
    keys = list(loaded["trac"])
    assert [k.tolist() for k in keys] == [[1.0], [2.0, 3.0]]
    assert keys[0] is loaded["same"] and keys[0].requires_grad
    assert loaded["trac"][keys[0]].item() == 5.0 and loaded["trac"][keys[1]] == 1
