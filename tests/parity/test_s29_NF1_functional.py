"""PyTorch's JIT test list of ``torch.nn.functional`` calls (``get_nn_functional_tests()``,
~170 entries) and the six modules that ``get_all_nn_module_tests()`` adds to common_nn's,
run differentially through deltagrad (tests/parity/s29_NF1_harness.py). Each check sweeps
every entry; what still differs is in KNOWN with its reason (an entry there must still
differ, with the outcome given)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import s29_NF1_harness as X  # noqa: E402

_NO_2ND = ("PyTorch has no double backward for {} ({}: 'derivative for {} is not "
           "implemented'); deltagrad's second derivatives pass its gradgradcheck "
           "(test_s29_NF1_fixes.py)")
_NO_FWAD = ("PyTorch has no forward-mode AD for {} (NotImplementedError); deltagrad's "
            "tangents (the double-VJP trick) agree with finite differences "
            "(test_s29_NF1_fixes.py)")

# "check:entry" -> (the first words of the difference, why it still differs)
KNOWN = {
    "gradgrad:pdist": ("gradgrad: PyTorch raised NotImplementedError",
                       _NO_2ND.format("pdist", "NotImplementedError", "'_pdist_backward'")),
    "gradgrad:multilabel_margin_loss": (
        "gradgrad: PyTorch raised RuntimeError",
        _NO_2ND.format("multilabel_margin_loss", "RuntimeError",
                       "aten::multilabel_margin_loss_backward")),
    "gradgrad:multi_margin_loss": (
        "gradgrad: PyTorch raised RuntimeError",
        _NO_2ND.format("multi_margin_loss", "RuntimeError", "aten::multi_margin_loss_backward")),
    **{f"fwad:{name}": ("forward AD: PyTorch raised NotImplementedError",
                        _NO_FWAD.format(name))
       for name in ("conv_tbc", "pdist", "multilabel_margin_loss", "multi_margin_loss")},
    **{f"vmap:{name}": (
        "vmap: PyTorch raised RuntimeError",
        "PyTorch's vmap has no batching rule for rrelu / rrelu_ ('vmap: we do not yet support "
        "aten::rrelu'); deltagrad's vmap loops over the batch and gives the per-sample values "
        "(evaluation mode here: no random draws)") for name in ("rrelu", "rrelu_inplace")},
}

DEFAULT = ("plain", "nograd", "float64", "noncontig", "kwargs", "strides", "warnings",
           "fwad")  # (~1.9 s of one core; gradgrad: a fixed quarter and KNOWN's, 0.4 s)


def _gradgrad_subset():
    keys = list(X.entries())
    return sorted(set(keys[::4]) | {k.split(":", 1)[1] for k in KNOWN
                                    if k.startswith("gradgrad:")})


def _sweep(check, seed=0, keys=None):
    found = {}
    for key in keys or X.entries():
        msg = X.run_entry(key, seed=seed, check=check)
        if msg:
            found[f"{check}:{key}"] = msg
    return found


def _judge(found, check, keys=None, strict=True):
    known = {k: v for k, v in KNOWN.items() if k.startswith(check + ":")
             and (keys is None or k.split(":", 1)[1] in keys)}
    new = {k: v for k, v in found.items() if k not in known}
    stale = sorted(k for k in known if k not in found)
    changed = {k: found[k] for k in known if k in found and
               not found[k].startswith(known[k][0])}
    assert not new, f"new differences from PyTorch: {new}"
    assert not stale or not strict, f"KNOWN entries that agree now (remove them): {stale}"
    assert not changed, f"KNOWN entries that differ otherwise now: {changed}"


def test_entries_collected():
    assert len(X.entries()) >= 160  # (get_nn_functional_tests(): 170 in PyTorch 2.13)
    assert set(X.module_entries()) == {"Bilinear", "RNNCell", "LSTMCell", "GRUCell",
                                       "MultiheadAttention", "Transformer"}
    assert all(reason for _, reason in KNOWN.values())
    assert {k.split(":", 1)[1] for k in KNOWN} <= set(X.entries())


@pytest.mark.parametrize("check", DEFAULT)
def test_nn_functional_list(check):
    _judge(_sweep(check), check)


def test_nn_functional_list_gradgrad_subset():
    keys = _gradgrad_subset()
    _judge(_sweep("gradgrad", keys=keys), "gradgrad", keys)


@pytest.mark.soak
def test_nn_functional_list_gradgrad():
    _judge(_sweep("gradgrad"), "gradgrad")


@pytest.mark.soak
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("check", X.CHECKS)
def test_nn_functional_list_more_seeds(check, seed):
    _judge(_sweep(check, seed), check, strict=False)  # (KNOWN's values may agree elsewhere)


@pytest.mark.soak
@pytest.mark.parametrize("check", ["float16", "bfloat16", "vmap"])
def test_nn_functional_list_more_checks(check):
    # (grid_sample in float16 / bfloat16: PyTorch's kernel rounds its coordinates and weights
    # at each step, deltagrad once: values differ beyond the dtype's tolerance, deltagrad's
    # nearer the float64 result, which the harness's third opinion accepts)
    _judge(_sweep(check), check)


@pytest.mark.parametrize("check", X.MODULE_CHECKS)
def test_jit_module_list(check):
    found = {name: msg for name in X.module_entries()
             if (msg := X.run_module(name, check=check))}
    assert not found, found
