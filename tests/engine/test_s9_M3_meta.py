"""Meta tensors against PyTorch's (session 9, M3): results made from scratch stay meta, `*_like`
and `new_*` checks, 0-d meta tensors read as numbers, and calls PyTorch's meta device refuses."""

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(m, call):
    """The dtypes, shapes and devices of the results, or the class of the error."""
    try:
        result = call(m)
    except Exception as error:  # noqa: BLE001 - the class is compared
        return type(error)
    results = result if isinstance(result, tuple) else (result,)
    return [(str(r.dtype).split(".")[-1], tuple(r.shape), r.is_meta) for r in results]


def _meta(m, *shape, dtype="float32"):
    return m.ones(shape, dtype=getattr(m, dtype)).to("meta")


CASES = [
    lambda m: m.max(m.tensor(True).to("meta"), dim=-1),
    lambda m: m.cummax(m.tensor(True).to("meta"), 0),
    lambda m: m.argmin(m.tensor(3, dtype=m.int32).to("meta"), -1, keepdim=True),
    lambda m: m.trapezoid(_meta(m, 0)),
    lambda m: m.vander(_meta(m, 0, dtype="int8")),
    lambda m: m.std_mean(_meta(m, 0)),
    lambda m: m.linalg.pinv(_meta(m, 2, 1, 3)),
    lambda m: m.ones_like(_meta(m, 2, 3), 2),
    lambda m: m.full_like(_meta(m, 2, 3)),
    lambda m: m.full_like(_meta(m, 2, 3), 2.5, dtype=m.int64),
    lambda m: m.zeros_like(m.ones(2, 2), device="meta"),
    lambda m: _meta(m, 2, 3, dtype="bool").new_ones(2),
    lambda m: _meta(m, 2, 3, dtype="int8").new_zeros((2, 3), dtype=m.float64),
    lambda m: _meta(m, 2, dtype="int8").new_full((2,), 3),
    lambda m: _meta(m, 2, dtype="uint8").new_tensor([1, 2]),
    lambda m: _meta(m, 2).new_ones(-1),
    lambda m: m.all(_meta(m, dtype="uint8"), _meta(m, dtype="uint8")),
    lambda m: m.topk(_meta(m, 3), _meta(m, dtype="int64")),
    lambda m: m.diag(_meta(m, 2, 3), _meta(m, dtype="int32")),
    lambda m: m.index_select(_meta(m, 2, 3), 0, m.tensor(0).to("meta")),
    lambda m: m.equal(_meta(m, 2), _meta(m, 3)),
    lambda m: _meta(m, 2).is_set_to(_meta(m, 2)),
    lambda m: m.cov(_meta(m, 2, 3)),
    lambda m: _meta(m, 3).corrcoef(),
    lambda m: _meta(m, 2, 3).to_sparse(),
    lambda m: _meta(m, 2, 3).to_sparse_csr(),
    lambda m: m.combinations(_meta(m, 3)),
    lambda m: m.equal(_meta(m, 2), 2),  # (the argument's TypeError first)
    lambda m: m.block_diag(_meta(m, 2, 3, dtype="uint8"), _meta(m, dtype="int8")),
    lambda m: m.nn.functional.one_hot(_meta(m, 3, dtype="int64")),
    lambda m: m.nn.functional.one_hot(_meta(m, 3, dtype="int64"), 4),
    lambda m: m.pinverse(_meta(m, 2, 3), _meta(m)),
    lambda m: _meta(m, 2, 3)[_meta(m, 2, 3, dtype="int8")],
    lambda m: _meta(m, 2, 3).t().view(6),
    lambda m: m.kron(m.ones(2, 3).t().to("meta"), _meta(m, 2, 3)),
]

# Strides of views, elementwise results and copies of meta tensors (a transposed input on the
# CPU moved to meta keeps its layout, as PyTorch's `to`).
LAYOUTS = [
    lambda m, x, t: x.t(),
    lambda m, x, t: t,
    lambda m, x, t: t.contiguous(),
    lambda m, x, t: x[:, 1],
    lambda m, x, t: x[:, ::2],
    lambda m, x, t: x.permute(1, 0),
    lambda m, x, t: x.expand(4, 2, 3),
    lambda m, x, t: x[:1].expand(5, 3),
    lambda m, x, t: x.unsqueeze(1),
    lambda m, x, t: t + 1,
    lambda m, x, t: m.exp(t),
    lambda m, x, t: t.double(),
    lambda m, x, t: x.t().reshape(6),
    lambda m, x, t: x.diagonal(),
]


@pytest.mark.parametrize("case", range(len(LAYOUTS)))
def test_meta_strides_like_pytorch(case):
    got = []
    for m in (torch, dg):
        out = LAYOUTS[case](m, m.ones(2, 3).to("meta"), m.ones(2, 3).t().to("meta"))
        got.append((tuple(out.shape), out.stride(), out.is_contiguous(), out.is_meta))
    assert got[0] == got[1]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_meta_like_pytorch(case):
    theirs, ours = _outcome(torch, CASES[case]), _outcome(dg, CASES[case])
    if isinstance(theirs, type):
        assert isinstance(ours, type) and issubclass(ours, theirs), (theirs, ours)
    else:
        assert ours == theirs


def test_cpu_calls_unchanged():
    assert dg.equal(dg.ones(2), dg.ones(2))
    values, indices = dg.max(dg.tensor([1.0, 3.0]), dim=0)
    assert not values.is_meta and indices.item() == 1
