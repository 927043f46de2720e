"""Third-party libraries on deltagrad (T5): gpytorch with linear_operator, torchsde, torch-ema.

``prog_s8_T5_gp_sde_ema.py`` uses each library the way its README and tutorials do and writes
every number to an .npz. It runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged). The two must agree: values to float32
tolerance (GP training losses and hyperparameters, predictive means and variances with
fast_pred_var off and on, CG / Lanczos solves and stochastic log-determinants with their
gradients, variational ELBOs, SDE solutions and gradients of six solvers and the adjoint,
Brownian increments, EMA weights), dtypes and shapes. The random draws agree too: deltagrad
draws PyTorch's CPU random stream (gpytorch's probe vectors and samples, torchsde's Brownian
motion). An exception on either side is a failure.
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")


def _needs(library: str) -> None:
    # (found, not imported: gpytorch imports pyro, whose import re-registers PyTorch's
    # transform_to(positive_definite) for every later test in the test process)
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")

import deltagrad  # noqa: E402
from deltagrad.distributions.utils import _standard_normal  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_T5_gp_sde_ema.py")  # (+ prog_s8_T5_sde_ema.py)
SECTIONS = ("gpytorch", "torchsde", "torch_ema")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps


def _size_from_broadcast_shapes() -> bool:
    return isinstance(deltagrad.broadcast_shapes((1, 3), (2, 1)), deltagrad.Size)


def _split_takes_split_size() -> bool:
    try:
        deltagrad.zeros(4).split(split_size=2)
    except TypeError:
        return False
    return True


def _function_takes_sparse_input() -> bool:
    class Product(deltagrad.autograd.Function):
        @staticmethod
        def forward(ctx, matrix, x):
            return deltagrad.sparse.mm(matrix, x)

        @staticmethod
        def backward(ctx, g):
            return None, g

    matrix = deltagrad.sparse_coo_tensor(deltagrad.tensor([[0, 1], [1, 0]]),
                                         deltagrad.tensor([1.0, 2.0]), (2, 2))
    try:
        Product.apply(matrix, deltagrad.ones(2, 1, requires_grad=True))
    except (AttributeError, TypeError):
        return False
    return True


SIZE_FROM_BROADCAST = _size_from_broadcast_shapes()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    sections = ",".join(name for name in SECTIONS if importlib.util.find_spec(name) is not None)
    if not sections:
        pytest.skip("none of gpytorch, torchsde, torch_ema is installed")
    folder = tmp_path_factory.mktemp("s8_T5")
    return run_both(PROGRAM, folder, sections)


def compare(real: dict, ours: dict, prefix: str) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL)


needs_size = pytest.mark.xfail(
    not SIZE_FROM_BROADCAST, strict=True,
    reason="deltagrad.broadcast_shapes returns a tuple, not a Size: linear_operator's "
           "SumLinearOperator.shape[-2:].numel() raises AttributeError (every exact-GP "
           "prediction and every variational GP)")


def test_standard_normal_draws_torchs_stream():
    torch.manual_seed(3)
    deltagrad.manual_seed(3)
    expected = torch.distributions.utils._standard_normal((2, 3), torch.float64, None)
    got = _standard_normal((2, 3), deltagrad.float64, None)
    assert got.dtype == deltagrad.float64 and tuple(got.shape) == (2, 3)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_torch_ema(results):
    _needs("torch_ema")
    assert compare(*results, "ema") == 14


def test_torchsde_solvers_and_brownian_motion(results):
    _needs("torchsde")
    assert compare(*results, "sde.solvers") == 34
    assert compare(*results, "sde.brownian") == 6


@pytest.mark.xfail(not _split_takes_split_size(), strict=True,
                   reason="Tensor.split(split_size=...) (PyTorch's keyword) is a TypeError")
def test_torchsde_adjoint_and_latent_sde(results):
    _needs("torchsde")  # (both split the augmented state with split_size=)
    assert compare(*results, "sde.adjoint") == 10
    assert compare(*results, "sde.latent") == 16


def test_gpytorch_operators_kernels_distributions_more(results):
    _needs("gpytorch")
    assert compare(*results, "gp.operators") == 48
    assert compare(*results, "gp.distributions") == 12
    assert compare(*results, "gp.kernels") == 30
    assert compare(*results, "gp.classification") == 6
    assert compare(*results, "gp.more") == 20


@needs_size
def test_gpytorch_exact_cg_multitask_variational_lists(results):
    _needs("gpytorch")
    assert compare(*results, "gp.exact") == 28
    assert compare(*results, "gp.cg") == 10
    assert compare(*results, "gp.multitask") == 5
    assert compare(*results, "gp.svgp") == 7
    assert compare(*results, "gp.priors") == 19
    assert compare(*results, "gp.lists") == 15


def test_gpytorch_lmc_multitask_variational(results):
    # (linear_operator's Matmul backward takes autograd.grad through part of the graph that the
    # outer backward walks later: it runs since grad() runs only the nodes on paths to its
    # inputs, session 9)
    _needs("gpytorch")
    assert compare(*results, "gp.lmc") == 6


@pytest.mark.xfail(not (_function_takes_sparse_input() and SIZE_FROM_BROADCAST), strict=True,
                   reason="a sparse COO tensor passed to autograd.Function.apply raises "
                          "(KISS-GP's interpolation)")
def test_gpytorch_ski(results):
    _needs("gpytorch")
    assert compare(*results, "gp.ski") == 3
