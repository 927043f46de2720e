"""Regression tests of PR17's (session 27) fixes, each differential against PyTorch: finfo /
iinfo compare equal by dtype (``torch.finfo() == torch.finfo(torch.float32)`` in programs'
dtype checks), cosine_similarity of vectors whose norm overflows to inf (0 as PyTorch's, was
nan from inf - inf), the empty-reduction error wording (no internal names), finfo / iinfo of a
name (TypeError), autocast's fast_dtype / device attributes, use_deterministic_algorithms
refusing non-bools."""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("lib", ["torch", "deltagrad"])
def test_finfo_iinfo_equality(lib):
    t = torch if lib == "torch" else dg
    assert t.finfo() == t.finfo(t.float32)
    assert t.finfo(t.float16) != t.finfo(t.float32)
    assert t.finfo(t.complex64) == t.finfo(t.float32)
    assert t.finfo(t.bfloat16) == t.finfo(t.bfloat16)
    assert not (t.finfo(t.float32) == 1)
    assert t.iinfo(t.int32) == t.iinfo(t.int32) and t.iinfo(t.int8) != t.iinfo(t.int32)
    assert not (t.finfo(t.float32) == t.iinfo(t.int32))
    with pytest.raises(TypeError):
        hash(t.finfo(t.float32))


@pytest.mark.parametrize("x1, x2", [([[1e20, 1e20]], [[1e20, 1e20]]),
                                    ([[1e20, 0.0]], [[1e20, 1e20]]),
                                    ([[1e-30, 0.0]], [[1.0, 1.0]]), ([[3.0, 4.0]], [[4.0, 3.0]])],
                         ids=["both-inf-norm", "one-inf-norm", "below-eps", "plain"])
def test_cosine_similarity_overflowing_norm(x1, x2):
    results = []
    for t in (torch, dg):
        a = t.tensor(x1, requires_grad=True)
        out = t.nn.functional.cosine_similarity(a, t.tensor(x2))
        out.sum().backward()
        results.append((out.detach().tolist(), a.grad.tolist()))
    (want, want_grad), (got, got_grad) = results
    assert got == pytest.approx(want, rel=1e-6, nan_ok=True)
    assert got_grad == [pytest.approx(row, rel=1e-5, nan_ok=True) for row in want_grad]


@pytest.mark.parametrize("op", ["max", "amax", "argmax"])
def test_empty_reduction_message(op):
    caught = []
    for t in (torch, dg):
        with pytest.raises((RuntimeError, IndexError)) as info:
            getattr(t.tensor([]), op)()
        caught.append((type(info.value), str(info.value)))
    assert caught[0][0] is caught[1][0]
    assert caught[1][1] == caught[0][1][:len(caught[1][1])]
    assert "_data" not in caught[1][1]


@pytest.mark.parametrize("lib", ["torch", "deltagrad"])
def test_finfo_iinfo_refuse_a_name(lib):
    t = torch if lib == "torch" else dg
    for info, name in ((t.finfo, "float32"), (t.iinfo, "int32")):
        with pytest.raises(TypeError, match="must be torch.dtype, not str"):
            info(name)


@pytest.mark.parametrize("lib", ["torch", "deltagrad"])
def test_autocast_fast_dtype_and_device(lib):
    t = torch if lib == "torch" else dg
    seen = []
    with pytest.warns(UserWarning):  # (float32 on CPU, and "cuda" here: both disabled)
        seen.append(t.autocast("cpu", dtype=t.float32).fast_dtype)
        seen.append(t.autocast("cuda").fast_dtype)
    for made in (t.autocast("cpu"), t.autocast("cpu", dtype=t.float16),
                 t.autocast("cpu", enabled=False)):
        seen.append(made.fast_dtype)
        assert made.device == "cpu"
    assert [str(d).split(".")[-1] for d in seen] == [
        "float32", "float16", "bfloat16", "float16", "bfloat16"]


@pytest.mark.parametrize("lib", ["torch", "deltagrad"])
@pytest.mark.parametrize("mode, warn_only", [(1, False), (None, False), (False, "yes")],
                         ids=["int-mode", "none-mode", "str-warn_only"])
def test_use_deterministic_algorithms_wants_bools(lib, mode, warn_only):
    t = torch if lib == "torch" else dg
    with pytest.raises(TypeError, match="must be bool"):
        t.use_deterministic_algorithms(mode, warn_only=warn_only)
    assert t.are_deterministic_algorithms_enabled() is False
