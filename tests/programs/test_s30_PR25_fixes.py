"""PR25 (session 30): differences found by running widely copied public PyTorch programs
(PyTorch-GAN, yunjey's tutorial, nanoGPT, pytorch-cifar, practical-pytorch, ...) on deltagrad,
each reduced to its own minimal differential check against PyTorch.

- ``autograd.backward`` with several tensors checked no gradient's shape: a gradient of another
  shape was broadcast into the sum (the REINFORCE program's ``torch.ones(1)`` for a 0-d loss
  trained on silently; PyTorch raises), and a number was taken as a gradient.
- A DataLoader pass without workers is PyTorch's ``_SingleProcessDataLoaderIter`` (the old
  tutorials' ``iter(loader).next()`` prints the class name in its AttributeError).
- ``Tensor.backward`` calls ``torch.autograd.backward`` through the module, as PyTorch's does:
  udacity's project unit tests patch it (``unittest.mock.patch.object(torch.autograd,
  'backward', wraps=...)``) and fail a correct solution when it is not called.
"""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as error:  # noqa: BLE001 (the exception's kind is what is compared)
        kind = next(k for k in (TypeError, RuntimeError, ValueError, Exception)
                    if isinstance(error, k))
        return ("raised", kind.__name__)


@pytest.mark.parametrize("grad_shapes", [((1,), (1, 3)), ((), (3,)), ((1,), None), ((), (1, 3)),
                                         ((1, 1), (1, 3)), ((), (2, 3))],
                         ids=["0d-got-1", "view-got-flat", "0d-got-1-none", "ok",
                              "0d-got-1x1", "second-broadcast"])
@pytest.mark.parametrize("api", ["backward", "grad"])
def test_autograd_backward_several_roots_checks_each_gradient_shape(grad_shapes, api):
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        roots = [(x * x).sum(), (x * 3).view(1, 3)]
        grads = [None if s is None else lib.full(s, 2.0) for s in grad_shapes]
        if grad_shapes[1] is None:
            roots[1] = roots[1].sum()
        if api == "grad":
            return lib.autograd.grad(roots, [x], grads)[0].tolist()
        lib.autograd.backward(roots, grads)
        return x.grad.tolist()

    assert _outcome(lambda: run(dg)) == _outcome(lambda: run(torch))


def test_autograd_backward_several_roots_rejects_a_number_gradient():
    def run(lib):
        x = lib.ones(3, requires_grad=True)
        lib.autograd.backward([(x * 2).sum(), x * 3], [2.0, lib.ones(3)])
        return x.grad.tolist()

    assert _outcome(lambda: run(dg)) == _outcome(lambda: run(torch)) == ("raised", "TypeError")


def test_autograd_backward_several_roots_values_and_dtype():
    def run(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        lib.autograd.backward([(x * x).sum(), x * 3],
                              [lib.tensor(2.0), lib.tensor([1.0, 0.5, 0.25], dtype=lib.float64)])
        return x.grad.tolist(), str(x.grad.dtype).split(".")[-1]

    assert run(dg) == run(torch)


@pytest.mark.parametrize("workers", [0, 1], ids=["no-workers", "one-worker"])
def test_dataloader_iterator_class_and_old_next_error(workers):
    def run(lib):
        data = lib.utils.data.TensorDataset(lib.arange(6.0))
        it = iter(lib.utils.data.DataLoader(data, batch_size=4, num_workers=workers))
        single = isinstance(it, lib.utils.data.dataloader._SingleProcessDataLoaderIter)
        base = isinstance(it, lib.utils.data.dataloader._BaseDataLoaderIter)
        try:
            it.next()
            message = None
        except AttributeError as error:
            message = str(error)
        return single, base, [b[0].tolist() for b in it], message if not workers else None

    assert run(dg) == run(torch)
    assert run(dg)[0] is (not workers)


@pytest.mark.parametrize("how", ["wraps", "replaced", "gradient", "several-roots"])
def test_tensor_backward_goes_through_a_patched_autograd_backward(how):
    # udacity's project unit tests: patch.object(torch.autograd, 'backward', wraps=...) and
    # assert that a training step's loss.backward() called it
    from unittest.mock import patch

    def run(lib):
        x = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        extra = {} if how == "replaced" else {"wraps": lib.autograd.backward}
        with patch.object(lib.autograd, "backward", **extra) as mocked:
            y = x * x * 3
            if how == "gradient":
                y.backward(lib.tensor([1.0, 0.5, 2.0]))
            elif how == "several-roots":
                lib.autograd.backward([y.sum(), (x * 2).sum()])
            else:
                y.sum().backward()
        calls = [(len(c.args), sorted(c.kwargs)) for c in mocked.call_args_list]
        return calls, None if x.grad is None else x.grad.tolist()

    assert run(dg) == run(torch)
    assert dg.autograd.backward.__module__ == "deltagrad.autograd.backward"  # (restored)


@pytest.mark.parametrize("layer,shape", [("InstanceNorm1d", (2, 3, 5)),
                                         ("InstanceNorm2d", (2, 3, 4, 4)),
                                         ("InstanceNorm2d", (3, 4, 4)),
                                         ("InstanceNorm3d", (1, 3, 2, 2, 2))],
                         ids=["1d", "2d", "2d-unbatched", "3d"])
@pytest.mark.parametrize("affine", [False, True], ids=["plain", "affine"])
def test_instance_norm_other_width_warns_or_raises_like_torch(layer, shape, affine):
    # PyTorch-GAN's MUNIT: nn.InstanceNorm2d(64) on a narrower input (affine=False: a warning)
    import warnings

    values = torch.randn(shape, generator=torch.Generator().manual_seed(0)).numpy()

    def run(lib):
        norm = getattr(lib.nn, layer)(8, affine=affine)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                out = norm(lib.tensor(values)).numpy()
            except ValueError as error:
                return "ValueError", str(error), []
        return out, None, [str(w.message) for w in seen]

    ours, theirs = run(dg), run(torch)
    if affine:
        assert ours == theirs
    else:
        assert ours[2] == theirs[2] and len(theirs[2]) == 1
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
