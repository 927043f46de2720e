"""schedulefree, pytorch-warmup, torch-lr-finder, pytorch-msssim, piq, blitz-bayesian-pytorch,
torchquad, torchode and pytorch-tcn on deltagrad (T21).

One program (``prog_s10_T21_libs.py``) runs twice, at the same time: on the real PyTorch and
under ``python -m deltagrad run`` (the script unchanged); the two must agree (values to float32
tolerance, dtypes, shapes, gradients, optimizer / scheduler trajectories, adaptive step counts).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s10_T21_libs.py")
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences over a few training steps
# section -> the module it needs
LIBRARIES = {"schedulefree": "schedulefree", "warmup": "pytorch_warmup",
             "lr_finder": "torch_lr_finder", "msssim": "pytorch_msssim", "piq": "piq",
             "blitz": "blitz", "bayesian": "bayesian_torch", "torchquad": "torchquad",
             "torchode": "torchode", "tcn": "pytorch_tcn"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) for every installed library: one process per side
    (importing torch dominates the time)."""
    chosen = [section for section, module in LIBRARIES.items()
              if importlib.util.find_spec(module) is not None]
    if not chosen:
        pytest.skip("none of T21's libraries is installed")
    folder = tmp_path_factory.mktemp("s10_T21")
    return run_both(PROGRAM, folder, ",".join(chosen), env={"LOGURU_LEVEL": "ERROR"})


def runs(results, section: str) -> tuple:
    if section in ("piq", "bayesian"):
        # (importing piq imports torchvision, whose compiled operators need the torchvision
        # build of this torch: the program gives both sides a stand-in, see its run_piq;
        # bayesian-torch's imports need stand-ins under deltagrad, see run_bayesian)
        if importlib.util.find_spec(LIBRARIES[section]) is None:
            pytest.skip(f"{LIBRARIES[section]} is not installed")
    else:
        pytest.importorskip(LIBRARIES[section])
    return results


def compare(real: dict, ours: dict, prefix: str, **kwargs) -> int:
    return alias_runs.compare(real, ours, prefix, rtol=kwargs.pop("rtol", RTOL),
                              atol=kwargs.pop("atol", ATOL), **kwargs)


def test_schedulefree(results):
    real, ours = runs(results, "schedulefree")
    assert compare(real, ours, "schedulefree") >= 60
    # Training moved the model and eval() swaps in the averaged point (evaluated loss differs
    # from the training loss at y).
    losses = ours["schedulefree.adamw.losses"]
    assert losses[-1] < losses[0]
    assert ours["schedulefree.adamw.evals"].shape == (2,)


def test_pytorch_warmup(results):
    real, ours = runs(results, "warmup")
    assert compare(real, ours, "warmup") >= 30
    lrs = ours["warmup.linear_cos.lrs"]
    assert lrs[0, 0] < lrs[3, 0]  # warming up: the learning rate grows over the first steps
    assert lrs[0, 0] / lrs[0, 1] == pytest.approx(2.0)  # per group, scaled alike


def test_torch_lr_finder(results):
    real, ours = runs(results, "lr_finder")
    assert compare(real, ours, "lr_finder") >= 30
    lrs = ours["lr_finder.exp_sgd.lr"]
    assert len(lrs) > 5 and np.all(np.diff(lrs) > 0)


def test_pytorch_msssim(results):
    real, ours = runs(results, "msssim")
    assert compare(real, ours, "msssim") >= 20
    assert 0 < float(ours["msssim.ssim"].min()) < float(ours["msssim.ssim"].max()) < 1


def test_piq(results):
    real, ours = runs(results, "piq")
    assert not [key for key in ours if key.startswith("piq.") and key.endswith(".error")]
    # VIF subtracts squared local means from local second moments in float32: the two differ
    # by ~1e-5 there (deltagrad's float32 is the closer to the float64 value, compared tightly
    # as piq.vif_p64).
    loose = {key: 2e-5 for key in ("piq.vif_p", "piq.vif_p.grad", "piq.loss.VIFLoss",
                                   "piq.loss.VIFLoss.grad")}
    # FSIM / SR-SIM / VSI go through float32 FFTs, whose rounding PyTorch's kernels choose by
    # CPU: on an AMD EPYC (AVX2) their gradients differ by up to 1.1e-5 (1e-6 on Intel AVX-512).
    loose.update({key: 3e-5 for key in ("piq.fsim.grad", "piq.srsim.grad", "piq.vsi.grad")})
    assert compare(real, ours, "piq", atol_for=loose) >= 90
    assert float(ours["piq.fid_self"]) == pytest.approx(0, abs=1e-3)  # (sqrtm: ~6e-5)


def test_blitz(results):
    real, ours = runs(results, "blitz")
    assert compare(real, ours, "blitz", rtol=1e-9, atol=1e-10) >= 40  # (float64 throughout)
    np.testing.assert_array_equal(ours["blitz.frozen.0"], ours["blitz.frozen.1"])
    assert not np.array_equal(ours["blitz.predict.0"], ours["blitz.predict.1"])  # sampled


def test_bayesian_torch(results):
    """Reparameterization / Flipout layers (linear, conv, LSTM), their KL terms, dnn_to_bnn
    with MOPED priors and a few SGD steps. (Importing bayesian-torch under deltagrad needs the
    program's stand-ins for torch.quantization.observer / .qconfig and torch.nn.quantized,
    which deltagrad lacks: see the report.)"""
    real, ours = runs(results, "bayesian")
    assert compare(real, ours, "bayesian") >= 45


def test_torchquad(results):
    real, ours = runs(results, "torchquad")
    assert compare(real, ours, "torchquad", rtol=1e-10, atol=1e-12,
                   atol_for={"torchquad.f32": 2e-6}) >= 12
    for name in ("trapezoid", "simpson", "boole", "gauss"):
        assert float(ours[f"torchquad.{name}"]) == pytest.approx(1.157577, abs=1e-3)


def test_torchode(results):
    real, ours = runs(results, "torchode")
    # Step counts are compared exactly: the float64 solves make the same accept / reject
    # decisions as PyTorch.
    assert compare(real, ours, "torchode", rtol=1e-7, atol=1e-9, skip=("torchode.f32",)) >= 40
    assert compare(real, ours, "torchode.f32") == 4
    np.testing.assert_allclose(ours["torchode.batched.ys"], ours["torchode.batched.exact"],
                               rtol=1e-5)


def test_pytorch_tcn(results):
    real, ours = runs(results, "tcn")
    assert compare(real, ours, "tcn") >= 60
    # Streaming a causal TCN block by block gives the whole-sequence output.
    np.testing.assert_allclose(ours["tcn.stream.blocks"], ours["tcn.stream.whole"], atol=1e-6)


def test_einsum_backward_ignores_inplace_change_of_constant_operand():
    """einsum's backward reads an operand only for the other operands' gradients (PyTorch saves
    no more): torchode's Runge-Kutta step writes k[i] in place after einsum(a[i, :i], k[:i])
    with a constant tableau. An operand that is read still raises PyTorch's error."""
    import deltagrad as dg

    for lib in (dg, torch):
        a = lib.tensor([0.5, 0.25])
        k = lib.ones(3, 2, 4, requires_grad=True).clone()
        k[2] = lib.einsum("j,jbf->bf", a, k[:2]) * 2
        k.sum().backward()
        a = lib.tensor([0.5, 0.25], requires_grad=True)
        k = lib.ones(3, 2, 4).clone()
        y = lib.einsum("j,jbf->bf", a, k[:2])
        k[1] = 1.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("changed", ["x", "w", "b"])
@pytest.mark.parametrize("partner_grad", [False, True])
def test_linear_backward_reads_what_pytorch_saves(bias, changed, partner_grad):
    """F.linear's backward reads the input only for the weight's gradient and the weight only
    for the input's: an in-place change of an operand whose partner needs no gradient passes
    (a constant weight), as in PyTorch; the others raise its error in both."""
    import deltagrad as dg

    if changed == "b" and not bias:
        pytest.skip("no bias to change")
    outcomes = []
    for lib in (dg, torch):
        x = lib.ones(3, 4, requires_grad=changed == "x" or partner_grad) * 1.0
        w = lib.ones(2, 4, requires_grad=changed == "w" or partner_grad) * 1.0
        b = lib.ones(2, requires_grad=True) * 1.0 if bias else None
        y = lib.nn.functional.linear(x, w, b)
        {"x": x, "w": w, "b": b}[changed].mul_(2)
        try:
            y.sum().backward()
            outcomes.append("ok")
        except RuntimeError as error:
            assert "modified by an inplace operation" in str(error)
            outcomes.append("raised")
    assert outcomes[0] == outcomes[1]
    if changed != "b" and not partner_grad:
        assert outcomes[0] == "ok"  # (what deltagrad refused before)
