"""Session 29, PR23: differences found by running model-library building blocks (timm /
transformers / diffusers / torchvision / torchaudio idioms) under ``import deltagrad as torch``.

Each test runs the same code on deltagrad and on PyTorch and compares the outcome.
"""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _raised(lib, fn):
    try:
        fn(lib)
    except Exception as error:  # noqa: BLE001 - the comparison is the point
        return type(error), str(error)
    return None


# PyTorch's checked fills name the C++ type: "c10::Half", "float", "double", "int" (int32),
# "int64_t"; deltagrad said "float16", "float32", "int32_t" (found by a diffusers-style
# float16 attention mask filled with a float64 0-d tensor).
_OVERFLOWS = {
    "fill_f16": lambda t: t.zeros(2, dtype=t.float16).fill_(1e5),
    "fill_bf16": lambda t: t.zeros(2, dtype=t.bfloat16).fill_(1e300),
    "fill_f32": lambda t: t.zeros(2).fill_(1e300),
    "full_f16": lambda t: t.full((2,), 1e5, dtype=t.float16),
    "masked_fill_f16_0d": lambda t: t.zeros(3, dtype=t.float16).masked_fill(
        t.tensor([True, False, True]), t.tensor(1e5, dtype=t.float64)),
    "masked_fill_f16_number": lambda t: t.zeros(2, dtype=t.float16).masked_fill_(
        t.tensor([True, False]), 1e6),
    "fill_i32": lambda t: t.zeros(2, dtype=t.int32).fill_(2 ** 40),
    "fill_i32_float": lambda t: t.zeros(2, dtype=t.int32).fill_(1e300),
    "masked_fill_i32": lambda t: t.zeros(2, dtype=t.int32).masked_fill(
        t.tensor([True, False]), t.tensor(1e300)),
    "fill_i64_float": lambda t: t.zeros(2, dtype=t.int64).fill_(1e300),
    "fill_u16": lambda t: t.zeros(2, dtype=t.uint16).fill_(1e300),
    "fill_complex_into_f32": lambda t: t.zeros(2).fill_(1 + 2j),
    "fill_complex_into_i32": lambda t: t.zeros(2, dtype=t.int32).fill_(1 + 2j),
    "fill_complex_into_bf16": lambda t: t.zeros(2, dtype=t.bfloat16).fill_(1 + 1j),
    "masked_fill_complex_into_f64": lambda t: t.zeros(2, dtype=t.float64).masked_fill(
        t.tensor([True, False]), complex(1, 1)),
    "fill_c64": lambda t: t.zeros(2, dtype=t.complex64).fill_(1e300),
    "clamp_i8": lambda t: t.zeros(2, dtype=t.int8).clamp(min=1000),
    "clamp_f32": lambda t: t.zeros(2).clamp(min=1e300),
    "tensor_i32_parser": lambda t: t.tensor([2 ** 40], dtype=t.int32),
}


@pytest.mark.parametrize("case", sorted(_OVERFLOWS))
def test_overflow_message_names_pytorchs_type(case):
    ref = _raised(torch, _OVERFLOWS[case])
    got = _raised(dg, _OVERFLOWS[case])
    assert ref is not None and got is not None
    assert issubclass(got[0], ref[0])
    assert got[1].startswith(ref[1]), (got[1], ref[1])
