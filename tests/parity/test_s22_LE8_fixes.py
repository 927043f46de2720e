"""Fixes found by LE8 (session 22) running botorch's API and sbi's / opacus's suites under the
alias; each differential against PyTorch, in a fresh process per side (the class statements
under test change what ``torch.Tensor``'s methods are for the rest of a process).

- ``tensor * op`` for a class that is no Tensor subclass and keys ``torch.Tensor.mul`` in its
  class body (linear_operator's ``@_implements_second_arg(torch.Tensor.mul)``): the handler
  was given the method's argument-dispatching wrapper, made after the body ran, and raised
  NotImplementedError (botorch's LinearTruncatedFidelityKernel, SingleTaskMultiFidelityGP).
- pickle / ``copy.copy`` of a tensor with a ``grad_fn`` gives a leaf that requires grad, as
  PyTorch's; deltagrad's pickled the graph's ops and failed on their sample functions
  (gpytorch's ``LinearOperator`` pickles with its cached non-leaf tensors).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import pickle
import sys

import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A class whose body keys Tensor's methods, as linear_operator's LinearOperator does; then a
# class that names __torch_function__ but does not dispatch (its wrappers are taken back).
_KEYED = r"""
import json, sys
import torch

HANDLED = {}


def second(func):
    def decorate(method):
        HANDLED[func] = method.__name__
        return method
    return decorate


class Op:
    def __init__(self, value):
        self.value = value

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if not isinstance(args[0], cls) and func in HANDLED:
            return getattr(args[1], HANDLED[func])(args[0])
        raise NotImplementedError(f"{func.__name__} not handled")  # (as linear_operator)

    @second(torch.Tensor.mul)
    def __rmul__(self, other):
        return ("rmul", (other * self.value).tolist())

    @second(torch.Tensor.add)
    def __radd__(self, other):
        return ("radd", (other + self.value).tolist())

    @second(torch.Tensor.sub)
    def __rsub__(self, other):
        return ("rsub", (other - self.value).tolist())


t = torch.tensor([1.0, 2.0])
out = {}
for name, call in (("mul", lambda: t * Op(3.0)), ("add", lambda: t + Op(3.0)),
                   ("sub", lambda: t - Op(3.0)), ("method", lambda: t.mul(Op(2.0)))):
    try:
        out[name] = call()
    except Exception as error:
        out[name] = type(error).__name__
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
"""

_NOT_DISPATCHING = r"""
import json, sys
import torch

before = torch.Tensor.add


class Quiet:
    __torch_function__ = torch._C._disabled_torch_function_impl


t = torch.tensor([1.0, 2.0])
with open(sys.argv[1], "w") as f:
    json.dump({"same": torch.Tensor.add is before, "sum": (t + t).tolist(),
               "mm": (t.reshape(2, 1) @ t.reshape(1, 2)).tolist()}, f)
"""


def _alias_runs():
    """tests/programs/alias_runs.py, the module the program tests use (its servers are this
    process's: one per side, shared with them)."""
    if "alias_runs" not in sys.modules:
        sys.path.append(os.path.join(ROOT, "tests", "programs"))  # (last: shadows nothing)
    return importlib.import_module("alias_runs")


def _both(program: str, folder) -> tuple:
    """(PyTorch's JSON, deltagrad's JSON) of ``program`` run in a process per side, each
    forked from its side's server in tests/programs/alias_runs.py (a fresh process's argv,
    environment and path, the library already imported: s25, TT5, four fresh interpreters
    importing torch or deltagrad cost ~6 CPU s) or fresh with ``DELTAGRAD_TEST_FRESH=1``."""
    path = folder / "program.py"
    path.write_text(program)
    alias_runs = _alias_runs()
    commands = {side: [str(path), str(folder / f"{side}.json")] for side in alias_runs.SIDES}
    for side, (returncode, stderr) in alias_runs.run_each(commands, folder).items():
        assert returncode == 0, f"{side}: {stderr[-2000:]}"
    return tuple(json.loads((folder / f"{side}.json").read_text())
                 for side in ("torch", "deltagrad"))


def test_tensor_methods_keyed_in_class_body(tmp_path):
    real, ours = _both(_KEYED, tmp_path)
    assert real["mul"] == ["rmul", [3.0, 6.0]]  # (the program is right on PyTorch)
    assert ours == real


def test_not_dispatching_class_leaves_methods_plain(tmp_path):
    real, ours = _both(_NOT_DISPATCHING, tmp_path)
    assert ours == real
    assert ours["same"] is True


def _leaf_state(t) -> tuple:
    return (t.tolist(), t.requires_grad, t.is_leaf, t.grad_fn is None, str(t.dtype)[-7:])


@pytest.mark.parametrize("how", ["pickle", "copy"])
def test_graph_node_pickles_as_leaf(how):
    import deltagrad as dg

    results = []
    for lib in (torch, dg):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * x + 1
        z = pickle.loads(pickle.dumps(y)) if how == "pickle" else copy.copy(y)
        z.sum().backward()  # (a leaf of its own: its grad is ones, x's untouched)
        results.append((_leaf_state(z), z.grad.tolist(), x.grad))
    (real_state, real_grad, real_x), (state, grad, x_grad) = results
    assert real_state == state and real_grad == grad
    assert real_x is None and x_grad is None
    # (the graph of the original node is kept)
    y = (dg.tensor([1.0, 2.0], requires_grad=True) * 3).exp()
    pickle.dumps(y)
    assert y.grad_fn is not None and not y.is_leaf
