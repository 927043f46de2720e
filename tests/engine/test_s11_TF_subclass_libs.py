"""What MONAI's MetaTensor and torchvision's tv_tensors needed beyond the protocol itself,
differentially against PyTorch: ``F.affine_grid`` given its ``theta`` by keyword (MONAI's
AffineTransform; a MetaTensor theta goes through its ``__torch_function__``), and
``default_collate`` batching Tensor subclasses through ``torch.stack``, so that their
``__torch_function__`` decides the batch's class (MetaTensor keeps it, tv_tensors drop it)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad.utils.data import default_collate

torch = pytest.importorskip("torch")


def _classes(lib):
    """The same three subclasses in ``lib``: one keeping its class (the default protocol), one
    unwrapping every result (as tv_tensors), and a plain one."""

    class Keeps(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return super().__torch_function__(func, types, args, kwargs)

    class Unwraps(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            with lib._C.DisableTorchFunctionSubclass():
                result = func(*args, **(kwargs or {}))
            return result.as_subclass(lib.Tensor) if isinstance(result, lib.Tensor) else result

    class Plain(lib.Tensor):
        pass

    return {"Keeps": Keeps, "Unwraps": Unwraps, "Plain": Plain}


THETA = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.05]]], dtype=np.float32)


@pytest.mark.parametrize("kind", [None, "Keeps", "Unwraps"])
def test_affine_grid_theta_by_keyword(kind):
    grids = []
    for lib in (torch, dg):
        theta = lib.from_numpy(THETA.copy())
        if kind is not None:
            theta = theta.as_subclass(_classes(lib)[kind])
        grid = lib.nn.functional.affine_grid(theta=theta, size=[1, 1, 3, 4], align_corners=False)
        grids.append(grid)
    real, ours = grids
    assert type(ours).__name__ == type(real).__name__
    np.testing.assert_allclose(ours.as_subclass(dg.Tensor).numpy(),
                               real.as_subclass(torch.Tensor).numpy(), rtol=1e-6, atol=1e-7)


def test_affine_grid_refuses_a_non_tensor_theta_by_keyword():
    with pytest.raises(TypeError, match="theta"):
        F.affine_grid(theta=THETA.tolist(), size=[1, 1, 3, 4], align_corners=False)
    with pytest.raises(TypeError):  # (no theta at all: Python's own error)
        F.affine_grid(size=[1, 1, 3, 4], align_corners=False)


@pytest.mark.parametrize("kind", ["Keeps", "Unwraps", "Plain"])
def test_default_collate_stacks_subclasses_through_their_protocol(kind):
    rng = np.random.default_rng(0)
    items = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    batches = []
    for lib, collate in ((torch, torch.utils.data.default_collate), (dg, default_collate)):
        cls = _classes(lib)[kind]
        batches.append(collate([lib.from_numpy(a.copy()).as_subclass(cls) for a in items]))
    real, ours = batches
    expected = {"Keeps": "Keeps", "Unwraps": "Tensor", "Plain": "Plain"}[kind]
    assert type(ours).__name__ == type(real).__name__ == expected
    np.testing.assert_array_equal(ours.as_subclass(dg.Tensor).numpy(),
                                  real.as_subclass(torch.Tensor).numpy())


def test_default_collate_of_plain_tensors_stays_plain():
    batch = default_collate([dg.ones(2), dg.zeros(2)])
    assert type(batch) is dg.Tensor
    np.testing.assert_array_equal(batch.numpy(), [[1, 1], [0, 0]])


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("layout", ["to_sparse", "to_sparse_csr"])
def test_default_collate_refuses_sparse_batches_as_torch(layout):
    # deltagrad's sparse tensors are Tensor subclasses: they must not reach the subclass path
    with pytest.raises(RuntimeError, match="sparse tensors are not currently supported"):
        torch.utils.data.default_collate([getattr(torch.eye(2), layout)()] * 2)
    with pytest.raises(RuntimeError, match="sparse tensors are not currently supported"):
        default_collate([getattr(dg.eye(2), layout)()] * 2)


# Subclasses whose __new__ needs arguments (as MetaTensor's, tv_tensors'), importable by name so
# that pickle and checkpoints can refer to them.
class TorchTagged(torch.Tensor):
    def __new__(cls, data, tag):
        value = torch.as_tensor(data).as_subclass(cls)
        value.tag = tag
        return value


class Tagged(dg.Tensor):
    def __new__(cls, data, tag):
        value = dg.as_tensor(data).as_subclass(cls)
        value.tag = tag
        return value


def _round_trips(lib, value):
    import copy
    import io
    import pickle

    buffer = io.BytesIO()
    lib.save({"x": value, "again": [value]}, buffer)
    buffer.seek(0)
    loaded = lib.load(buffer, weights_only=False)
    assert loaded["again"][0] is loaded["x"]  # (shared references stay shared)
    return {"pickle": pickle.loads(pickle.dumps(value)), "copy": copy.copy(value),
            "save_load": loaded["x"]}


@pytest.mark.parametrize("requires_grad", [False, True])
def test_subclass_with_its_own_new_pickles_copies_and_saves(requires_grad):
    real = _round_trips(torch, TorchTagged([1.0, 2.5], "a").requires_grad_(requires_grad))
    ours = _round_trips(dg, Tagged([1.0, 2.5], "a").requires_grad_(requires_grad))
    for how in real:
        a, b = real[how], ours[how]
        assert type(b).__name__ == "Tagged" and type(a).__name__ == "TorchTagged", how
        assert b.__dict__ == a.__dict__ == {"tag": "a"}, how
        assert (b.requires_grad, b.is_leaf) == (a.requires_grad, a.is_leaf), how
        assert b.tolist() == a.tolist(), how


def test_subclass_deepcopy_keeps_class_and_attributes():
    # (PyTorch's own deepcopy raises for a subclass without new_empty; MetaTensor and tv_tensors
    # define what they need, and deltagrad gives the copy those libraries expect)
    import copy

    value = Tagged([1.0, 2.0], "b")
    value.extra = [1]
    copied = copy.deepcopy(value)
    assert type(copied) is Tagged and copied.__dict__ == {"tag": "b", "extra": [1]}
    assert copied.extra is not value.extra
    copied.add_(1)
    assert value.tolist() == [1.0, 2.0]


def test_weights_only_load_refuses_a_subclass_as_torch():
    import io
    import pickle

    for lib, value in ((torch, TorchTagged([1.0], "c")), (dg, Tagged([1.0], "c"))):
        buffer = io.BytesIO()
        lib.save(value, buffer)
        buffer.seek(0)
        with pytest.raises(pickle.UnpicklingError):
            lib.load(buffer)


def test_default_collate_gives_torch_stack_as_func():
    for lib, collate in ((torch, torch.utils.data.default_collate), (dg, default_collate)):
        class Recorder(lib.Tensor):
            seen: list = []

            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                cls.seen.append(func)
                return super().__torch_function__(func, types, args, kwargs)

        collate([lib.ones(2).as_subclass(Recorder), lib.zeros(2).as_subclass(Recorder)])
        assert lib.stack in Recorder.seen, (lib.__name__, Recorder.seen)
