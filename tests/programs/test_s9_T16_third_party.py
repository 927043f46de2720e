"""pytorch-forecasting, torchdyn and e3nn on deltagrad (T16).

Each program (``prog_s9_T16_*.py``) runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged); the two must agree (values to float32
tolerance, dtypes, shapes, gradients, trained weights). e3nn's TensorProduct / Linear / Legendre
/ NormActivation generate their forward with torch.fx, which deltagrad has since session 14:
they must build as under PyTorch (their values: test_s14_FX_e3nn.py).
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
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences over a few training steps


PROGRAM = os.path.join(HERE, "prog_s9_T16_libs.py")  # runs the three prog_s9_T16_* programs
SECTIONS = {
    "pytorch_forecasting": ("forecasting", "data,tft,nbeats,deepar,rnn"),
    "torchdyn": ("torchdyn", "solvers,sensitivity,train,functional,shooting"),
    "e3nn": ("e3nn", "irreps,harmonics,rotations,math,nn,fx"),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) for the installed libraries: one process per side
    (the imports of torch and Lightning dominate the time)."""
    chosen = [f"{name}.{section}" for library, (name, sections) in SECTIONS.items()
              if importlib.util.find_spec(library) is not None for section in sections.split(",")]
    if not chosen:
        pytest.skip("none of pytorch-forecasting, torchdyn, e3nn is installed")
    folder = tmp_path_factory.mktemp("s9_T16")
    return run_both(PROGRAM, folder, ",".join(chosen), env={"PL_DISABLE_FORK": "1"},
                    side_args=lambda side: [str(folder / side)])


@pytest.fixture()
def forecasting(results):
    pytest.importorskip("pytorch_forecasting")
    return results


@pytest.fixture()
def torchdyn_runs(results):
    pytest.importorskip("torchdyn")
    return results


@pytest.fixture()
def e3nn_runs(results):
    pytest.importorskip("e3nn")
    return results


def compare(real: dict, ours: dict, prefix: str, **kwargs) -> int:
    return alias_runs.compare(real, ours, prefix, rtol=kwargs.pop("rtol", RTOL),
                              atol=kwargs.pop("atol", ATOL), **kwargs)


def test_forecasting_dataset(forecasting):
    real, ours = forecasting
    assert compare(real, ours, "data") >= 40
    assert int(ours["data.len"]) == int(real["data.len"]) > 0


@pytest.mark.parametrize("section", ["tft", "nbeats", "deepar", "rnn"])
def test_forecasting_models_forward_fit_predict(forecasting, section):
    # TFT trains with SGD: under Adam its first step turns rounding noise into lr-sized moves
    # (static_variable_selection.single_variable_grns.group.norm.weight has a gradient that is
    # 0 in deltagrad and ~1e-9 noise in PyTorch), so Adam trajectories cannot be compared.
    real, ours = forecasting
    assert compare(real, ours, section) >= 15
    assert float(ours[f"{section}.fit.moved" if section != "rnn" else "rnn.LSTM.fit.moved"]) > 0


def test_torchdyn(torchdyn_runs):
    real, ours = torchdyn_runs
    for section, least in (("solvers", 30), ("sensitivity", 30), ("train", 10),
                           ("functional", 6), ("shooting", 8)):
        assert compare(real, ours, section) >= least, section
    # The implicit-Euler solution comes from an LBFGS solve on a detached copy: no gradient
    # reaches the vector field, in both.
    assert str(ours["solvers.ieuler.grads.0"]) == "None"
    assert float(ours["solvers.f64.traj"].ravel()[-1]) == pytest.approx(
        float(ours["solvers.f64.exact"].ravel()[-1]), rel=1e-6)


def test_e3nn_without_fx(e3nn_runs):
    real, ours = e3nn_runs
    for section, least in (("irreps", 10), ("harmonics", 8), ("math", 8), ("nn", 10)):
        assert compare(real, ours, section) >= least, section
    # Wigner D matrices are matrix exponentials: PyTorch's float32 matrix_exp is off by up to
    # ~1e-6 per entry (deltagrad's ~3e-8, against SciPy's float64 expm), and e3nn multiplies
    # three of them, so the two agree to ~1e-5 there.
    assert compare(real, ours, "rotations", atol=3e-5) >= 15
    assert float(ours["harmonics.equivariance"]) < 1e-5  # (e3nn rotates in float32 inside)


def test_e3nn_fx_modules_build(e3nn_runs):
    # (session 14: deltagrad.fx traces; e3nn's fx-generated modules build as in PyTorch)
    real, ours = e3nn_runs
    for name in ("fctp", "linear", "elementwise", "legendre", "norm_activation"):
        assert str(real[f"fx.{name}"]) == str(ours[f"fx.{name}"]) == "built", name
        assert int(ours[f"fx.{name}.n_params"]) == int(real[f"fx.{name}.n_params"]), name


def test_pad_packed_sequence_layout_matches():
    """pad_packed_sequence(batch_first=True) is contiguous exactly when PyTorch's is (after the
    unsorting index_select): the layout decides the order a later dropout draws its mask in
    (pytorch-forecasting's TFT trained differently before)."""
    from torch.nn.utils import rnn as torch_rnn

    import deltagrad as dg
    from deltagrad.nn.utils import rnn as dg_rnn

    x = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32)
    for lengths, enforce in (([4, 3, 2], True), ([3, 4, 2], False)):
        for batch_first in (True, False):
            got = []
            for lib, rnn in ((dg, dg_rnn), (torch, torch_rnn)):
                packed = rnn.pack_padded_sequence(lib.from_numpy(x), lengths, batch_first=True,
                                                  enforce_sorted=enforce)
                out, out_lengths = rnn.pad_packed_sequence(packed, batch_first=batch_first)
                got.append((out.detach().numpy(), out.is_contiguous(), tuple(out.stride()),
                            out_lengths.tolist()))
            np.testing.assert_array_equal(got[0][0], got[1][0])
            assert got[0][1:] == got[1][1:], (lengths, batch_first)

    torch.manual_seed(0)
    dg.manual_seed(0)
    masks = []
    for lib, rnn in ((dg, dg_rnn), (torch, torch_rnn)):
        packed = rnn.pack_padded_sequence(lib.ones(3, 4, 8), [3, 4, 2], batch_first=True,
                                          enforce_sorted=False)
        out, _ = rnn.pad_packed_sequence(packed, batch_first=True)
        lib.manual_seed(3)
        masks.append(lib.nn.functional.dropout(out, 0.5, True).numpy() == 0)
    np.testing.assert_array_equal(masks[0], masks[1])


def test_small_torch_names():
    """What the libraries needed: torch.cat(out=), torch._assert, torch.DeviceObjType,
    torch._C._mps_is_available, torch.distributions.transforms._clipped_sigmoid."""
    import deltagrad as dg
    from deltagrad.distributions.transforms import _clipped_sigmoid

    for lib in (dg, torch):
        out = lib.zeros(4, dtype=lib.float64)
        assert lib.cat([lib.ones(2), lib.zeros(2)], out=out) is out
        assert out.dtype == lib.float64 and out.tolist() == [1.0, 1.0, 0.0, 0.0]
        with pytest.raises(RuntimeError, match="out="):
            lib.cat([lib.ones(2, requires_grad=True)], out=lib.zeros(2))
        with pytest.raises(AssertionError, match="why"):
            lib._assert(lib.tensor(False), "why")
        lib._assert(lib.tensor(True), "never")
        assert not isinstance(lib.device("cpu"), lib.DeviceObjType)
        assert (str | lib.DeviceObjType).__args__ == (str, lib.DeviceObjType)
        assert lib._C._mps_is_available() is False
    x = np.array([-200.0, 0.0, 3.0, 200.0], np.float32)
    from torch.distributions.transforms import _clipped_sigmoid as torch_clipped

    np.testing.assert_array_equal(_clipped_sigmoid(dg.from_numpy(x)).numpy(),
                                  torch_clipped(torch.from_numpy(x)).numpy())
