"""bfloat16 promotion against PyTorch: 0-d tensors and Python numbers only raise the category
(session 9, helper B3)."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")

VALUES = [[-1.25, 0.5, 2.0], [3.5, -0.75, 1.5]]


def _both(fn):
    """fn(lib) in deltagrad and PyTorch: same dtype name and values (as float32)."""
    ours, theirs = fn(dg), fn(torch)
    if isinstance(theirs, torch.dtype):
        assert str(ours).split(".")[-1] == str(theirs).split(".")[-1]
        return
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    rtol = 0 if theirs.dtype == torch.bfloat16 else 1e-6  # (float32: libm's last bit)
    np.testing.assert_allclose(ours.detach().float().numpy(), theirs.detach().float().numpy(),
                               rtol=rtol, atol=0)


def _x(lib):
    return lib.tensor(VALUES).to(lib.bfloat16)


def _z(lib):
    return lib.tensor(1.5).to(lib.bfloat16)


CASES = {
    "fmod_0d_float32": lambda m: m.fmod(_x(m), m.tensor(2.5)),
    "fmod_0d_float64": lambda m: m.fmod(_x(m), m.tensor(2.5, dtype=m.float64)),
    "remainder_number": lambda m: m.remainder(_x(m), -0.5),
    "fmod_bf16_0d_number": lambda m: m.fmod(_z(m), 2.5),
    "fmod_bf16_0d_float32_0d": lambda m: m.fmod(_z(m), m.tensor(2.5)),
    "add_bf16_0d_number": lambda m: m.add(_z(m), 0.1),
    "atan2_bf16_0d_float32_dims": lambda m: m.atan2(_z(m), m.tensor(VALUES)),
    "maximum_float16_0d": lambda m: m.maximum(_x(m), m.tensor(1.0, dtype=m.float16)),
    "xlogy_number_dtype": lambda m: m.xlogy(_x(m), 2.5).dtype,
    "ldexp_bf16": lambda m: m.ldexp(_x(m), _x(m)),
    "ldexp_int": lambda m: m.ldexp(_x(m), m.tensor([3, 1, -2])),
    "result_type_number": lambda m: m.result_type(_x(m), 2.5),
    "result_type_uint8_bf16_0d": lambda m: m.result_type(m.tensor([1, 2], dtype=m.uint8),
                                                          _z(m)),
    "result_type_complex": lambda m: m.result_type(_x(m), 1j),
    "add_out_bf16": lambda m: m.add(_x(m), _x(m), out=m.empty(2, 3, dtype=m.bfloat16)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bf16_promotion_matches_torch(name):
    _both(CASES[name])


def test_out_of_category_message_names_bfloat16():
    with pytest.raises(RuntimeError, match="BFloat16"):
        dg.add(_x(dg), _x(dg), out=dg.empty(2, 3, dtype=dg.int64))
    with pytest.raises(RuntimeError):
        torch.add(_x(torch), _x(torch), out=torch.empty(2, 3, dtype=torch.int64))


def test_copy_and_fill_into_integers_wrap_as_torch():
    def run(m):
        u = m.zeros(3, dtype=m.uint8)
        u.copy_(m.tensor([-1.0, -2.0, 3.0]).to(m.bfloat16))
        v = m.zeros(2, dtype=m.int8)
        v.fill_(m.tensor(-3.0).to(m.bfloat16))
        return m.cat([u.long(), v.long()])

    _both(run)


BF16_FUNCTIONS = {
    "hardshrink": lambda m: m.nn.functional.hardshrink(_x(m), 0.6),
    "huber_loss": lambda m: m.nn.functional.huber_loss(_x(m), _x(m) * 0.5),
    "max_pool1d": lambda m: m.nn.functional.max_pool1d(_x(m).unsqueeze(0), 2),
    "prelu": lambda m: m.nn.functional.prelu(_x(m), m.tensor([0.25]).to(m.bfloat16)),
    "new_tensor": lambda m: _x(m).new_tensor(_x(m).tolist()),
    "new_tensor_of_tensor": lambda m: m.zeros(1, dtype=m.uint8).new_tensor(_x(m).detach()),
    "hinge_0d": lambda m: m.nn.functional.hinge_embedding_loss(_z(m), m.tensor([1.0, -1.0])),
    "mvlgamma": lambda m: m.mvlgamma(_x(m).abs() + 1, 2),
    "ldexp_float32_bf16": lambda m: m.ldexp(m.tensor(VALUES), _x(m)),
    "log_softmax_last": lambda m: m.log_softmax(_x(m) * 3, -1),
    "log_softmax_first": lambda m: m.log_softmax(_x(m) * 3, 0),
}


@pytest.mark.parametrize("name", sorted(BF16_FUNCTIONS))
def test_bf16_functions_match_torch(name):
    _both(BF16_FUNCTIONS[name])


@pytest.mark.parametrize("n", [7, 45, 300])
@pytest.mark.parametrize("name", ["add", "sub"])
def test_add_alpha_rounds_as_torch(name, n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    grads = []
    for m in (dg, torch):
        x = m.tensor(a).to(m.bfloat16).requires_grad_()
        y = m.tensor(b).to(m.bfloat16).requires_grad_()
        z = getattr(m, name)(x, y, alpha=-0.0123)
        z.sum().backward()
        grads.append((z.detach().float().numpy(), y.grad.float().numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_bf16_forward_and_grad(mode):
    results = []
    for m in (dg, torch):
        w = m.tensor([[1.0, -2.0, 3.0], [0.2, -0.3, 4.0], [0.7, 0.1, -1.1]]).to(m.bfloat16)
        w.requires_grad_()
        out = m.nn.functional.embedding_bag(m.tensor([[0, 1, 2], [0, 2, 2]]), w, mode=mode)
        (out * m.tensor([1.5, 0.3, 2.0]).to(m.bfloat16)).sum().backward()
        results.append((str(out.dtype)[-8:], out.detach().float().numpy(), w.grad.float().numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][2], results[1][2])


@pytest.mark.parametrize("target", ["float32", "float16", "bfloat16", "float64"])
def test_cross_entropy_bf16_logits_probability_target(target):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 5)).astype(np.float32)
    probabilities = rng.random((4, 5)).astype(np.float32)
    probabilities /= probabilities.sum(1, keepdims=True)
    _both(lambda m: m.nn.functional.cross_entropy(
        m.tensor(logits).to(m.bfloat16), m.tensor(probabilities).to(getattr(m, target))))
