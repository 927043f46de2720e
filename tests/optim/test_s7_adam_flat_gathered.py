"""Adam's flat path for small parameters reads each gradient where it lies (no flat copy of the
gradients first): the same numbers, bit for bit, as one parameter at a time and as the copying
path that large groups still take, and PyTorch's within float rounding."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.optim import Adam, AdamW

SHAPES = [(37, 29), (29,), (5, 37), (5,), ()]


def _gradients(rng, dtype, steps):
    """Per step, one gradient per parameter; the second parameter's is a strided view and the
    first's a transposed (Fortran-ordered) array, so the path must not assume C order."""
    out = []
    for _ in range(steps):
        grads = []
        for k, shape in enumerate(SHAPES):
            if k == 0:
                grads.append(np.ascontiguousarray(rng.standard_normal(shape[::-1])).T)
            elif k == 1:
                grads.append(rng.standard_normal(2 * shape[0])[::2])
            else:
                grads.append(np.asarray(rng.standard_normal(shape)))
        out.append([g.astype(dtype) for g in grads])
    return out


def _run(monkeypatch, dtype, options, *, flat=True, chunk_bytes=None, steps=4):
    from deltagrad.optim import adam

    if not flat:
        monkeypatch.setattr(adam, "_FLAT_MAX_SIZE", 0)
    if chunk_bytes is not None:
        monkeypatch.setattr(adam, "_CHUNK_BYTES", chunk_bytes)
    calls = {"gathered": 0}
    gathered = adam._adam_update_gathered

    def counting(*args):
        calls["gathered"] += 1
        gathered(*args)

    monkeypatch.setattr(adam, "_adam_update_gathered", counting)
    rng = np.random.default_rng(7)
    init = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    params = [dg.tensor(value, requires_grad=True) for value in init]
    options = dict(options)
    optimizer = (AdamW if options.pop("adamw", False) else Adam)(params, lr=0.01, **options)
    for grads in _gradients(np.random.default_rng(8), dtype, steps):
        for param, grad in zip(params, grads):
            param.grad = dg.tensor(grad)
        optimizer.step()
    result = [p.detach().numpy().copy() for p in params]
    result += [optimizer.state[p][name].detach().numpy().copy() for p in params
               for name in ("exp_avg", "exp_avg_sq")]
    monkeypatch.undo()
    return init, result, calls["gathered"]


OPTIONS = [{}, {"weight_decay": 0.1, "adamw": True}, {"betas": (0.5, 0.9), "eps": 1e-3}]


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "adamw", "betas-eps"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gathered_flat_path_matches_one_by_one_and_copying_path(monkeypatch, dtype, options):
    _, gathered, used = _run(monkeypatch, dtype, options)
    assert used == 4  # every step took the new path
    _, one_by_one, used_single = _run(monkeypatch, dtype, options, flat=False)
    assert used_single == 0
    # 1012-byte chunks: the group (1,300 elements) is over two chunks, so it is copied flat.
    _, copied, used_copied = _run(monkeypatch, dtype, options, chunk_bytes=1012)
    assert used_copied == 0
    for a, b, c in zip(gathered, one_by_one, copied):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "adamw", "betas-eps"])
def test_gathered_flat_path_matches_torch(monkeypatch, options):
    torch = pytest.importorskip("torch")
    init, mine, _ = _run(monkeypatch, np.float32, options)
    options = dict(options)
    cls = torch.optim.AdamW if options.pop("adamw", False) else torch.optim.Adam
    params = [torch.tensor(value, requires_grad=True) for value in init]
    optimizer = cls(params, lr=0.01, **options)
    for grads in _gradients(np.random.default_rng(8), np.float32, 4):
        for param, grad in zip(params, grads):
            param.grad = torch.tensor(np.array(grad, order="C"))
        optimizer.step()
    theirs = [p.detach().numpy() for p in params]
    theirs += [optimizer.state[p][name].numpy() for p in params
               for name in ("exp_avg", "exp_avg_sq")]
    for a, b in zip(mine, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
