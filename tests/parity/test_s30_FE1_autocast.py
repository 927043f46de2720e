"""PyTorch's CPU autocast test lists (``AutocastCPUTestLists``: 55 entries, each under
bfloat16 and float16 autocast) run differentially through deltagrad's autocast
(tests/parity/s30_FE1_autocast.py): result dtypes and values of ``torch.<op>``,
``Tensor.<op>`` and (for the nn lists) ``nn.functional.<op>`` inside the context, and the
gradients after a backward outside it. What still differs is in KNOWN with its reason."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import s30_FE1_autocast as A  # noqa: E402

_PRIVATE = ("a private ATen op of PyTorch ({}); deltagrad has no such name (a program reaches "
            "it only through {}, which the lists' other entries and the functional variant "
            "check under autocast)")

# "variant:list:op" -> (the first words of every difference, over both autocast dtypes and
# both checks; why it still differs)
KNOWN = {
    **{f"{variant}:torch_16:_addmm_activation": (
        "missing: deltagrad has no", _PRIVATE.format(
            "addmm fused with relu / gelu, for the CUDA matmul epilogue", "addmm and an "
            "activation")) for variant in ("module", "method")},
    "module:torch_16:_native_multi_head_attention": (
        "missing: deltagrad has no", _PRIVATE.format(
            "nn.MultiheadAttention's inference fast path", "nn.MultiheadAttention")),
}


def _sweep(check, amps=("bfloat16", "float16"), variants=A.VARIANTS):
    found = {}
    for key in A.entries():
        if key.rsplit(":", 1)[1] not in amps:
            continue
        for variant in variants:
            msg = A.run_entry(key, variant, check)
            if msg:
                name, op, amp = key.split(":")
                found[f"{variant}:{name}:{op}:{amp}"] = msg
    return found


def _judge(found, variants=A.VARIANTS):
    def entry(key):
        return key.rsplit(":", 1)[0]
    known = {k: v for k, v in KNOWN.items() if k.split(":")[0] in variants}
    new = {k: v for k, v in found.items() if entry(k) not in known}
    changed = {k: v for k, v in found.items()
               if entry(k) in known and not v.startswith(known[entry(k)][0])}
    stale = sorted(k for k in known if not any(entry(f) == k for f in found))
    assert not new, f"new differences from PyTorch: {new}"
    assert not changed, f"KNOWN entries that differ otherwise now: {changed}"
    assert not stale, f"KNOWN entries that agree now (remove them): {stale}"


def test_lists_collected():
    entries = A.entries()
    assert len(entries) >= 100  # (55 list items, each under bfloat16 and float16)
    assert all(reason for _, reason in KNOWN.values())
    names = {":".join(k.split(":")[:2]) for k in entries}
    assert {k.split(":", 1)[1] for k in KNOWN} <= names
    # the lists' own promise, which the comparison relies on: PyTorch gives the dtype its
    # test asserts (a lower-precision list: the autocast dtype; the others: float32 / bool)
    for key in entries:
        name, op, args, kwargs, amp, expect = entries[key]
        if name in ("torch_16", "torch_fp32", "torch_expect_builtin_promote",
                    "torch_need_autocast_promote") and hasattr(torch, op):
            with torch.autocast("cpu", dtype=amp):
                out = getattr(torch, op)(*args, **kwargs)
            assert (out[0] if isinstance(out, tuple) else out).dtype == expect, key


def test_autocast_lists_forward():
    _judge(_sweep("forward", ("bfloat16",)))  # (~1 s of one core; float16 too: soak)


@pytest.mark.soak
@pytest.mark.parametrize("check", A.CHECKS)
def test_autocast_lists_every_dtype(check):
    _judge(_sweep(check))
