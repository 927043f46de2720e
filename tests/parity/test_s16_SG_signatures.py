"""Keyword names and defaults of deltagrad's public API against PyTorch's own signatures.

Real programs call with keywords and rely on defaults: a missing keyword is a crash, a different
default a silent wrong answer. The sweeps live in s16_SG_harness.py: Python-level APIs compared
by ``inspect.signature`` (names, kinds, default values), torch.* functions and Tensor methods by
CALLING each ATen schema keyword (its default, and another value) on OpInfo samples in both
libraries. What stays different is in the KNOWN tables below, each with its reason; a new
difference, or a KNOWN entry that no longer differs, fails.
"""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import s16_SG_harness as sg  # noqa: E402
from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(16)
A34 = RNG.standard_normal((3, 4)).astype(np.float32)
A234 = RNG.standard_normal((2, 3, 4)).astype(np.float32)

# ----------------------------------------------------------------------------------------------
# Python-level signatures (inspect.signature on both sides): names, kinds, default values.

KNOWN_PYTHON = {
    ("utils.data.random_split", "generator", "default"):
        "None: the default generator (PyTorch names its default_generator object: same draws "
        "source, deltagrad's own)",
    ("autograd.backward", "grad_variables", "missing"):
        "PyTorch's deprecated alias of grad_tensors (warns since 1.x); not taken",
    ("autograd.backward", "grad_variables", "order"): "the deprecated alias above",
    ("func.jacrev", "_preallocate_and_copy", "missing"): "private switch of PyTorch's",
    ("save", "pickle_module", "default"):
        "None: deltagrad writes safetensors and never pickles (the module is unused)",
    ("save", "_disable_byteorder_record", "missing"): "private switch of PyTorch's zip writer",
    ("torch.split", "tensor", "missing"):
        "deltagrad's first parameter is input (shared with Tensor.split); torch.split(tensor=) "
        "by keyword not seen in real code",
    ("torch.split", "tensor", "order"): "the name above",
    ("Tensor.split", "split_size", "keyword_only"):
        "the method's second parameter is split_size_or_sections (the function's name, which "
        "PyTorch's method also takes); split_size= by keyword works",
    ("Tensor.split", "split_size", "order"): "the keyword_only entry above",
}
# Removed from PyTorch (1.9 deprecations): both libraries raise RuntimeError on any call.
for _name, _params in (("torch.eig", ("self", "eigenvectors", "e", "v")),
                       ("torch.symeig", ("input", "eigenvectors", "upper", "out")),
                       ("torch.matrix_rank", ("input", "tol", "symmetric", "out")),
                       ("Tensor.eig", ("eigenvectors",)), ("Tensor.symeig", ("eigenvectors",)),
                       ("Tensor.lstsq", ("other",)), ("Tensor.solve", ("other",)),
                       ("Tensor.reinforce", ("reward",))):
    for _param in _params:
        KNOWN_PYTHON[(_name, _param, "missing")] = "removed in PyTorch: both raise"


def test_python_signatures_match_or_are_known():
    n_functions, n_params, diffs = sg.python_sweep()
    assert n_functions > 700 and n_params > 2500  # (the surfaces were all found)
    found = {d[:3]: d[3] for d in diffs}
    new = {k: v for k, v in found.items() if k not in KNOWN_PYTHON}
    stale = [k for k in KNOWN_PYTHON if k not in found]
    assert not new, f"new signature differences: {new}"
    assert not stale, f"KNOWN entries that no longer differ: {stale}"


def test_signature_diff_sees_each_kind():
    """The comparison itself: a renamed, re-defaulted, keyword-only or reordered parameter."""
    def theirs(x, dim=-1, keepdim=False, scale=1.0):
        return x

    def ours_default(x, dim=0, keepdim=False, scale=1):  # (1 == 1.0: the same number)
        return x

    def ours_renamed(x, axis=-1, keepdim=False, scale=1.0):
        return x

    def ours_keyword_only(x, *, dim=-1, keepdim=False, scale=1.0):
        return x

    def ours_required(x, dim, keepdim=False, scale=1.0):
        return x

    kinds = lambda ours: sorted({d[2] for d in sg.signature_diffs("f", theirs, ours)})  # noqa
    assert kinds(ours_default) == ["default"]
    assert kinds(ours_renamed) == ["missing", "order"]
    assert kinds(ours_keyword_only) == ["keyword_only"]
    assert kinds(ours_required) == ["required"]
    assert kinds(theirs) == []


# ----------------------------------------------------------------------------------------------
# ATen keywords, called in both libraries. The full sweep (every bound function on OpInfo
# samples) is a soak test; the default run covers a fixed sample on synthetic inputs.

KNOWN_KEYWORDS = {
    ("torch.tensor_split", "by name sections"):
        "sections= a 0-d integer tensor: PyTorch's parser reads it as an int, deltagrad's "
        "overload check wants an int (a tensor goes by position or tensor_indices_or_sections)",
    ("Tensor.tensor_split", "by name sections"): "as torch.tensor_split",
    ("Tensor.to_mkldnn", "dtype=None"): "no MKL-DNN layout: NotImplementedError, not a result",
    ("F.elu_", "scale=1"):
        "ATen's internal scale / input_scale of elu_ (selu and celu are built on them); "
        "F.elu (Python) has neither, no program passes them",
    ("F.elu_", "scale=2"): "as scale=1", ("F.elu_", "input_scale=1"): "as scale=1",
    ("F.elu_", "input_scale=2"): "as scale=1",
    ("linalg.lstsq", "rcond=0.5"):
        "an rcond that drops a direction: deltagrad truncates singular values for every driver "
        "(its docstring's NOTE), LAPACK's default gelsy the diagonal of a pivoted QR: other "
        "solutions once the rank is cut (the same at full rank)",
    ("Tensor.chalf", "memory_format=None"):
        "no complex32 in NumPy: chalf raises TypeError with or without the keyword",
    ("Tensor.polygamma", "by name n"):
        "one float32 value of polygamma's sample off by 2e-5 relative (the same by position: "
        "precision, not the keyword)",
}

QUICK = {
    # torch.* functions: one sample each, on the (3, 4) synthetic input
    "std": [sg.sample(), sg.sample(1)], "var": [sg.sample(0)], "std_mean": [sg.sample(1)],
    "var_mean": [sg.sample()], "mean": [sg.sample(1)], "sum": [sg.sample(0)],
    "nansum": [sg.sample(1)], "prod": [sg.sample(1)], "logsumexp": [sg.sample(1)],
    "topk": [sg.sample(2)], "sort": [sg.sample()], "argsort": [sg.sample()],
    "cumsum": [sg.sample(1)], "cumprod": [sg.sample(0)], "softmax": [sg.sample(1)],
    "log_softmax": [sg.sample(0)], "max": [sg.sample(1)], "min": [sg.sample(0)],
    "argmax": [sg.sample()], "median": [sg.sample(1)], "quantile": [sg.sample(0.3)],
    "kthvalue": [sg.sample(2)], "mode": [sg.sample()], "norm": [sg.sample()],
    "clamp": [sg.sample(0.7)], "round": [sg.sample()], "div": [sg.sample(2.0)],
    "add": [sg.sample(1.5)], "sub": [sg.sample(1.5)], "pow": [sg.sample(2.0)],
    "unique_consecutive": [sg.sample()], "flatten": [sg.sample()], "squeeze": [sg.sample()],
    "transpose": [sg.sample(0, 1)], "swapaxes": [sg.sample(0, 1)], "roll": [sg.sample(1)],
    "diagonal": [sg.sample()], "tril": [sg.sample()], "nan_to_num": [sg.sample()],
    "count_nonzero": [sg.sample()], "diff": [sg.sample()],
    "hsplit": [sg.sample(2)], "vsplit": [sg.sample(3)], "tensor_split": [sg.sample(2)],
    # torch.nn.functional's C bindings
    "softplus": [sg.sample()], "gelu": [sg.sample()], "hardshrink": [sg.sample()],
    "pdist": [sg.sample()], "pairwise_distance": [sg.sample(torch.ones(3, 4))],
    "cosine_similarity": [sg.sample(torch.ones(3, 4))],
    # torch.linalg / fft
    "linalg_vector_norm": [sg.sample()], "linalg_lstsq": [sg.sample(torch.ones(3, 2))],
    "fft_rfft": [sg.sample()],
    # Tensor methods
    "reshape": [sg.sample(4, 3)], "permute": [sg.sample(1, 0)], "expand": [sg.sample(2, 3, 4)],
    "repeat": [sg.sample(2, 1)], "sum_to_size": [sg.sample(1, 4)], "view": [sg.sample(12)],
    "swapdims": [sg.sample(0, 1)],
}


def test_keyword_calls_quick():
    n_functions, n_calls, diffs = sg.sweep_keywords(samples=QUICK)
    assert n_functions > 80 and n_calls > 300
    found = {(d[0], d[1]): d[2:] for d in diffs}
    new = {k: v for k, v in found.items() if k not in KNOWN_KEYWORDS}
    assert not new, f"keyword calls that differ from PyTorch: {new}"


@pytest.mark.soak
def test_keyword_calls_full():
    pytest.importorskip("expecttest")
    n_functions, n_calls, diffs = sg.sweep_keywords()
    assert n_functions > 1000 and n_calls > 4000
    diffs += sg.sweep_keywords(samples=QUICK)[2]  # (the hand-made samples: the KNOWN ones too)
    found = {(d[0], d[1]): d[2:] for d in diffs}
    new = {k: v for k, v in found.items() if k not in KNOWN_KEYWORDS}
    stale = [k for k in KNOWN_KEYWORDS if k not in found]
    assert not new, f"keyword calls that differ from PyTorch: {new}"
    assert not stale, f"KNOWN entries that no longer differ: {stale}"


def test_keyword_cases_try_a_second_value():
    """Each defaulted keyword is called with its default and another value (the only way an
    accepted-and-ignored keyword shows)."""
    cases = sg.keyword_cases("std", False, 0, set())
    assert ("keepdim", False) in cases and ("keepdim", True) in cases
    assert ("correction", None) in cases and ("correction", 0) in cases
    assert ("dim", None) in cases and ("dim", [0]) in cases


def test_call_both_reports_an_ignored_keyword():
    """A deltagrad function that accepts a keyword and ignores it is reported."""
    def ignoring(input, dim=None, keepdim=False):
        return dg.sum(input)

    x = torch.ones(2, 3)
    assert sg.call_both(torch.sum, ignoring, (x,), {"dim": 1})[0] == "value"
    assert sg.call_both(torch.sum, dg.sum, (x,), {"dim": 1}) is None


# ----------------------------------------------------------------------------------------------
# The fixes, each against PyTorch.

KEYWORD_FIXES = [
    ("reshape shape=", lambda m, x: x.reshape(shape=(4, 3))),
    ("reshape shape= list", lambda m, x: x.reshape(shape=[2, -1])),
    ("reshape both", lambda m, x: x.reshape(3, shape=(4, 3))),
    ("reshape shape= int", lambda m, x: x.reshape(shape=12)),
    ("permute dims=", lambda m, x: x.permute(dims=(1, 0))),
    ("permute both", lambda m, x: x.permute(1, dims=(1, 0))),
    ("expand size=", lambda m, x: x.expand(size=(2, 3, 4))),
    ("expand implicit", lambda m, x: x.expand(2, 3, 4, implicit=True)),
    ("expand size= implicit", lambda m, x: x.expand(size=(2, -1, 4), implicit=False)),
    ("broadcast_to size=", lambda m, x: x.broadcast_to(size=(2, 3, 4))),
    ("torch.broadcast_to size=", lambda m, x: m.broadcast_to(x, size=(2, 3, 4))),
    ("repeat repeats=", lambda m, x: x.repeat(repeats=(2, 1))),
    ("repeat both", lambda m, x: x.repeat(2, repeats=(2, 1))),
    ("sum_to_size size=", lambda m, x: x.sum_to_size(size=(1, 4))),
    ("sum_to_size both", lambda m, x: x.sum_to_size(1, size=(1, 4))),
    ("resize_ size=", lambda m, x: x.detach().clone().resize_(size=(2, 2))),
    ("swapaxes axis0=", lambda m, x: x.swapaxes(axis0=0, axis1=1)),
    ("torch.swapaxes axis0=", lambda m, x: m.swapaxes(x, axis0=1, axis1=0)),
    ("swapaxes_ axis0=", lambda m, x: x.detach().clone().swapaxes_(axis0=0, axis1=1)),
    ("swapdims dim0=", lambda m, x: x.swapdims(dim0=0, dim1=1)),
    ("swapaxes dim0= (not its name)", lambda m, x: x.swapaxes(dim0=0, dim1=1)),
    ("hsplit sections=", lambda m, x: m.hsplit(x, sections=2)),
    ("hsplit indices=", lambda m, x: m.hsplit(x, indices=[1, 3])),
    ("hsplit sections= list", lambda m, x: m.hsplit(x, sections=[1])),
    ("hsplit indices= int", lambda m, x: m.hsplit(x, indices=2)),
    ("hsplit both", lambda m, x: m.hsplit(x, 2, sections=2)),
    ("hsplit method sections=", lambda m, x: x.hsplit(sections=2)),
    ("vsplit indices=", lambda m, x: m.vsplit(x, indices=(1,))),
    ("vsplit method sections=", lambda m, x: x.vsplit(sections=3)),
    ("dsplit sections=", lambda m, x: m.dsplit(x[None], sections=2)),
    ("dsplit method indices=", lambda m, x: x[None].dsplit(indices=[1])),
    ("tril_indices layout=", lambda m, x: m.tril_indices(3, 4, layout=m.strided)),
    ("triu_indices layout=", lambda m, x: m.triu_indices(4, 3, 1, layout=m.strided)),
    ("tril_indices sparse", lambda m, x: m.tril_indices(3, 3, layout=m.sparse_coo)),
    ("triu_indices pin_memory", lambda m, x: m.triu_indices(3, 3, pin_memory=False)),
    ("Tensor.norm dtype 4th", lambda m, x: x.norm(2, 1, False, m.float64)),
    ("Tensor.norm dtype=", lambda m, x: x.norm(dim=0, dtype=m.float64)),
    ("cdist default mode", lambda m, x: m.cdist(x, x.flip(0))),
    ("cdist compute_mode", lambda m, x: m.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")),
    ("cdist compute_mode=None", lambda m, x: m.cdist(x, x, compute_mode=None)),
    ("cdist compute_mode bad", lambda m, x: m.cdist(x, x, compute_mode="fast")),
    ("stft align_to_window", lambda m, x: m.stft(x.flatten(), 4, window=m.ones(4), center=False,
                                                 return_complex=True, align_to_window=True)),
    ("stft align_to_window False", lambda m, x: m.stft(
        x.flatten(), 4, 2, window=m.hann_window(4), center=False, return_complex=True,
        align_to_window=False)),
    ("stft align_to_window centred", lambda m, x: m.stft(x.flatten(), 4, return_complex=True,
                                                         align_to_window=False)),
    ("linalg.lstsq b=", lambda m, x: m.linalg.lstsq(x, b=x[:, :2]).solution),
    ("linalg.lstsq B= (PyTorch's docs, not its keyword)", lambda m, x: m.linalg.lstsq(
        x, B=x[:, :2]).solution),
    ("linalg.tensorsolve other=", lambda m, x: m.linalg.tensorsolve(
        m.eye(6, dtype=x.dtype).reshape(2, 3, 6), other=x[:2, :3])),
    ("roll dims=[]", lambda m, x: m.roll(x, 1, dims=[])),
    ("roll dims=() method", lambda m, x: x.roll(-2, dims=())),
    ("roll dims=[] two shifts", lambda m, x: m.roll(x, (1, 2), dims=[])),
]


@pytest.mark.parametrize("fn", [c[1] for c in KEYWORD_FIXES],
                         ids=[c[0] for c in KEYWORD_FIXES])
def test_keywords_of_tensor_methods(fn):
    check(fn, Arg(A34))


def test_stft_align_to_window_short_window_is_refused():
    x = dg.ones(16)
    with pytest.raises(NotImplementedError, match="align_to_window"):
        dg.stft(x, 8, win_length=4, window=dg.ones(4), center=False, return_complex=True,
                align_to_window=True)


def test_uniform_bounds_by_pytorch_names():
    for lib in (torch, dg):
        x = lib.zeros(500)
        x.uniform_(**{"from": 2.0, "to": 3.0})
        assert 2.0 <= float(x.min()) and float(x.max()) < 3.0 and float(x.std()) > 0.2
        x.uniform_(**{"to": -1.0, "from": -2.0})
        assert -2.0 <= float(x.min()) and float(x.max()) < -1.0
        with pytest.raises(RuntimeError):
            x.uniform_(**{"from": 3.0, "to": 2.0})
        with pytest.raises(TypeError):
            x.uniform_(**{"frm": 1.0})


LAYERS_POSITIONAL_DTYPE = [
    ("Conv2d", lambda nn, dt: nn.Conv2d(2, 3, 3, 1, 0, 1, 1, True, "zeros", None, dt)),
    ("Conv3d", lambda nn, dt: nn.Conv3d(2, 3, 1, 1, 0, 1, 1, False, "zeros", None, dt)),
    ("ConvTranspose2d",
     lambda nn, dt: nn.ConvTranspose2d(2, 3, 3, 1, 0, 0, 1, True, 1, "zeros", None, dt)),
    ("BatchNorm1d", lambda nn, dt: nn.BatchNorm1d(4, 1e-5, 0.1, True, True, None, dt)),
    ("GroupNorm", lambda nn, dt: nn.GroupNorm(2, 4, 1e-5, True, None, dt)),
    ("LayerNorm", lambda nn, dt: nn.LayerNorm(4, 1e-5, True, True, None, dt)),
    ("RMSNorm", lambda nn, dt: nn.RMSNorm(4, None, True, None, dt)),
    ("SyncBatchNorm bias=False", lambda nn, dt: nn.SyncBatchNorm(4, dtype=dt, bias=False)),
]


@pytest.mark.parametrize("make", [c[1] for c in LAYERS_POSITIONAL_DTYPE],
                         ids=[c[0] for c in LAYERS_POSITIONAL_DTYPE])
def test_layer_constructors_take_device_and_dtype_by_position(make):
    theirs, ours = make(torch.nn, torch.float64), make(dg.nn, dg.float64)
    t_params = [(n, tuple(p.shape), str(p.dtype)[6:]) for n, p in theirs.named_parameters()]
    d_params = [(n, tuple(p.shape), str(p.dtype).split(".")[-1])
                for n, p in ours.named_parameters()]
    assert d_params == t_params


def test_forward_parameter_names():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    t_norm, d_norm = torch.nn.RMSNorm(4), dg.nn.RMSNorm(4)
    np.testing.assert_allclose(d_norm(x=dg.tensor(x)).detach().numpy(),
                               t_norm(x=torch.tensor(x)).detach().numpy(), rtol=1e-6)
    t_asm = torch.nn.AdaptiveLogSoftmaxWithLoss(4, 6, [2])
    d_asm = dg.nn.AdaptiveLogSoftmaxWithLoss(4, 6, [2])
    d_asm.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                           t_asm.state_dict().items()})
    target = np.array([0, 3, 5])
    t_out = t_asm(input_=torch.tensor(x), target_=torch.tensor(target))
    d_out = d_asm(input_=dg.tensor(x), target_=dg.tensor(target))
    np.testing.assert_allclose(d_out.loss.detach().numpy(), t_out.loss.detach().numpy(),
                               rtol=1e-5)


def test_save_and_load_take_f(tmp_path):
    state = {"w": np.arange(3.0)}
    for lib, name in ((torch, "t.pt"), (dg, "d.safetensors")):
        path = os.fspath(tmp_path / name)
        lib.save({"w": lib.tensor(state["w"])}, f=path)
        back = lib.load(f=path)
        np.testing.assert_array_equal(np.asarray(back["w"].numpy()), state["w"])


def test_gradcheck_takes_func():
    for lib in (torch, dg):
        x = lib.tensor([0.3, 0.7], dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(func=lib.sin, inputs=(x,))
        assert lib.autograd.gradgradcheck(func=lib.sin, inputs=(x,))


# ----------------------------------------------------------------------------------------------
# Defaults whose difference would be silent, by behaviour (the signature sweep compares their
# values; these check that the value means the same).

def _same(fn, *arrays):
    t_out = fn(torch, *(torch.tensor(a) for a in arrays))
    d_out = fn(dg, *(dg.tensor(a) for a in arrays))
    t_flat = t_out if isinstance(t_out, (tuple, list)) else (t_out,)
    d_flat = d_out if isinstance(d_out, (tuple, list)) else (d_out,)
    assert len(t_flat) == len(d_flat)
    for t, d in zip(t_flat, d_flat):
        np.testing.assert_allclose(np.asarray(d.detach().numpy()), t.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


SILENT_DEFAULTS = [
    ("std unbiased", lambda m, x: (m.std(x), m.std(x, 1), x.std(0), m.std_mean(x, 1)[0])),
    ("var unbiased", lambda m, x: (m.var(x), x.var(1), m.var_mean(x)[0])),
    ("unique sorted", lambda m, x: m.unique((x * 2).round(), return_counts=True)),
    ("topk largest sorted", lambda m, x: m.topk(x, 2)),
    ("interpolate nearest", lambda m, x: m.nn.functional.interpolate(x[None, None],
                                                                      scale_factor=2)),
    ("interpolate bilinear corners", lambda m, x: m.nn.functional.interpolate(
        x[None, None], size=(5, 7), mode="bilinear")),
    ("interpolate bicubic", lambda m, x: m.nn.functional.interpolate(
        x[None, None], size=(2, 3), mode="bicubic")),
    ("cumsum / softmax dims", lambda m, x: (m.softmax(x, -1), x.log_softmax(0))),
    ("pairwise_distance", lambda m, x: m.nn.functional.pairwise_distance(x, x.flip(0))),
    ("normalize", lambda m, x: m.nn.functional.normalize(x)),
    ("gelu", lambda m, x: m.nn.functional.gelu(x)),
    ("cross_entropy label smoothing", lambda m, x: m.nn.functional.cross_entropy(
        x, m.tensor([0, 3, 1]))),
    ("huber / smooth_l1", lambda m, x: (m.nn.functional.huber_loss(x, x.flip(0)),
                                        m.nn.functional.smooth_l1_loss(x, x.flip(0)))),
    ("quantile linear", lambda m, x: m.quantile(x, 0.3, dim=1)),
    ("layer_norm eps", lambda m, x: m.nn.functional.layer_norm(x * 1e-3, (4,))),
]


@pytest.mark.parametrize("fn", [c[1] for c in SILENT_DEFAULTS],
                         ids=[c[0] for c in SILENT_DEFAULTS])
def test_defaults_mean_the_same(fn):
    _same(fn, A34)


# Non-default values of Python-level keywords (the signature sweep shows only that the name
# and default agree; an accepted-and-ignored keyword shows only here).
KEYWORD_VALUES = [
    ("interpolate antialias bilinear", lambda m, x: m.nn.functional.interpolate(
        x, size=(3, 5), mode="bilinear", antialias=True)),
    ("interpolate antialias bicubic", lambda m, x: m.nn.functional.interpolate(
        x, size=(3, 5), mode="bicubic", antialias=True)),
    ("interpolate align_corners", lambda m, x: m.nn.functional.interpolate(
        x, size=(3, 5), mode="bilinear", align_corners=True)),
    ("interpolate recompute_scale_factor", lambda m, x: m.nn.functional.interpolate(
        x, scale_factor=0.7, mode="bilinear", recompute_scale_factor=True)),
    ("interpolate nearest-exact", lambda m, x: m.nn.functional.interpolate(
        x, scale_factor=0.7, mode="nearest-exact")),
    ("unique dim return_inverse", lambda m, x: m.unique((x[0, 0] > 0).float(), dim=0,
                                                        return_inverse=True)),
    ("avg_pool2d count_include_pad", lambda m, x: m.nn.functional.avg_pool2d(
        x, 3, 2, 1, count_include_pad=False)),
    ("avg_pool2d divisor_override", lambda m, x: m.nn.functional.avg_pool2d(
        x, 3, 2, 1, divisor_override=2)),
    ("avg_pool2d ceil_mode", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 0, ceil_mode=True)),
    ("max_pool2d dilation indices", lambda m, x: m.nn.functional.max_pool2d(
        x, 2, dilation=2, return_indices=True)),
    ("grid_sample border", lambda m, x: m.nn.functional.grid_sample(
        x, m.zeros(1, 2, 2, 2) + 0.3, align_corners=False, padding_mode="border")),
    ("affine_grid align_corners", lambda m, x: m.nn.functional.affine_grid(
        m.eye(2, 3)[None], [1, 1, 3, 3], align_corners=True)),
    ("gelu tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh")),
    ("sdpa is_causal scale", lambda m, x: m.nn.functional.scaled_dot_product_attention(
        x[0], x[0], x[0], is_causal=True, scale=0.3)),
    ("sdpa enable_gqa", lambda m, x: m.nn.functional.scaled_dot_product_attention(
        x[0].expand(2, 8, 8)[None], x[0][None], x[0][None], enable_gqa=True)),
    ("embedding max_norm", lambda m, x: m.nn.functional.embedding(
        m.tensor([0, 2]), x[0, 0].clone(), max_norm=1.0)),
    ("normalize p eps", lambda m, x: m.nn.functional.normalize(x, p=1, dim=-1, eps=1e-3)),
    ("cross_entropy smoothing ignore sum", lambda m, x: m.nn.functional.cross_entropy(
        x[0, 0], m.tensor([1, 2, 3, 4, 5, 6, 7, 0]), label_smoothing=0.2, ignore_index=3,
        reduction="sum")),
    ("std correction=0", lambda m, x: m.std(x, dim=(2, 3), correction=0, keepdim=True)),
    ("var_mean correction=2", lambda m, x: m.var_mean(x, 2, correction=2)),
    ("topk largest=False", lambda m, x: m.topk(x.flatten(), 3, largest=False)),
    ("pad circular", lambda m, x: m.nn.functional.pad(x, (1, 2, 0, 1), mode="circular")),
    ("pad value", lambda m, x: m.nn.functional.pad(x, (1, 2), value=3.0)),
    ("dropout training=False", lambda m, x: m.nn.functional.dropout(x, 0.5, training=False)),
    ("batch_norm momentum eps", lambda m, x: m.nn.functional.batch_norm(
        x, None, None, training=True, momentum=0.3, eps=0.01)),
    ("softmax dtype", lambda m, x: m.nn.functional.softmax(x, dim=-1, dtype=m.float64)),
    ("hardtanh bounds", lambda m, x: m.nn.functional.hardtanh(x, min_val=-0.5, max_val=0.2)),
    ("softplus beta threshold", lambda m, x: m.nn.functional.softplus(x, beta=2, threshold=0.5)),
    ("kl_div batchmean log_target", lambda m, x: m.nn.functional.kl_div(
        x, x.flip(-1), reduction="batchmean", log_target=True)),
    ("bce_with_logits pos_weight", lambda m, x: m.nn.functional.binary_cross_entropy_with_logits(
        x, (x > 0).float(), pos_weight=m.ones(8) * 2)),
    ("poisson_nll full", lambda m, x: m.nn.functional.poisson_nll_loss(x, x.abs(), full=True)),
    ("gaussian_nll full eps", lambda m, x: m.nn.functional.gaussian_nll_loss(
        x, x.flip(-1), x.abs() + 0.1, full=True, eps=1e-3)),
    ("smooth_l1 beta", lambda m, x: m.nn.functional.smooth_l1_loss(x, x.flip(-1), beta=0.3)),
    ("multi_margin p margin", lambda m, x: m.nn.functional.multi_margin_loss(
        x[0, 0], m.tensor([1, 2, 3, 4, 5, 6, 7, 0]), p=2, margin=0.5)),
    ("triplet swap p", lambda m, x: m.nn.functional.triplet_margin_loss(
        x[0, 0], x[0, 0].flip(0), x[0, 0] * 2, swap=True, p=1)),
    ("histc", lambda m, x: m.histc(x, bins=5, min=-1, max=1)),
    ("round decimals", lambda m, x: m.round(x, decimals=2)),
    ("div rounding_mode", lambda m, x: m.div(x, 0.3, rounding_mode="floor")),
    ("quantile midpoint", lambda m, x: m.quantile(x.flatten(), m.tensor([0.2, 0.7]),
                                                  interpolation="midpoint")),
    ("searchsorted side", lambda m, x: m.searchsorted(m.arange(5.0), x.flatten(), side="right")),
    ("diff n prepend", lambda m, x: m.diff(x, n=2, dim=-1, prepend=x[..., :1])),
    ("nan_to_num posinf neginf", lambda m, x: m.nan_to_num(x / 0, posinf=3.0, neginf=-2.0)),
    ("matrix_norm nuc keepdim", lambda m, x: m.linalg.matrix_norm(x, ord="nuc", keepdim=True)),
    ("svd full_matrices", lambda m, x: m.linalg.svd(x[0, 0], full_matrices=False)[1]),
    ("eigh UPLO", lambda m, x: m.linalg.eigh(x[0, 0] + x[0, 0].T, UPLO="U")[0]),
    ("rfft n norm", lambda m, x: m.fft.rfft(x, n=10, dim=2, norm="ortho")),
    ("stft normalized onesided", lambda m, x: m.stft(
        x.flatten(), 16, hop_length=4, window=m.hann_window(16), return_complex=True,
        normalized=True, onesided=False)),
]
A1188 = RNG.standard_normal((1, 1, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("fn", [c[1] for c in KEYWORD_VALUES], ids=[c[0] for c in KEYWORD_VALUES])
def test_keyword_values_mean_the_same(fn):
    check(fn, Arg(A1188, requires_grad=False), rtol=1e-4, atol=1e-5)


def test_lstm_proj_size_default_and_value():
    for kwargs in ({}, {"proj_size": 3}):
        t = torch.nn.LSTM(4, 5, **kwargs)
        d = dg.nn.LSTM(4, 5, **kwargs)
        assert [(n, tuple(p.shape)) for n, p in d.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]


def test_clip_grad_norm_defaults_on_nonfinite_grads():
    """error_if_nonfinite=False by default: an inf gradient gives an inf norm, no error; True
    raises in both."""
    for lib in (torch, dg):
        p = lib.nn.Parameter(lib.ones(3))
        p.grad = lib.tensor([1.0, float("inf"), 0.0])
        assert float(lib.nn.utils.clip_grad_norm_([p], 1.0)) == float("inf")
        p.grad = lib.tensor([1.0, float("inf"), 0.0])
        with pytest.raises(RuntimeError):
            lib.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        p.grad = lib.tensor([3.0, 4.0, 0.0])
        norm = lib.nn.utils.clip_grad_norm_([p], 1.0, foreach=None)
        assert float(norm) == 5.0


def test_dataloader_defaults():
    for lib in (torch, dg):
        data = lib.utils.data.TensorDataset(lib.arange(10))
        loader = lib.utils.data.DataLoader(data, batch_size=4)
        assert (loader.persistent_workers, loader.pin_memory, loader.drop_last,
                loader.num_workers, loader.timeout) == (False, False, False, 0, 0)
        assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
