"""Session 16's per-op fast paths (issue 18) against PyTorch: argsort without sort's gather,
argmax / argmin / any / all's inline common call, tril / triu's cached masks on the where op,
nll_loss with no ignored entry, masked_fill on the where op (whose rule skips the branches that
take no gradient), and the one-node stack. Values, dtypes, shapes, gradients and the
exception class where PyTorch raises; and capture_step replaying a step made of them bit for
bit."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(16)


def _same(ours, theirs):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6,
                               atol=1e-6)


def _both(call, array, grad=False):
    """``call(lib, tensor)`` in both libraries: (ours, theirs), or the exception classes."""
    results = []
    for lib in (dg, torch):
        x = lib.tensor(array, requires_grad=grad)
        try:
            results.append((call(lib, x), x))
        except Exception as error:  # noqa: BLE001 - compared below
            results.append(type(error))
    return results


def _arrays():
    for shape in [(), (3,), (2, 3), (0, 3), (2, 0), (2, 3, 4)]:
        size = int(np.prod(shape))
        for dtype in ("float32", "float64", "int64", "bool", "uint8"):
            yield (np.arange(size) % 3).reshape(shape).astype(dtype)


@pytest.mark.parametrize("name", ["argmax", "argmin", "any", "all"])
def test_index_and_logical_reductions_match_torch(name):
    checked = 0
    for array in _arrays():
        for dim in (None, 0, -1, 1, 3):
            for keepdim in (False, True):
                def call(lib, x, dim=dim, keepdim=keepdim):
                    if dim is None and name in ("any", "all"):
                        return getattr(lib, name)(x)
                    return getattr(lib, name)(x, dim=dim, keepdim=keepdim)

                ours, theirs = _both(call, array)
                if isinstance(theirs, type):
                    # (PyTorch raises: so do we; uint8 argmax and bool any are computed)
                    assert isinstance(ours, type), (name, array.shape, array.dtype, dim)
                    assert issubclass(ours, (IndexError, RuntimeError, TypeError)), ours
                    continue
                assert not isinstance(ours, type), (name, array.shape, array.dtype, dim, ours)
                _same(ours[0], theirs[0])
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("shape", [(), (6,), (4, 5), (3, 4, 5)])
@pytest.mark.parametrize("descending", [False, True])
def test_argsort_matches_torch_stable(shape, descending):
    array = RNG.integers(0, 3, shape).astype(np.float32)  # (ties: the stable order decides)
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        ours = dg.argsort(dg.tensor(array), dim, descending)
        theirs = torch.argsort(torch.tensor(array), dim=dim, descending=descending, stable=True)
        _same(ours, theirs)
        assert ours.requires_grad is False and ours.grad_fn is None
        method = dg.tensor(array, requires_grad=True).argsort(dim=dim, descending=descending)
        np.testing.assert_array_equal(method.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError):
        dg.argsort(dg.tensor(np.ones(3, np.complex64)))


@pytest.mark.parametrize("name", ["tril", "triu"])
def test_triangles_values_and_gradients(name):
    for shape in [(4, 4), (3, 5), (2, 3, 4), (0, 3)]:
        array = RNG.standard_normal(shape).astype(np.float32)
        cot = RNG.standard_normal(shape).astype(np.float32)
        for diagonal in (0, 1, -1, 7, -7):
            # (twice: the second call reads the cached mask; its diagonal is in the key)
            for _ in range(2):
                x, t = dg.tensor(array, requires_grad=True), torch.tensor(array,
                                                                          requires_grad=True)
                ours = getattr(dg, name)(x, diagonal)
                theirs = getattr(torch, name)(t, diagonal)
                _same(ours, theirs)
                ours.backward(dg.tensor(cot))
                theirs.backward(torch.tensor(cot))
                _same(x.grad, t.grad)
                assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
    ints = np.arange(9).reshape(3, 3)
    _same(dg.tril(dg.tensor(ints)), torch.tril(torch.tensor(ints)))
    for lib in (dg, torch):
        with pytest.raises(RuntimeError):
            getattr(lib, name)(lib.tensor([1.0, 2.0]))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("targets", [[0, 2, 1, 2], [0, -1, 1, -1], [-1, -1, 2, 0]])
def test_nll_loss_with_and_without_ignored_entries(reduction, weighted, targets):
    array = RNG.standard_normal((4, 3)).astype(np.float32)
    weight = RNG.uniform(0.5, 2.0, 3).astype(np.float32)
    grads = []
    for lib in (dg, torch):
        x = lib.tensor(array, requires_grad=True)
        loss = lib.nn.functional.nll_loss(
            x, lib.tensor(targets), weight=lib.tensor(weight) if weighted else None,
            ignore_index=-1, reduction=reduction)
        loss.sum().backward()
        grads.append((loss, x.grad))
    _same(grads[0][0], grads[1][0])
    _same(grads[0][1], grads[1][1])


def test_masked_fill_and_where_gradients_to_each_branch():
    array = RNG.standard_normal((4, 5)).astype(np.float32)
    mask = RNG.uniform(size=(4, 5)) > 0.5
    for value_grad in (False, True):
        got = []
        for lib in (dg, torch):
            x = lib.tensor(array, requires_grad=True)
            value = lib.tensor(2.5, requires_grad=value_grad)
            out = x.masked_fill(lib.tensor(mask), value)
            (out * out).sum().backward()
            got.append((out, x.grad, value.grad))
        _same(got[0][0], got[1][0])
        _same(got[0][1], got[1][1])
        if value_grad:
            _same(got[0][2], got[1][2])
        else:
            assert got[0][2] is None
    # where: a gradient to one branch only, then to both
    for wanted in ((True, False), (False, True), (True, True)):
        got = []
        for lib in (dg, torch):
            a = lib.tensor(array, requires_grad=wanted[0])
            b = lib.tensor(array[0] * 3, requires_grad=wanted[1])
            out = lib.where(lib.tensor(mask), a, b)
            (out * out).sum().backward()
            got.append((out, a.grad, b.grad))
        for ours, theirs in zip(got[0], got[1]):
            assert (ours is None) == (theirs is None)
            if ours is not None:
                _same(ours, theirs)


def test_stack_values_gradients_and_fallbacks():
    cases = [((3,), 0), ((3,), 1), ((2, 3), -1), ((), 0), ((2, 3), 1),
             ((2, 3, 4), 0), ((1, 2, 1, 4), 2)]  # (the last two: 4-D / 5-D results, via cat)
    for shape, dim in cases:
        arrays = [RNG.standard_normal(shape).astype(np.float32) for _ in range(3)]
        got = []
        for lib in (dg, torch):
            xs = [lib.tensor(a, requires_grad=True) for a in arrays]
            out = lib.stack(xs, dim)
            (out * lib.arange(out.numel()).reshape(out.shape)).sum().backward()
            got.append((out, [x.grad for x in xs]))
        _same(got[0][0], got[1][0])
        assert got[0][0].is_contiguous()
        for ours, theirs in zip(got[0][1], got[1][1]):
            _same(ours, theirs)
    assert type(dg.stack([dg.ones(2, requires_grad=True)] * 2).grad_fn).__name__ == (
        "StackBackward0")
    # mixed dtypes promote (the cat path), as PyTorch's
    _same(dg.stack([dg.ones(2), dg.ones(2, dtype=dg.float64)]),
          torch.stack([torch.ones(2), torch.ones(2, dtype=torch.float64)]))
    for lib in (dg, torch):
        with pytest.raises(RuntimeError):
            lib.stack([lib.ones(2), lib.ones(3)])
    # second order through the stack rule
    x = dg.tensor(RNG.standard_normal(3), requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda a: dg.stack([a * a, a], 0), [x.double()])


def test_capture_step_replays_the_fast_paths_bit_for_bit():
    w = dg.tensor(RNG.standard_normal((5, 5)).astype(np.float32), requires_grad=True)

    def loss_fn(inputs, targets, mask):
        h = dg.tril(inputs @ w).masked_fill(mask, 0.5)
        h = dg.stack([h, h * 2], 1).reshape(inputs.shape[0], -1)[:, :3]
        return dg.nn.functional.nll_loss(h.log_softmax(-1), targets)

    step = dg.capture_step(loss_fn)
    for _ in range(3):
        inputs = dg.tensor(RNG.standard_normal((4, 5)).astype(np.float32))
        targets = dg.tensor(RNG.integers(0, 3, 4))
        mask = dg.tensor(RNG.uniform(size=(4, 5)) > 0.7)
        w.grad = None
        eager = loss_fn(inputs, targets, mask)
        eager.backward()
        want = (eager.item(), w.grad.numpy().copy())
        w.grad = None
        assert step(inputs, targets, mask).item() == want[0]
        np.testing.assert_array_equal(w.grad.numpy(), want[1])


def test_cached_triangle_masks_survive_inference_mode():
    # (the first call of a size under inference_mode must not leave an inference tensor in the
    # cache: a later tril in a recorded graph would be refused)
    array = RNG.standard_normal((6, 7)).astype(np.float32)
    for lib in (dg, torch):
        x = lib.tensor(array, requires_grad=True)
        with lib.inference_mode():
            lib.tril(x, 2)
        lib.tril(x, 2).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.tril(np.ones((6, 7)), 2))


def test_masked_fill_with_an_inference_mask_raises_as_torch():
    for lib in (dg, torch):
        x = lib.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
        with lib.inference_mode():
            mask = lib.ones(3, 3) > 0
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved"):
            x.masked_fill(mask, 0.0)
