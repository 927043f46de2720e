"""Regression tests of what PR13's programs (session 27, tests/programs/prog_s27_PR13_*.py)
found different from PyTorch 2.13, each run on deltagrad and on the real torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _inplace_relu(lib, save_output: bool):
    class InplaceRelu(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            x.clamp_(min=0)
            if save_output:
                ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            if not save_output:
                return grad
            (y,) = ctx.saved_tensors
            return grad * (y > 0)

    return InplaceRelu


@pytest.mark.parametrize("save_output", [True, False], ids=["saved", "unsaved"])
def test_mark_dirty_saves_the_changed_input(save_output):
    # PyTorch saves a Function's tensors after mark_dirty's version count: backward may read
    # the input it changed in place (deltagrad raised "modified by an inplace operation")
    def run(lib):
        leaf = lib.tensor([1.0, -2.0, 3.0, -0.5], requires_grad=True)
        h = leaf * 1.0
        r = _inplace_relu(lib, save_output).apply(h)
        (r * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
        return r is h, r._version, r.detach().numpy().copy(), leaf.grad.numpy().copy()

    ours, real = run(deltagrad), run(torch)
    assert ours[:2] == real[:2]
    np.testing.assert_array_equal(ours[2], real[2])
    np.testing.assert_array_equal(ours[3], real[3])


def test_mark_dirty_later_change_still_raises():
    # a change after forward is still caught, as PyTorch's version check does
    def run(lib):
        leaf = lib.tensor([1.0, -2.0], requires_grad=True)
        r = _inplace_relu(lib, True).apply(leaf * 1.0)
        r.mul_(2)
        try:
            r.sum().backward()
        except RuntimeError:
            return "RuntimeError"
        return leaf.grad.tolist()

    assert run(deltagrad) == run(torch) == "RuntimeError"


CALLS = {
    "exp": lambda t: np.exp(t.arange(3.0)),
    "exp_0d": lambda t: np.exp(t.tensor(1.0)),
    "isfinite": lambda t: np.isfinite(t.tensor([1.0, float("inf")])),
    "maximum_array": lambda t: np.maximum(t.ones(2), np.zeros(2)),
    "modf": lambda t: np.modf(t.tensor([1.5])),
    "square_int": lambda t: np.square(t.tensor(3)),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_ufunc_on_tensor_warns_as_pytorch(name):
    # PyTorch's Tensor.__array_wrap__ takes one argument, so NumPy 2 warns a DeprecationWarning
    # on every ufunc given a tensor (the values and types were already the same)
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = CALLS[name](lib)
        outs = out if isinstance(out, tuple) else (out,)
        return ([(type(o).__name__, str(o.dtype).rsplit(".")[-1], o.tolist()) for o in outs],
                sorted((w.category.__name__, str(w.message)) for w in caught))

    ours, real = run(deltagrad), run(torch)
    assert ours == real
    assert real[1], "PyTorch no longer warns: drop the one-argument __array_wrap__"


def _legacy_pickle(lib):
    import pickle
    return pickle.dumps({"a": 1}, protocol=2)


def _truncated(lib):
    import io
    buffer = io.BytesIO()
    lib.save({"w": lib.ones(50)}, buffer)
    return buffer.getvalue()[:100]  # (each library's own format, cut short)


BAD_FILES = {
    "truncated_checkpoint": _truncated,
    "garbage": lambda lib: b"garbage",
    "long_garbage": lambda lib: b"garbage" * 100,
    "empty": lambda lib: b"",
    "plain_pickle": _legacy_pickle,
    "damaged_zip": lambda lib: b"PK\x03\x04" + b"x" * 100,
}


@pytest.mark.parametrize("weights_only", [True, False], ids=["weights_only", "full"])
@pytest.mark.parametrize("name", list(BAD_FILES))
def test_load_of_a_damaged_file_raises_pytorchs_type(tmp_path, name, weights_only):
    # deltagrad raised only its CheckpointError (a ValueError): a program's
    # ``except (RuntimeError, EOFError, pickle.UnpicklingError)`` did not catch it
    import io
    import pickle

    def outcome(lib, source):
        try:
            lib.load(source, weights_only=weights_only)
        except (RuntimeError, EOFError, pickle.UnpicklingError) as error:
            return next(kind.__name__ for kind in (pickle.UnpicklingError, EOFError, RuntimeError)
                        if isinstance(error, kind))
        return "loaded"

    ours, theirs = BAD_FILES[name](deltagrad), BAD_FILES[name](torch)
    (tmp_path / "ours.pt").write_bytes(ours)
    (tmp_path / "theirs.pt").write_bytes(theirs)
    expected = outcome(torch, io.BytesIO(theirs))
    assert outcome(deltagrad, io.BytesIO(ours)) == expected
    assert outcome(deltagrad, str(tmp_path / "ours.pt")) == expected
    assert outcome(torch, str(tmp_path / "theirs.pt")) == expected
    with pytest.raises(deltagrad.CheckpointError):  # (still deltagrad's own class too)
        deltagrad.load(io.BytesIO(ours), weights_only=weights_only)


@pytest.mark.parametrize("protocol", [2, 4], ids=["protocol2", "protocol4"])
def test_weights_only_load_warns_of_another_pickle_protocol(protocol):
    # PyTorch's weights-only unpickler warns at a pickle of a protocol other than 2 (here a
    # plain pickle.dump file given to torch.load: then its magic number is wrong)
    import io
    import pickle

    def outcome(lib):
        data = io.BytesIO(pickle.dumps(7, protocol=protocol))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError):
                lib.load(data, weights_only=True)
        return [(w.category.__name__, str(w.message).split(". ")[0]) for w in caught]

    assert outcome(deltagrad) == outcome(torch)


def test_vmap_randomness_error_leaves_the_generator_alone():
    # PyTorch refuses the random op before it draws: after the RuntimeError the global
    # generator continues where it was (deltagrad had drawn the first example's numbers)
    def run(lib):
        lib.manual_seed(0)
        with pytest.raises(RuntimeError):
            lib.func.vmap(lambda x: lib.randn(2) + x)(lib.ones(3))
        return lib.randn(3).tolist()

    assert run(deltagrad) == run(torch)


@pytest.mark.parametrize("read", ["numel", "nelement", "dim", "len", "tolist", "data_ptr"])
def test_uninitialized_parameter_refuses_size_reads(read):
    # counting a lazy model's parameters before its first forward: PyTorch raises ValueError,
    # deltagrad counted 0
    calls = {"numel": lambda p: p.numel(), "nelement": lambda p: p.nelement(),
             "dim": lambda p: p.dim(), "len": len, "tolist": lambda p: p.tolist(),
             "data_ptr": lambda p: p.data_ptr()}

    def outcome(lib):
        model = lib.nn.Sequential(lib.nn.LazyLinear(3))
        try:
            calls[read](next(model.parameters()))
        except ValueError as error:
            first = str(error).split(" in ")[0]
        model(lib.ones(2, 4))
        return first, sum(p.numel() for p in model.parameters())

    assert outcome(deltagrad) == outcome(torch)


@pytest.mark.parametrize("kind", ["step_lr", "lambda_lr", "plateau"])
def test_scheduler_step_with_an_epoch_warns_pytorchs_first_sentence(kind):
    # warning filters and logs match on PyTorch's wording; deltagrad worded it its own way
    def outcome(lib):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=1.0)
        sched = {"step_lr": lambda: lib.optim.lr_scheduler.StepLR(opt, 2, 0.5),
                 "lambda_lr": lambda: lib.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e),
                 "plateau": lambda: lib.optim.lr_scheduler.ReduceLROnPlateau(opt)}[kind]()
        opt.step()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step(1.0, 3) if kind == "plateau" else sched.step(3)
        return ([(w.category.__name__, str(w.message).split(". ")[0]) for w in caught],
                opt.param_groups[0]["lr"])

    assert outcome(deltagrad) == outcome(torch)


ARRAY_CALLS = {
    "array": lambda t: np.array(t),
    "asarray": lambda t: np.asarray(t),
    "array_no_copy": lambda t: np.array(t, copy=False),
    "asarray_copy": lambda t: np.asarray(t, copy=True),
    "array_dtype": lambda t: np.array(t, dtype=np.float64),
    "array_of_tensors": lambda t: np.array([t, t]),
}


@pytest.mark.parametrize("name", list(ARRAY_CALLS))
def test_numpy_array_of_tensor_as_pytorch(name):
    # PyTorch's Tensor.__array__ takes no ``copy``: NumPy 2 warns at np.array(t) (copy=True)
    # and refuses copy=False with a ValueError; deltagrad accepted copy and did neither
    def run(lib):
        t = lib.ones(2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = ARRAY_CALLS[name](t)
            except ValueError:
                out = None
        shares = None if out is None else bool(np.shares_memory(out, t.numpy()))
        return (None if out is None else (out.dtype.name, out.tolist()), shares,
                sorted(w.category.__name__ for w in caught))

    assert run(deltagrad) == run(torch)
