"""cross_entropy of logits [N, C, d1, ...] (or [N, C] with class weights) and class-index
targets (SP8 s22): the fast path of nn/_cross_entropy_nd.py gives the general path's bits
(values, gradients, signs of zeros), the values of PyTorch, and PyTorch's errors; it falls back
where the general path must run."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _cross_entropy_nd, _functional_losses

torch = pytest.importorskip("torch")


def _cases(count, seed, weighted=False):
    rng = np.random.default_rng(seed)
    for i in range(count):
        shape = tuple(int(v) for v in rng.integers(1, 6, int(rng.integers(2 if weighted else 3,
                                                                        6))))
        dtype = (np.float32, np.float64)[i % 2]
        reduction = ("mean", "sum", "none")[(i // 2) % 3]
        ignore = (-100, 0, -1, 2)[(i // 6) % 4]
        x = (rng.standard_normal(shape) * (1.0, 5.0, 40.0)[i % 3]).astype(dtype)
        if i % 7 == 0:
            x.flat[rng.integers(0, x.size)] = (np.nan, np.inf, -np.inf)[i % 3]
        t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
        if ignore != -100:
            t[rng.random(t.shape) < 0.3] = ignore
        g = rng.standard_normal(t.shape).astype(dtype)
        w = None
        if weighted and i % 4:  # (signed, with zeros, positive)
            w = (rng.standard_normal(shape[1]), rng.random(shape[1]) * (rng.random(shape[1]) > .3),
                 rng.random(shape[1]))[i % 4 - 1].astype(dtype)
        yield x, t, reduction, ignore, g, w


def _run(lib, x, t, reduction, ignore, g, w=None):
    xt = lib.tensor(x, requires_grad=True)
    kwargs = {"reduction": reduction, "ignore_index": ignore}
    if w is not None:
        kwargs["weight"] = lib.tensor(w)
    with np.errstate(all="ignore"):
        loss = lib.nn.functional.cross_entropy(xt, lib.tensor(t), **kwargs)
        loss.backward(lib.tensor(g) if reduction == "none" else None)
    return loss.detach().numpy(), xt.grad.numpy(), type(loss.grad_fn).__name__


def _spy(monkeypatch):
    taken = []

    def spy(*args):
        out = _cross_entropy_nd.nd_class_index_loss(*args)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(_functional_losses, "nd_class_index_loss", spy)
    return taken


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        a.view(np.uint8 if a.dtype.itemsize == 1 else f"u{a.dtype.itemsize}"),
        b.view(np.uint8 if b.dtype.itemsize == 1 else f"u{b.dtype.itemsize}"))


@pytest.mark.parametrize("weighted", [False, True])
def test_fast_path_is_the_general_paths_bits(monkeypatch, weighted):
    cases = list(_cases(120, weighted, weighted))
    with monkeypatch.context() as patch:  # the general path: the fast one declines every call
        patch.setattr(_functional_losses, "nd_class_index_loss", lambda *args: None)
        general = [_run(dg, *case) for case in cases]
    taken = _spy(monkeypatch)
    for case, before in zip(cases, general):
        fast = _run(dg, *case)
        for a, b in zip(fast[:2], before[:2]):
            assert _same_bits(a, b), case[:1] + case[2:4]
        assert fast[2] == before[2]
    # ("mean" with every target ignored, or a total weight of 0, falls back)
    assert len(taken) == 120 - weighted * sum(1 for case in cases if case[0].ndim == 2
                                               and case[5] is None)
    assert sum(taken) >= len(taken) - 10


def test_values_and_gradients_as_pytorch():
    for x, t, reduction, ignore, g, w in _cases(90, 1, weighted=True):
        if not np.isfinite(x).all():
            continue
        ours, ref = (_run(dg, x, t, reduction, ignore, g, w),
                     _run(torch, x, t, reduction, ignore, g, w))
        tol = 2e-5 if x.dtype == np.float32 else 1e-12
        for a, b in zip(ours[:2], ref[:2]):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_target_ignored(monkeypatch, reduction):
    taken = _spy(monkeypatch)
    x = np.random.default_rng(2).standard_normal((2, 3, 4)).astype(np.float32)
    t = np.full((2, 4), 1)
    g = np.ones((2, 4), np.float32)
    ours, ref = _run(dg, x, t, reduction, 1, g), _run(torch, x, t, reduction, 1, g)
    # nan loss for mean; NOTE "sum" gives -0.0 here (PyTorch +0.0), as the general path
    np.testing.assert_array_equal(ours[0], ref[0])
    assert _same_bits(ours[1], ref[1])  # (zero gradients)
    if reduction == "none":
        assert _same_bits(ours[0], ref[0])  # (+0.0 at ignored entries)
    assert taken == [reduction != "mean"]  # (mean: 0 / 0 left to the general path)


@pytest.mark.parametrize("bad", [3, -2])
def test_target_out_of_bounds_raises_as_pytorch(monkeypatch, bad):
    taken = _spy(monkeypatch)
    x = np.zeros((2, 3, 2), np.float32)
    t = np.array([[0, bad], [1, 2]])
    for ignore in (-100, 0):
        with pytest.raises(IndexError):
            dg.nn.functional.cross_entropy(dg.tensor(x), dg.tensor(t), ignore_index=ignore)
        with pytest.raises(IndexError):
            torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t),
                                              ignore_index=ignore)
    assert taken == [False, False]


def test_retain_graph_second_backward_and_no_grad():
    x = dg.tensor(np.random.default_rng(3).standard_normal((2, 4, 3)), requires_grad=True)
    t = dg.tensor(np.array([[0, 3, 1], [2, 2, 0]]))
    loss = dg.nn.functional.cross_entropy(x, t)
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()  # (the scratch was emptied by the first: computed again, same bits)
    assert _same_bits((first * 2).numpy(), x.grad.numpy())
    with dg.no_grad():
        again = dg.nn.functional.cross_entropy(x, t)
    assert _same_bits(again.numpy(), loss.detach().numpy()) and again.grad_fn is None


def test_other_target_forms_and_views_as_the_general_path(monkeypatch):
    rng = np.random.default_rng(4)
    x = dg.tensor(rng.standard_normal((3, 2, 4, 5)).astype(np.float32)).permute(0, 3, 2, 1)
    x.requires_grad_()  # ([3, 5, 4, 2], not contiguous)
    t64 = rng.integers(0, 5, (3, 4, 2))
    # (NumPy targets of any integer dtype: deltagrad's extension. A uint8 tensor is refused
    # over 2-D, as PyTorch's: tests/parity/test_s23_BR4_fixes.py)
    targets = (dg.tensor(t64), t64.astype(np.int32), t64.astype(np.uint8))

    def losses():
        out = []
        for target in targets:
            x.grad = None
            loss = dg.nn.functional.cross_entropy(x, target)
            loss.backward()
            out.append((loss.detach().numpy(), x.grad.numpy()))
        return out

    with monkeypatch.context() as patch:
        patch.setattr(_functional_losses, "nd_class_index_loss", lambda *args: None)
        general = losses()
    taken = _spy(monkeypatch)
    fast = losses()
    assert taken == [True] * 3
    for a, b in zip(fast, general):
        assert _same_bits(a[0], b[0]) and _same_bits(a[1], b[1])
    ref = torch.nn.functional.cross_entropy(torch.tensor(x.detach().numpy()),
                                            torch.tensor(t64))
    np.testing.assert_allclose(fast[0][0], ref.numpy(), rtol=1e-6)
