"""Fixes found by PR4's real-style programs (session 21), each against PyTorch."""

import warnings

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _groups(lib):
    first = lib.zeros(1, requires_grad=True)
    second = lib.zeros(1, requires_grad=True)
    return [{"params": [first]}, {"params": [second], "lr": 0.5, "weight_decay": 0.1}]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
@pytest.mark.parametrize("n_groups", [1, 2])
def test_optimizer_repr_separates_groups_as_pytorch(name, n_groups):
    # PyTorch opens each group with a newline after the last option line: a blank line
    # between groups (deltagrad printed them back to back)
    ours = getattr(dg.optim, name)(_groups(dg)[:n_groups], lr=0.1)
    theirs = getattr(torch.optim, name)(_groups(torch)[:n_groups], lr=0.1)
    assert repr(ours) == repr(theirs)


class _Cube:
    """A Function whose backward is wrong (3 where 3 t^2 is due), for both libraries."""

    @staticmethod
    def make(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, t, u):
                return t ** 3, u * 2

            @staticmethod
            def backward(ctx, g1, g2):
                return g1 * 3, g2 * 3

        return Cube


def _message(lib, which):
    lib.manual_seed(0)
    x = lib.randn(4, dtype=lib.float64, requires_grad=True)
    y = lib.randn(3, dtype=lib.float64, requires_grad=True)
    cube = _Cube.make(lib)
    funcs = {"first": lambda t, u: cube.apply(t, u)[0],
             "both": lambda t, u: cube.apply(t, u),
             "second_only": lambda t, u: (t * 2, cube.apply(t, u)[1])}
    with pytest.raises(RuntimeError) as caught:
        lib.autograd.gradcheck(funcs[which], (x, y))
    return str(caught.value)


@pytest.mark.parametrize("which", ["first", "both", "second_only"])
def test_gradcheck_message_opens_as_pytorch(which):
    # PyTorch's message names the output / input pair, then prints the numerical and the
    # analytical Jacobian blocks (input elements by output elements); deltagrad's own detail
    # line follows
    # (deltagrad names its dtypes deltagrad.* where it is not installed as torch)
    ours = _message(dg, which).replace("deltagrad.", "torch.")
    theirs = _message(torch, which)
    assert ours.startswith(theirs.rstrip("\n")), (ours, theirs)
    assert "gradcheck failed (backward mode)" in ours.splitlines()[-1]


_WARN_SCRIPT = """
import warnings, torch
x = torch.randn(100)
for call in (lambda: torch.stft(x, 16, return_complex=True),
             lambda: torch.stft(x, 16, return_complex=True),
             lambda: torch.istft(torch.stft(x, 16, window=torch.ones(16), return_complex=True), 16),
             lambda: torch.istft(torch.stft(x, 16, window=torch.ones(16), return_complex=True), 16),
             lambda: torch.stft(x, 16, window=torch.hann_window(16), return_complex=True)):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    print(repr([str(w.message).split(" (Triggered internally")[0] for w in caught]))
"""


def test_stft_istft_warn_once_without_a_window():
    # PyTorch warns (UserWarning, once a process for each) that a rectangular window is used
    import subprocess
    import sys

    from deltagrad._engine.api import complex as complex_api

    theirs = subprocess.run([sys.executable, "-c", _WARN_SCRIPT], capture_output=True,
                            text=True, check=True).stdout
    saved = set(complex_api._WARNED_NO_WINDOW)
    complex_api._WARNED_NO_WINDOW.clear()
    try:
        namespace = {}
        import contextlib
        import io

        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(_WARN_SCRIPT.replace("import warnings, torch",
                                      "import warnings\nimport deltagrad as torch"), namespace)
    finally:
        complex_api._WARNED_NO_WINDOW.clear()
        complex_api._WARNED_NO_WINDOW.update(saved)
    assert printed.getvalue() == theirs
    assert theirs.count("A window was not provided") == 2


def _bool_sub_cases(lib):
    t, f, i = lib.tensor([True]), lib.tensor([False]), lib.tensor([1])
    return {"bool-bool": lambda: t - f, "bool-int": lambda: t - i, "int-bool": lambda: i - t,
            "bool-True": lambda: t - True, "True-bool": lambda: True - t,
            "int-True": lambda: i - True,
            "sub-float-True": lambda: lib.sub(lib.tensor([1.0]), True),
            "sub-True-bool": lambda: lib.sub(True, t), "sub_-True": lambda: t.clone().sub_(True),
            "sub_-int": lambda: t.clone().sub_(1), "method": lambda: t.sub(f),
            "rsub": lambda: lib.rsub(t, f), "half-bool": lambda: t - t.half()}


@pytest.mark.parametrize("case", list(_bool_sub_cases(torch)))
def test_bool_subtraction_message_as_pytorch(case):
    # PyTorch has two messages: both operands bool ("two bool tensors ... use ^") or one
    # ("a bool tensor ... use ~"); deltagrad gave the second for both
    with pytest.raises(RuntimeError) as theirs:
        _bool_sub_cases(torch)[case]()
    with pytest.raises(RuntimeError) as ours:
        _bool_sub_cases(dg)[case]()
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kwargs", [{}, {"scale_grad_by_freq": True},
                                    {"scale_grad_by_freq": True, "sparse": True,
                                     "padding_idx": 1, "max_norm": 2.0, "norm_type": 1.0}])
def test_embedding_repr_names_scale_grad_by_freq(kwargs):
    assert repr(dg.nn.Embedding(5, 3, **kwargs)) == repr(torch.nn.Embedding(5, 3, **kwargs))
    bag_kwargs = {k: v for k, v in kwargs.items() if k != "sparse"}
    assert repr(dg.nn.EmbeddingBag(5, 3, mode="sum", **bag_kwargs)) == \
        repr(torch.nn.EmbeddingBag(5, 3, mode="sum", **bag_kwargs))


def test_embedding_from_pretrained_takes_scale_grad_by_freq():
    # PyTorch's signature: (embeddings, freeze, padding_idx, max_norm, norm_type,
    # scale_grad_by_freq, sparse); deltagrad's lacked scale_grad_by_freq (a TypeError)
    weights = [[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]
    ids = [0, 2, 2, 2, 1]
    grads = []
    for lib in (dg, torch):
        emb = lib.nn.Embedding.from_pretrained(lib.tensor(weights), freeze=False,
                                               scale_grad_by_freq=True)
        (emb(lib.tensor(ids)) * lib.arange(5.0)[:, None]).sum().backward()
        grads.append(emb.weight.grad.tolist())
        assert emb.scale_grad_by_freq and "scale_grad_by_freq=True" in repr(emb)
    assert grads[0] == grads[1]


@pytest.mark.parametrize("shape", [(3,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("attribute", ["T", "mT"])
def test_T_and_mT_node_names_as_pytorch(shape, attribute):
    # printed as grad_fn=<...>: .T is a permute (PermuteBackward0, where the dims of a 2-d one
    # read as t()'s TBackward0), .mT a transpose (TransposeBackward0)
    if attribute == "mT" and len(shape) < 2:
        pytest.skip("mT needs 2 dims")
    names, grads = [], []
    for lib in (dg, torch):
        x = lib.ones(*shape, requires_grad=True)
        with warnings.catch_warnings():  # (.T of a 3-d tensor: a deprecation warning)
            warnings.simplefilter("ignore")
            y = getattr(x * 1, attribute)
        names.append(y.grad_fn.name())
        (y * lib.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        grads.append(x.grad.tolist())
    assert names[0] == names[1] and grads[0] == grads[1]
