"""Differences from PyTorch that libraries' own suites showed in session 26 (LE15,
tests/programs/test_s26_LE15_suites.py), each run in both libraries: call orders, devices and
exception classes compared."""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(run):
    """``("ok", result)`` or ``("raises", exception class name)``."""
    try:
        return "ok", run()
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return "raises", type(error).__name__


# --------------------------------------------------------------------------------------------
# 1. ParameterDict / ParameterList register their parameters through register_parameter, as
# PyTorch's (which setattr them): accelerate's init_empty_weights patches it to put each new
# parameter on the meta device, and peft's low_cpu_mem_usage adapters rely on it (its IA3
# layers keep their scales in a ParameterDict: they stayed on the CPU here, 10 of peft's
# test_load_model_low_cpu_mem_usage failed). They were written into ``_parameters`` directly.

def _registrations(L):
    calls = []

    class Dict(L.nn.ParameterDict):
        def register_parameter(self, name, param):
            calls.append(("dict", name))
            super().register_parameter(name, param)

    class List(L.nn.ParameterList):
        def register_parameter(self, name, param):
            calls.append(("list", name))
            super().register_parameter(name, param)

    d = Dict({"b": L.ones(1), "a": L.nn.Parameter(L.ones(2))})
    d["c"] = L.ones(3)
    d.update([("e", L.ones(1)), ("d", L.ones(1))])
    d.setdefault("f", L.ones(1))
    d.setdefault("f", L.ones(1))  # (present: nothing registered)
    d["n"] = None  # (None: no parameter, no call)
    lst = List([L.ones(1), L.ones(2)])
    lst.append(L.ones(1))
    lst[0] = L.zeros(1)
    lst.extend([L.ones(4)])
    lst.append(None)
    return calls, list(d.keys()), [name for name, _ in d.named_parameters()], \
        [name for name, _ in lst.named_parameters()]


def test_parameter_containers_call_register_parameter():
    ours, real = _outcome(lambda: _registrations(dg)), _outcome(lambda: _registrations(torch))
    assert ours == real and ours[0] == "ok" and len(ours[1][0]) == 11


def _on_meta(L, monkeypatch):
    """Parameters made under a patched ``nn.Module.register_parameter`` that moves each to the
    meta device (what accelerate's init_empty_weights does): their device types."""
    original = L.nn.Module.register_parameter

    def register_empty(module, name, param):
        original(module, name, param)
        if param is not None:
            kept = module._parameters[name]
            module._parameters[name] = type(kept)(kept.to("meta"),
                                                  requires_grad=kept.requires_grad)

    with monkeypatch.context() as patch:
        patch.setattr(L.nn.Module, "register_parameter", register_empty)
        d = L.nn.ParameterDict({"w": L.ones(2)})
        d["v"] = L.nn.Parameter(L.ones(3))
        lst = L.nn.ParameterList([L.ones(2)])
        lst.append(L.ones(1))
        linear = L.nn.Linear(2, 2)
    assert L.nn.Module.register_parameter is original
    return [(n, p.device.type, p.requires_grad) for m in (d, lst, linear)
            for n, p in m.named_parameters()]


def test_parameter_containers_follow_a_patched_register_parameter(monkeypatch):
    ours = _outcome(lambda: _on_meta(dg, monkeypatch))
    real = _outcome(lambda: _on_meta(torch, monkeypatch))
    assert ours == real and ours[0] == "ok"
    assert {device for _, device, _ in ours[1]} == {"meta"}


@pytest.mark.parametrize("key", ["keys", "forward", "update", "x", "a.b", ""])
def test_parameter_dict_key_naming_an_attribute_raises_as_pytorch(key):
    # (PyTorch's setattr refuses a key naming a method: KeyError "attribute 'keys' already
    # exists"; the keys were taken here, reachable through [key] only)
    def run(L):
        d = L.nn.ParameterDict()
        d[key] = L.nn.Parameter(L.ones(1))
        return list(d.keys())

    ours, real = _outcome(lambda: run(dg)), _outcome(lambda: run(torch))
    assert ours == real


# --------------------------------------------------------------------------------------------
# 2. Wishart._bartlett_sampling: PyTorch's private name for one Bartlett draw (no redraw step),
# which peft's MonteCLoRA sampler calls directly (AttributeError here: 12 of peft's merge /
# training tests of its "LoRA with Monteclora" model failed). The same draws from one seed.

@pytest.mark.parametrize("sample_shape", [(), (2,), (2, 3)], ids=["scalar", "2", "2x3"])
def test_wishart_bartlett_sampling(sample_shape):
    def run(L):
        L.manual_seed(3)
        cov = L.tensor([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
        w = L.distributions.Wishart(L.tensor([5.0, 7.0]), covariance_matrix=cov)
        draw = w._bartlett_sampling(L.Size(sample_shape))
        return str(draw.dtype).split(".")[-1], tuple(draw.shape), draw.tolist()

    ours, real = _outcome(lambda: run(dg)), _outcome(lambda: run(torch))
    assert ours[0] == real[0] == "ok"
    assert ours[1][:2] == real[1][:2] == ("float32", tuple(sample_shape) + (2, 3, 3))
    assert torch.allclose(torch.tensor(ours[1][2]), torch.tensor(real[1][2]), rtol=1e-5)
