"""PyTorch's foreach test lists (``foreach_unary_op_db``, ``foreach_binary_op_db``,
``foreach_pointwise_op_db``, ``foreach_reduce_op_db``, ``foreach_other_op_db``: 46 ops) run
differentially through deltagrad (tests/parity/s30_FE1_harness.py): every sample out of place
and in place, gradients (out of place and in place on non-leaves), non-contiguous and
mixed-dtype lists, a number raised to a list, and misuses (unequal lengths, empty lists, a
tensor for a list, unequal shapes). What still differs is in KNOWN with its reason (an entry
there must still differ, every difference of that op and check starting as given)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import s30_FE1_harness as X  # noqa: E402

_REFUSES = ("PyTorch 2.13's foreach backward raises here ({}) where its per-tensor {} gives "
            "gradients; deltagrad's are those of PyTorch's per-tensor op (the harness checks "
            "them against it), so nothing is silently different")

# "check:op" -> (the first words of every difference, why it still differs)
KNOWN = {
    **{f"grad:_foreach_{op}": (
        f"backward: PyTorch raised RuntimeError; deltagrad's gradients are those of its "
        f"per-tensor {op}",
        _REFUSES.format("'inconsistent range for TensorList output', a 0-d tensor operand "
                        "that requires grad", op)) for op in ("add", "mul", "div")},
    "grad:_foreach_addcdiv": (
        "backward: PyTorch raised IndexError; deltagrad's gradients are those of its "
        "per-tensor addcdiv",
        _REFUSES.format("IndexError 'select(): index 3 out of range' on lists of 5 tensors of "
                        "unequal sizes", "addcdiv")),
}

DEFAULT_DTYPES = ("float32", "int64", "bool")  # (~1.6 s of one core; every dtype: soak)


def _sweep(check, dtypes, n_tensors=(5,)):
    found = {}
    for name in X.foreach_ops():
        for dtype in dtypes:
            for key, msg in X.run(name, dtype, check, n_tensors).items():
                found[f"{check}:{name}:{dtype}:{key}"] = msg
    return found


def _judge(found, check, strict=True):
    known = {k: v for k, v in KNOWN.items() if k.startswith(check + ":")}

    def entry(key):
        return ":".join(key.split(":")[:2])
    new = {k: v for k, v in found.items() if entry(k) not in known}
    changed = {k: v for k, v in found.items()
               if entry(k) in known and not v.startswith(known[entry(k)][0])}
    stale = sorted(k for k in known if not any(entry(f) == k for f in found))
    assert not new, f"new differences from PyTorch: {new}"
    assert not changed, f"KNOWN entries that differ otherwise now: {changed}"
    assert not stale or not strict, f"KNOWN entries that agree now (remove them): {stale}"


def test_lists_collected():
    ops = X.foreach_ops()
    assert len(ops) >= 46  # (32 unary, 10 binary, 2 pointwise, 2 reductions, lerp and mm)
    assert all(reason for _, reason in KNOWN.values())
    assert {k.split(":", 1)[1] for k in KNOWN} <= set(ops)
    assert {k.split(":", 1)[0] for k in KNOWN} <= set(X.CHECKS)


@pytest.mark.parametrize("check", X.CHECKS)
def test_foreach_lists(check):
    dtypes = ("float32",) if check in ("grad", "inplace_grad") else DEFAULT_DTYPES
    _judge(_sweep(check, dtypes), check, strict=check != "errors")


@pytest.mark.soak
@pytest.mark.parametrize("check", X.CHECKS)
def test_foreach_lists_every_dtype(check):
    _judge(_sweep(check, X.DTYPES), check)


@pytest.mark.soak
@pytest.mark.parametrize("check", X.CHECKS)
def test_foreach_lists_pytorch_sizes(check):
    # (PyTorch's own lists: 20 and 23 tensors, of 20 x 20 down to 1 x 1)
    _judge(_sweep(check, ("float32", "float64", "bfloat16", "int64"), (20, 23)), check,
           strict=False)
