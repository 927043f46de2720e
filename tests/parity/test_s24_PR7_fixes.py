"""Session 24 PR7: what the new training-script programs (tests/programs/prog_s24_PR7_*.py)
found missing, each checked against PyTorch: ``Module.compile()`` (PyTorch's in-place compile)
and the ``torch.backends.openmp`` / ``mkl`` / ``opt_einsum`` modules training scripts query."""

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def test_module_compile_in_place():
    # Was AttributeError: 'Sequential' object has no attribute 'compile'. (PyTorch's own call
    # is not made here: importing its compiler changes process-wide state, the Distribution
    # validate_args default, which the suite's state check refuses; the programs make it.)
    assert callable(torch.nn.Module.compile)
    results = []
    for lib in (torch, dg):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
        returned = model.compile(backend="eager") if lib is dg else None
        x = lib.ones(2, 3)
        results.append((returned, type(model).__name__, sorted(model.state_dict()),
                        model(x).detach().numpy().tolist()))
    assert results[0] == results[1]
    assert results[1][2][0] == "0.bias"  # (the module itself: no _orig_mod. prefix)


@pytest.mark.parametrize("name", ["openmp", "mkl", "opt_einsum"])
def test_backend_modules_exist(name):
    # Were AttributeError: module 'deltagrad.backends' has no attribute ...
    ours, theirs = getattr(dg.backends, name), getattr(torch.backends, name)
    assert isinstance(ours.is_available(), bool)
    assert isinstance(theirs.is_available(), bool)
    assert ours.is_available() is False  # (NumPy kernels: none of these libraries is used)


def test_opt_einsum_flags_restored():
    flags = dg.backends.opt_einsum
    assert (flags.enabled, flags.strategy) == (False, None)  # PyTorch's values when unused
    with flags.flags(enabled=True, strategy="greedy"):
        assert (flags.enabled, flags.strategy) == (True, "greedy")
        a = dg.ones(2, 3)
        assert dg.einsum("ij,jk->ik", a, a.T).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert (flags.enabled, flags.strategy) == (False, None)
    with dg.backends.mkl.verbose(dg.backends.mkl.VERBOSE_ON) as context:
        assert context is not None


def test_ema_multi_avg_fn_integer_buffers_in_default_dtype():
    # Was 1 where PyTorch has 2: 1 * 0.8 + 6 * 0.2 computed in float64 (1.9999..., truncated)
    # where PyTorch's tensor expression computes in float32 (2.0). AveragedModel(use_buffers=
    # True) then kept BatchNorm's num_batches_tracked one behind after a few updates.
    values = []
    for lib in (torch, dg):
        update = lib.optim.swa_utils.get_ema_multi_avg_fn(0.8)
        ema = [lib.tensor(1), lib.tensor([3, 7], dtype=lib.int32)]
        update(ema, [lib.tensor(6), lib.tensor([9, 11], dtype=lib.int32)], lib.tensor(1))
        values.append([t.tolist() for t in ema] + [str(t.dtype)[-5:] for t in ema])
    assert values[0] == values[1] and values[1][0] == 2
    counts = []
    for lib in (torch, dg):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        ema = lib.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.8), use_buffers=True)
        for _ in range(12):
            model(lib.ones(4, 2))
            ema.update_parameters(model)
        counts.append(int(ema.module[1].num_batches_tracked))
    assert counts == [8, 8]


@pytest.mark.parametrize("name, dtype, options", [
    ("Adam", "float16", {}), ("NAdam", "float16", {}), ("RMSprop", "float32", {"eps": 0.0}),
    ("Adagrad", "float32", {"eps": 0.0}), ("AdamW", "bfloat16", {"eps": 0.0}),
])
def test_optimizer_step_gives_inf_nan_silently(name, dtype, options):
    # Was a NumPy RuntimeWarning ("divide by zero" / "invalid value encountered in divide")
    # from the update where float16's eps rounds to 0 or eps=0 meets a zero gradient; PyTorch
    # gives the same nan silently.
    import warnings

    values = []
    for lib in (torch, dg):
        param = lib.nn.Parameter(lib.tensor([1.0, 2.0, -3.0], dtype=getattr(lib, dtype)))
        param.grad = lib.tensor([1.0, 0.0, 0.0], dtype=getattr(lib, dtype))
        optimizer = getattr(lib.optim, name)([param], lr=0.1, **options)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            optimizer.step()
        values.append((param.detach().float().numpy().tolist(),
                       [str(w.category.__name__) for w in caught]))
    assert values[1][1] == values[0][1] == []
    np = pytest.importorskip("numpy")
    assert np.allclose(values[0][0], values[1][0], equal_nan=True)
    assert np.isnan(values[1][0]).any()


def test_numpy_warnings_stay_on_outside_the_step():
    import warnings

    import numpy as np

    param = dg.nn.Parameter(dg.tensor([1.0]))
    param.grad = dg.tensor([1.0])
    dg.optim.SGD([param], lr=0.1).step()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.float32(1.0) / np.zeros(1, np.float32)
    assert [w.category for w in caught] == [RuntimeWarning]
