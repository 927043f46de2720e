"""What running pytorch_optimizer's, madgrad's and thop's own suites under the alias found
(session 11, LA), each compared with PyTorch directly: torch.utils._foreach_utils, a COO
gradient set by hand stepping the optimizers, ``sparse_mask``, dense +/- sparse, ``zeros_like``
of a sparse tensor, ``S.new(indices, values, size)``, the optimizer's step-patching names,
``torch._dynamo.testing`` and the private base classes of ``torch.nn.modules``."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

LIBS = pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])


def _dense(t) -> list:
    return (t.to_dense() if t.is_sparse else t).tolist()


def _sparse_summary(s) -> tuple:
    s = s.coalesce()
    return (str(s.layout).split(".")[-1], s.sparse_dim(), s.dense_dim(), s._nnz(),
            s._indices().tolist(), s._values().tolist(), str(s.dtype).split(".")[-1])


# ------------------------------------------------------------------- torch.utils._foreach_utils

def _groups(lib, module, with_indices):
    a = [lib.zeros(1), lib.zeros(2, dtype=lib.float64), lib.ones(3), lib.zeros(1, dtype=lib.int64)]
    b = [lib.ones(1), None, lib.ones(3) * 2, lib.ones(1, dtype=lib.int64)]
    groups = module._group_tensors_by_device_and_dtype([a, b], with_indices)
    summary = {}
    for (device, dtype), (lists, indices) in groups.items():
        assert all(x is a[i] for x, i in zip(lists[0], indices or range(0)))
        summary[(device.type, str(dtype).split(".")[-1])] = (
            [[None if t is None else t.tolist() for t in tensors] for tensors in lists], indices)
    return summary


@pytest.mark.parametrize("with_indices", [True, False])
def test_group_tensors_by_device_and_dtype_as_torch(with_indices):
    from torch.utils import _foreach_utils as theirs

    from deltagrad.utils import _foreach_utils as ours
    assert _groups(dg, ours, with_indices) == _groups(torch, theirs, with_indices)
    # an empty list beside the first stays empty in every group
    for lib, module in ((dg, ours), (torch, theirs)):
        groups = module._group_tensors_by_device_and_dtype([[lib.zeros(1)], []], True)
        assert [lists for lists, _ in groups.values()][0][1] == []


def test_group_tensors_errors_as_torch():
    from torch.utils import _foreach_utils as theirs

    from deltagrad.utils import _foreach_utils as ours
    for lib, module in ((dg, ours), (torch, theirs)):
        for bad in ([], [[]], [[None]], [[lib.zeros(1), lib.zeros(1)], [lib.zeros(1)]]):
            with pytest.raises(RuntimeError):
                module._group_tensors_by_device_and_dtype(bad, True)
        assert module._has_foreach_support([lib.zeros(1), None], lib.device("cpu"))
        # (PyTorch answers False for a Parameter, a Tensor subclass there; deltagrad's
        # Parameter is a Tensor whose type() is Tensor: True, the foreach path, same numbers)
        assert "cpu" in module._get_fused_kernels_supported_devices()


# ---------------------------------------------------------------- optimizers: COO gradients

def _step_with_coo_grad(lib, name, **options):
    p = lib.ones(3, 2, requires_grad=True)
    grad = lib.tensor([[1.0, 0.0], [0.0, 0.0], [0.5, -2.0]])
    p.grad = grad.to_sparse() if name != "Adagrad_rows" else grad.to_sparse(1)
    optimizer = getattr(lib.optim, name.split("_")[0])([p], lr=0.1, **options)
    optimizer.step()
    optimizer.step()
    return p.detach().tolist()


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adagrad_rows", "SparseAdam"])
def test_hand_set_coo_gradient_steps_as_torch(name):
    np.testing.assert_allclose(_step_with_coo_grad(dg, name), _step_with_coo_grad(torch, name),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
                                  "Rprop", "Adafactor"])
def test_hand_set_coo_gradient_refused_as_torch(name):
    for lib in (dg, torch):
        with pytest.raises(RuntimeError, match="does not support sparse gradients"):
            _step_with_coo_grad(lib, name)


def test_adamw_sparse_refusal_names_sparse_gradients():
    """(pytorch_optimizer probes each optimizer for sparse support by that phrase)"""
    for lib in (dg, torch):
        with pytest.raises(RuntimeError, match="does not support sparse gradients"):
            _step_with_coo_grad(lib, "AdamW", weight_decay=0.01)


def test_wrapper_optimizer_patch_step_function_runs_hooks():
    """pytorch_optimizer's wrappers (Lookahead, Magma) skip Optimizer.__init__ and call
    ``_patch_step_function`` themselves; the step hooks then run as in PyTorch."""
    for lib in (dg, torch):
        class Wrapper(lib.optim.Optimizer):
            def __init__(self, inner):
                self._optimizer_step_pre_hooks = OrderedDict()
                self._optimizer_step_post_hooks = OrderedDict()
                self._patch_step_function()
                self.inner = inner
                self.param_groups = inner.param_groups
                self.defaults = inner.defaults
                self.state = inner.state

            def step(self, closure=None):
                return self.inner.step(closure)

        p = lib.ones(2, requires_grad=True)
        p.grad = lib.ones(2)
        wrapper = Wrapper(lib.optim.SGD([p], lr=0.5))
        calls = []
        wrapper.register_step_pre_hook(lambda *_, calls=calls: calls.append("pre"))
        wrapper.register_step_post_hook(lambda *_, calls=calls: calls.append("post"))
        wrapper.step()
        assert calls == ["pre", "post"] and p.tolist() == [0.5, 0.5]
        assert wrapper._zero_grad_profile_name == "Optimizer.zero_grad#Wrapper.zero_grad"
        wrapper._optimizer_step_code()
        assert callable(lib.optim.Optimizer.profile_hook_step)


# ---------------------------------------------------------------------- sparse tensor pieces

MASKS = {
    "coalesced": lambda lib: lib.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]).to_sparse(),
    "rows": lambda lib: lib.tensor([[1.0, 0.0], [0.0, 0.0], [3.0, 3.0]]).to_sparse(1),
    "uncoalesced": lambda lib: lib.sparse_coo_tensor([[1, 0, 1], [1, 0, 1]], [1.0, 2.0, 3.0],
                                                     (3, 2)),
}


@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_sparse_mask_as_torch(mask, dtype):
    got = []
    for lib in (dg, torch):
        dense = lib.arange(6).reshape(3, 2).to(getattr(lib, dtype))
        out = dense.sparse_mask(MASKS[mask](lib))
        got.append((out.is_coalesced(), out._indices().tolist(), out._values().tolist(),
                    str(out.dtype).split(".")[-1], tuple(out.shape)))
    assert got[0] == got[1]


def test_sparse_mask_values_are_writable_and_errors_as_torch():
    for lib in (dg, torch):
        masked = lib.arange(6.0).reshape(3, 2).sparse_mask(MASKS["coalesced"](lib))
        masked._values().add_(10.0)  # (MADGRAD updates the masked copy through its values)
        assert _dense(masked) == [[10.0, 0.0], [0.0, 13.0], [0.0, 0.0]]
        with pytest.raises(RuntimeError, match="incompatible sizes"):
            lib.ones(2, 2).sparse_mask(MASKS["coalesced"](lib))
        with pytest.raises(NotImplementedError):
            lib.ones(3, 2).sparse_mask(lib.ones(3, 2))


@LIBS
def test_dense_plus_minus_sparse_is_dense(lib):
    g = lib.tensor([[1.0, 0.0], [0.0, 2.0]]).to_sparse()
    d = lib.ones(2, 2)
    assert lib.add(d, g).layout == lib.strided
    assert lib.add(d, g).tolist() == [[2.0, 1.0], [1.0, 3.0]]
    assert lib.add(d, g, alpha=2).tolist() == [[3.0, 1.0], [1.0, 5.0]]
    assert lib.sub(d, g).tolist() == (d - g).tolist() == [[0.0, 1.0], [1.0, -1.0]]
    assert d.sub(g, alpha=0.5).tolist() == [[0.5, 1.0], [1.0, 0.0]]
    x = lib.ones(2, 2)
    x.add_(g, alpha=-1)
    x -= g
    assert x.tolist() == [[-1.0, 1.0], [1.0, -3.0]]
    with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
        g - d


@pytest.mark.parametrize("sparse_dim", [1, 2])
def test_zeros_like_of_sparse_as_torch(sparse_dim):
    got = []
    for lib in (dg, torch):
        g = lib.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]).to_sparse(sparse_dim)
        z = lib.zeros_like(g, dtype=lib.float64)
        e = lib.empty_like(g)
        dense = lib.zeros_like(g, layout=lib.strided)
        got.append((_sparse_summary(z), _sparse_summary(e), z.is_coalesced(),
                    str(dense.layout).split(".")[-1], dense.tolist(),
                    lib.zeros_like(g, requires_grad=True).requires_grad))
        with pytest.raises(NotImplementedError):
            lib.ones_like(g)
    assert got[0] == got[1]


def test_sparse_new_from_indices_and_values_as_torch():
    got = []
    for lib in (dg, torch):
        g = lib.tensor([[1.0, 0.0], [0.0, 2.0]]).to_sparse()
        got.append((_sparse_summary(g.new(g._indices(), g._values() * 3, g.size())),
                    _sparse_summary(g.new(g._indices(), g._values()))))
    assert got[0] == got[1]


# ------------------------------------------------------------ torch._dynamo.testing, nn bases

def test_dynamo_testing_compile_counter():
    from torch._dynamo.testing import CompileCounter as TheirCounter

    from deltagrad._dynamo.testing import CompileCounter, CompileCounterWithBackend

    class Node:
        def __init__(self, op):
            self.op = op

    class Graph:
        nodes = [Node("placeholder"), Node("call_function"), Node("call_module"),
                 Node("output")]

    class Module:
        graph = Graph()

        def forward(self, x):
            return x

    for counter in (CompileCounter(), TheirCounter()):
        assert (counter.frame_count, counter.op_count) == (0, 0)
        assert counter(Module(), [])(5) == 5
        assert (counter.frame_count, counter.op_count) == (1, 2)
        counter.clear()
        assert (counter.frame_count, counter.op_count) == (0, 0)
    with_backend = CompileCounterWithBackend("eager")
    with_backend(Module(), [])
    assert with_backend.frame_count == 1 and len(with_backend.graphs) == 1
    assert dg._dynamo.is_dynamo_supported() is False  # (suites skip compile tests on it)


BASES = {
    "padding": ["_ConstantPadNd", "_ReflectionPadNd", "_ReplicationPadNd", "_CircularPadNd"],
    "batchnorm": ["_NormBase", "_BatchNorm"],
    "instancenorm": ["_InstanceNorm"],
    "conv": ["_ConvNd", "_ConvTransposeNd"],
    "dropout": ["_DropoutNd"],
    "pooling": ["_MaxPoolNd", "_AvgPoolNd", "_AdaptiveAvgPoolNd", "_AdaptiveMaxPoolNd",
                "_LPPoolNd", "_MaxUnpoolNd"],
}
# (The 1-d pools, Conv1d and Dropout are separate classes in deltagrad: see the README.)
NOT_YET = {"Conv1d", "LazyConv1d", "Dropout", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d",
           "AdaptiveMaxPool1d", "LPPool1d"}


@pytest.mark.parametrize("submodule", list(BASES))
def test_nn_modules_private_bases_as_torch(submodule):
    """thop and torch-pruning import these bases and walk classes' MROs through them: every
    public ``nn`` class derives from the same ones as in PyTorch."""
    import importlib
    import inspect

    for base_name in BASES[submodule]:
        theirs = getattr(importlib.import_module(f"torch.nn.modules.{submodule}"), base_name)
        ours = getattr(importlib.import_module(f"deltagrad.nn.modules.{submodule}"), base_name)
        expected = {n for n in dir(torch.nn) if inspect.isclass(getattr(torch.nn, n))
                    and issubclass(getattr(torch.nn, n), theirs)} - NOT_YET
        got = {n for n in dir(dg.nn) if inspect.isclass(getattr(dg.nn, n, None))
               and issubclass(getattr(dg.nn, n), ours)}
        assert got - NOT_YET == expected, base_name


@pytest.mark.parametrize("submodule", ["padding", "pooling", "dropout", "normalization", "rnn",
                                       "sparse", "conv", "batchnorm", "instancenorm"])
def test_nn_modules_submodules_export_torchs_public_names(submodule):
    import importlib

    theirs = importlib.import_module(f"torch.nn.modules.{submodule}")
    ours = importlib.import_module(f"deltagrad.nn.modules.{submodule}")
    names = [n for n in theirs.__all__ if hasattr(dg.nn, n)]
    assert names and all(getattr(ours, n) is getattr(dg.nn, n) for n in names)


@pytest.mark.parametrize("name, make", [
    ("elu", lambda lib: lib.nn.ELU()),
    ("interpolate", lambda lib: lib.nn.Upsample(scale_factor=2)),
    ("relu", lambda lib: lib.nn.ReLU()),  # (session 12: every layer calls through F)
    ("max_pool2d", lambda lib: lib.nn.MaxPool2d(2)),
])
def test_modules_call_functional_through_its_attribute(name, make):
    """PyTorch's modules call ``torch.nn.functional.<f>`` through the module attribute, so a
    library that patches it (ptflops's pytorch backend counts so) sees the module's call."""
    for lib in (torch, dg):
        functional = lib.nn.functional
        calls = []
        original = getattr(functional, name)

        def spy(*args, calls=calls, original=original, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)

        setattr(functional, name, spy)
        try:
            make(lib)(lib.ones(1, 1, 4, 4))
        finally:
            setattr(functional, name, original)
        assert calls == [name], lib.__name__


def test_save_load_round_trip_whatever_the_header_length(tmp_path):
    """deltagrad's checkpoints are safetensors files: 8 bytes of header length, then the
    header. A header of 0x480 bytes starts the file with ``\\x80\\x04``, a pickle's PROTO
    opcode, and load took it for a PyTorch pickle (CheckpointError); every length loads, as
    PyTorch's own save / load round-trips every object."""
    pickle_like = 0
    for n in range(0, 1600, 7):
        state = {"note": "x" * n, "w": dg.ones(3)}
        path = tmp_path / f"ckpt{n}.pt"
        dg.save(state, path)
        head = path.read_bytes()[:2]
        pickle_like += head[0] == 0x80 and 2 <= head[1] <= 5
        loaded = dg.load(path)
        assert loaded["note"] == state["note"] and loaded["w"].tolist() == [1.0] * 3
    assert pickle_like >= 2  # (the files that failed: headers of 0x280, 0x380, 0x480 bytes)
