"""Session 8 (L2): ``torch.nn.attention``'s ``SDPBackend`` and ``sdpa_kernel`` (x-transformers'
``attn_flash=True``), compared with PyTorch's CPU behaviour, and ``torch._dynamo``'s no-ops."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.nn import attention as torch_attention  # noqa: E402

import deltagrad as dg  # noqa: E402
import deltagrad._dynamo  # noqa: E402, F401
from deltagrad.nn import attention as dg_attention  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_backend_enum_matches_pytorch():
    for name, member in torch_attention.SDPBackend.__members__.items():
        ours = getattr(dg_attention.SDPBackend, name)
        assert (int(ours), ours.name, str(ours), repr(ours)) == (
            int(member), member.name, str(member), repr(member))
    assert [b.name for b in dg_attention.SDPBackend] == list(
        torch_attention.SDPBackend.__members__)


def _q(m, shape, dtype="float32"):
    rng = np.random.default_rng(sum(shape))
    return m.tensor(rng.standard_normal(shape).astype(dtype))


# (name, call) run under each backend choice below; the query/key/value come from _q.
CALLS = {
    "4d": lambda m, F: F.scaled_dot_product_attention(*(_q(m, (1, 2, 4, 8)),) * 3),
    "3d": lambda m, F: F.scaled_dot_product_attention(*(_q(m, (2, 4, 8)),) * 3),
    "float64": lambda m, F: F.scaled_dot_product_attention(*(_q(m, (1, 2, 3, 4), "float64"),) * 3),
    "causal": lambda m, F: F.scaled_dot_product_attention(*(_q(m, (1, 2, 4, 8)),) * 3,
                                                           is_causal=True),
    "bool mask": lambda m, F: F.scaled_dot_product_attention(
        *(_q(m, (1, 2, 4, 8)),) * 3, attn_mask=m.ones(4, 4, dtype=m.bool).tril()),
    "dropout": lambda m, F: F.scaled_dot_product_attention(*(_q(m, (1, 2, 4, 8)),) * 3,
                                                            dropout_p=0.5).shape,
    "value head size": lambda m, F: F.scaled_dot_product_attention(
        _q(m, (1, 2, 4, 8)), _q(m, (1, 2, 4, 8)), _q(m, (1, 2, 4, 6))),
    "gqa": lambda m, F: F.scaled_dot_product_attention(
        _q(m, (1, 4, 4, 8)), _q(m, (1, 2, 4, 8)), _q(m, (1, 2, 4, 8)), enable_gqa=True),
}
BACKENDS = {
    "flash": lambda B: B.FLASH_ATTENTION, "[flash]": lambda B: [B.FLASH_ATTENTION],
    "[math]": lambda B: [B.MATH], "[efficient]": lambda B: [B.EFFICIENT_ATTENTION],
    "[cudnn, overrideable]": lambda B: [B.CUDNN_ATTENTION, B.OVERRIDEABLE],
    "[]": lambda B: [], "[flash, math]": lambda B: [B.FLASH_ATTENTION, B.MATH],
    "[error]": lambda B: [B.ERROR], "(math,)": lambda B: (B.MATH,), "'math'": lambda B: "math",
}


def _outcome(m, attention, F, backends, call):
    try:
        with attention.sdpa_kernel(backends(attention.SDPBackend)):
            result = call(m, F)
    except Exception as error:  # noqa: BLE001 - the exception type is what is compared
        return type(error).__name__
    if isinstance(result, m.Tensor):
        return str(result.dtype).split(".")[-1], result.numpy()
    return tuple(result)


@pytest.mark.parametrize("backends", list(BACKENDS))
@pytest.mark.parametrize("call", list(CALLS))
def test_sdpa_kernel_matches_pytorch_on_cpu(call, backends):
    expected = _outcome(torch, torch_attention, torch.nn.functional, BACKENDS[backends],
                        CALLS[call])
    got = _outcome(dg, dg_attention, dg.nn.functional, BACKENDS[backends], CALLS[call])
    if isinstance(expected, tuple) and isinstance(expected[-1], np.ndarray):
        assert isinstance(got, tuple) and got[0] == expected[0]
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)
    else:
        assert got == expected


def test_sdpa_kernel_restores_and_decorates():
    B = dg_attention.SDPBackend
    q = _q(dg, (2, 4, 8))

    @dg_attention.sdpa_kernel([B.FLASH_ATTENTION])
    def flash_only():
        return dg.nn.functional.scaled_dot_product_attention(q, q, q)

    with pytest.raises(RuntimeError):
        flash_only()  # 3-d: no flash kernel on CPU
    dg.nn.functional.scaled_dot_product_attention(q, q, q)  # restored after the decorated call
    with pytest.raises(RuntimeError):
        with dg_attention.sdpa_kernel(B.EFFICIENT_ATTENTION):
            with dg_attention.sdpa_kernel(B.MATH):
                dg.nn.functional.scaled_dot_product_attention(q, q, q)  # math: fine
            dg.nn.functional.scaled_dot_product_attention(q, q, q)  # efficient only again
    assert dg.nn.functional.scaled_dot_product_attention(q, q, q).shape == (2, 4, 8)


def test_dynamo_no_ops_match_pytorch_eager():
    import torch._dynamo  # noqa: F401

    for m in (torch, dg):
        dynamo = m._dynamo
        assert dynamo.is_compiling() is False and m.compiler.is_compiling() is False
        assert dynamo.reset() is None
        assert dynamo.disable(len)([1, 2]) == 2 and dynamo.allow_in_graph(len) is len
        assert dynamo.config.verbose is False and dynamo.config.suppress_errors is False
        dynamo.config.suppress_errors = True
        assert dynamo.config.suppress_errors is True
        with dynamo.config.patch(suppress_errors=False):
            assert dynamo.config.suppress_errors is False
        assert dynamo.config.suppress_errors is True
        dynamo.config.suppress_errors = False
        with pytest.raises(AttributeError):
            dynamo.config.no_such_setting = 1
        with pytest.raises(AttributeError):
            dynamo.config.no_such_setting  # noqa: B018
        assert dynamo.config.cache_size_limit == 8
