"""Third-party libraries that lean on autograd internals and module hooks, on deltagrad (T11):
captum 0.9.0, backpack-for-pytorch 1.7.1 and higher 0.2.1.

``prog_s9_T11_libs.py`` uses each library the way its README and tutorials do and writes every
number to an .npz. It runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged). The two must agree: values to float32
tolerance (captum's attributions and convergence deltas; backpack's individual gradients,
variances, second moments, GGN / Hessian diagonals, Kronecker factors and Hessian-free
products; higher's fast weights, meta-gradients through differentiable SGD / Adam / RMSprop /
Adagrad steps and a learnable learning rate), dtypes and shapes. Random draws agree too
(deltagrad draws PyTorch's CPU stream). An exception on either side is a failure.
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T11_libs.py")
SECTIONS = {"captum": "captum", "backpack": "backpack", "higher": "higher"}
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    sections = ",".join(name for name, module in SECTIONS.items()
                        if importlib.util.find_spec(module) is not None)
    if not sections:
        pytest.skip("none of captum, backpack, higher is installed")
    folder = tmp_path_factory.mktemp("s9_T11")
    return run_both(PROGRAM, folder, sections)


def compare(real: dict, ours: dict, prefix: str, skip: tuple = ()) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL, skip=skip)


def test_captum_mlp(results):
    pytest.importorskip("captum")
    assert compare(*results, "captum.mlp") == 44


def test_captum_cnn(results):
    pytest.importorskip("captum")
    assert compare(*results, "captum.cnn") == 18


def test_captum_text_embedding_lstm(results):
    pytest.importorskip("captum")
    assert compare(*results, "captum.text") == 14


def test_captum_lrp(results):
    pytest.importorskip("captum")
    assert compare(*results, "captum.lrp") == 4


def test_captum_neuron_conductance(results):
    pytest.importorskip("captum")
    assert compare(*results, "captum.neuron") == 4


def test_backpack_first_order(results):
    pytest.importorskip("backpack")
    assert compare(*results, "backpack.first") == 172


def test_backpack_second_order(results):
    pytest.importorskip("backpack")
    assert compare(*results, "backpack.second") == 216


def test_backpack_hessian_free(results):
    pytest.importorskip("backpack")
    assert compare(*results, "backpack.hf") == 24


def test_higher_maml(results):
    pytest.importorskip("higher")
    assert compare(*results, "higher.maml") == 162


def test_higher_first_order_monkeypatch_override(results):
    pytest.importorskip("higher")
    assert compare(*results, "higher.more") == 38


@pytest.mark.parametrize("lib", ["deltagrad", "torch"])
def test_module_hook_internals_libraries_read(lib):
    """What these libraries read besides the public API, in-process on both: a module's hook
    dicts (captum's DeepLift counts ``_backward_hooks``), full backward hooks that keep the
    tensors' memory (backpack keys quantities on ``data_ptr()``), nn.parallel.scatter_gather."""
    m = pytest.importorskip(lib)
    from importlib import import_module
    scatter = import_module(f"{lib}.nn.parallel.scatter_gather").scatter
    layer = m.nn.Linear(3, 2)
    assert len(layer._backward_hooks) == 0 and len(layer._forward_hooks) == 0
    handle = layer.register_full_backward_hook(lambda module, grad_in, grad_out: None)
    seen = {}
    layer.register_forward_hook(lambda module, args, out: seen.update(arg=args[0], out=out))
    assert len(layer._backward_hooks) == 1 and len(layer._forward_hooks) == 1
    x = m.ones(4, 3, requires_grad=True)
    y = layer(x)
    assert seen["arg"].data_ptr() == x.data_ptr() and seen["out"].data_ptr() == y.data_ptr()
    y.sum().backward()
    assert x.grad.shape == (4, 3)
    handle.remove()
    assert len(layer._backward_hooks) == 0
    assert scatter({"a": 1, "b": (2, "c")}, [0, 1]) == [{"a": 1, "b": (2, "c")}] * 2
    assert scatter([1, 2], [0, 1, 2]) == [[1, 2]] * 3
