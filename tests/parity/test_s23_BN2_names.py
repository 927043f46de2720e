"""Session 23 BN2: PyTorch's public names that were missing, against PyTorch 2.13 itself:
the ATen entries under nn (torch.convolution, grid_sampler*, native_group_norm,
native_channel_shuffle, conv_tbc), the batch_norm_* kernels, the autocast setters and
torch.jit.fork / wait / freeze / optimize_for_inference / script_method."""

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(shape, seed, dtype="float64", grad=True):
    """The same random values as a deltagrad and a PyTorch tensor."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return (dg.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def _same(ours, theirs, atol=1e-10):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=atol,
                               rtol=1e-7)


def _grads_same(ours, theirs, out_ours, out_theirs, seed=99):
    g = np.random.default_rng(seed).standard_normal(tuple(out_theirs.shape))
    out_ours.backward(dg.tensor(g))
    out_theirs.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        if b.grad is None:
            assert a.grad is None
        else:
            _same(a.grad, b.grad)


CONVOLUTIONS = [  # (input shape, weight shape, stride, padding, dilation, transposed, out_pad, g)
    ((2, 4, 7), (6, 2, 3), [2], [1], [1], False, [0], 2),
    ((1, 3, 6, 5), (4, 3, 3, 2), [1, 2], [1, 0], [2, 1], False, [0, 0], 1),
    ((1, 2, 4, 3, 3), (2, 2, 2, 2, 2), [1, 1, 1], [0, 1, 0], [1, 1, 1], False, [0, 0, 0], 1),
    ((2, 4, 5), (4, 3, 3), [2], [1], [1], True, [1], 2),
    ((1, 2, 3, 4), (2, 3, 2, 3), [2, 1], [0, 1], [1, 2], True, [1, 0], 1),
]


@pytest.mark.parametrize("case", CONVOLUTIONS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_convolution_matches_pytorch(case, with_bias):
    shape, wshape, stride, padding, dilation, transposed, out_pad, groups = case
    x, tx = _pair(shape, 1)
    w, tw = _pair(wshape, 2)
    channels = wshape[1] * groups if transposed else wshape[0]
    b, tb = _pair((channels,), 3) if with_bias else (None, None)
    out = dg.convolution(x, w, b, stride, padding, dilation, transposed, out_pad, groups)
    ref = torch.convolution(tx, tw, tb, stride, padding, dilation, transposed, out_pad, groups)
    _same(out, ref)
    _grads_same([x, w] + ([b] if with_bias else []), [tx, tw] + ([tb] if with_bias else []),
                out, ref)


def test_convolution_bad_weight_rank():
    x = dg.zeros(1, 1, 3)
    with pytest.raises(RuntimeError):
        dg.convolution(x, dg.zeros(3), None, [1], [0], [1], False, [0], 1)


def test_conv_tbc_matches_pytorch():
    x, tx = _pair((6, 2, 3), 4)
    w, tw = _pair((3, 3, 4), 5)
    b, tb = _pair((4,), 6)
    for pad in (0, 1, 2):
        out, ref = dg.conv_tbc(x, w, b, pad), torch.conv_tbc(tx, tw, tb, pad)
        _same(out, ref)
    out = dg.nn.functional.conv_tbc(x, w, b, 1)
    ref = torch.nn.functional.conv_tbc(tx, tw, tb, 1)
    _grads_same([x, w, b], [tx, tw, tb], out, ref)
    for bad in ((x[0], w, b), (x, w[0], b), (x, w, b[None]), (x, w[:, :2], b)):
        with pytest.raises(RuntimeError):
            torch.conv_tbc(*[torch.tensor(t.detach().numpy()) for t in bad])
        with pytest.raises(RuntimeError):
            dg.conv_tbc(*bad)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sampler_2d_matches_pytorch(mode, padding, align):
    x, tx = _pair((2, 3, 5, 4), 7)
    a = np.random.default_rng(8).uniform(-1.2, 1.2, (2, 3, 2, 2))
    grid, tgrid = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for ours, theirs in ((dg.grid_sampler, torch.grid_sampler),
                         (dg.grid_sampler_2d, torch.grid_sampler_2d)):
        out = ours(x, grid, mode, padding, align)
        ref = theirs(tx, tgrid, mode, padding, align)
        if isinstance(ref, tuple):
            ref = ref[0]
        _same(out, ref)
    _grads_same([x, grid], [tx, tgrid], out, ref)


def test_grid_sampler_3d_matches_pytorch():
    x, tx = _pair((1, 2, 3, 4, 3), 9)
    a = np.random.default_rng(10).uniform(-1, 1, (1, 2, 2, 2, 3))
    grid, tgrid = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for mode in (0, 1):
        out = dg.grid_sampler_3d(x, grid, mode, 1, False)
        ref = torch.grid_sampler_3d(tx, tgrid, mode, 1, False)
        _same(out, ref)
    _grads_same([x, grid], [tx, tgrid], out, ref)
    with pytest.raises(RuntimeError):
        torch.grid_sampler_3d(tx[0], tgrid, 0, 0, False)
    with pytest.raises(RuntimeError):
        dg.grid_sampler_3d(x[0], grid, 0, 0, False)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_group_norm_matches_pytorch(affine, dtype):
    x, tx = _pair((2, 6, 3, 2), 11, dtype)
    w, tw = _pair((6,), 12, dtype) if affine else (None, None)
    b, tb = _pair((6,), 13, dtype) if affine else (None, None)
    outs = dg.native_group_norm(x, w, b, 2, 6, 6, 3, 1e-5)
    refs = torch.native_group_norm(tx, tw, tb, 2, 6, 6, 3, 1e-5)
    atol = 1e-5 if dtype == "float32" else 1e-10
    for out, ref in zip(outs, refs):
        _same(out, ref, atol)
    if dtype == "float64":
        _grads_same([x] + ([w, b] if affine else []), [tx] + ([tw, tb] if affine else []),
                    outs[0], refs[0])
    for bad in ((2, 6, 6, 4), (2, 6, 5, 3)):  # channels not divisible; wrong element count
        with pytest.raises(RuntimeError):
            torch.native_group_norm(tx, tw, tb, *bad, 1e-5)
        with pytest.raises(RuntimeError):
            dg.native_group_norm(x, w, b, *bad, 1e-5)


def test_native_channel_shuffle_matches_pytorch():
    x, tx = _pair((2, 6, 3), 14, grad=False)
    for groups in (1, 2, 3, 6):
        _same(dg.native_channel_shuffle(x, groups), torch.native_channel_shuffle(tx, groups))
        _same(dg.nn.functional.native_channel_shuffle(x, groups),
              torch.nn.functional.native_channel_shuffle(tx, groups))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
def test_batch_norm_update_stats_matches_pytorch(dtype, shape):
    x, tx = _pair(shape, 15, dtype, grad=False)
    start = np.random.default_rng(16).uniform(0.5, 1.5, (2, 3)).astype(dtype)
    rm, rv = dg.tensor(start[0]), dg.tensor(start[1])
    trm, trv = torch.tensor(start[0]), torch.tensor(start[1])
    mean, var = dg.batch_norm_update_stats(x, rm, rv, 0.1)
    tmean, tvar = torch.batch_norm_update_stats(tx, trm, trv, 0.1)
    atol = 1e-6 if dtype == "float32" else 1e-12
    for ours, theirs in ((mean, tmean), (var, tvar), (rm, trm), (rv, trv)):
        _same(ours, theirs, atol)
    mean, var = dg.batch_norm_update_stats(x, None, None, 0.3)  # no running statistics
    tmean, tvar = torch.batch_norm_update_stats(tx, None, None, 0.3)
    _same(mean, tmean, atol)
    _same(var, tvar, atol)


@pytest.mark.parametrize("name, args", [
    ("batch_norm_stats", lambda m, x: (x, 1e-5)),
    ("batch_norm_elemt", lambda m, x: (x, None, None, m.zeros(3), m.ones(3), 1e-5)),
    ("batch_norm_gather_stats",
     lambda m, x: (x, m.zeros(2, 3), m.ones(2, 3), None, None, 0.1, 1e-5, 4)),
    ("batch_norm_gather_stats_with_counts",
     lambda m, x: (x, m.zeros(2, 3), m.ones(2, 3), None, None, 0.1, 1e-5, m.ones(2))),
    ("batch_norm_backward_reduce",
     lambda m, x: (x, x, m.zeros(3), m.ones(3), None, True, False, False)),
    ("batch_norm_backward_elemt",
     lambda m, x: (x, x, m.zeros(3), m.ones(3), None, m.zeros(3), m.zeros(3),
                   m.ones(1, dtype=m.int32))),
])
def test_cuda_only_batch_norm_kernels_refuse_cpu_tensors(name, args):
    # PyTorch's CPU build has no kernel for these (SyncBatchNorm runs them on CUDA only).
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(*args(torch, torch.zeros(4, 3)))
    with pytest.raises(NotImplementedError, match=name):
        getattr(dg, name)(*args(dg, dg.zeros(4, 3)))


@pytest.fixture
def autocast_state():
    saved = [(m.get_autocast_dtype("cpu"), m.is_autocast_cache_enabled()) for m in (dg, torch)]
    yield
    for m, (dtype, cache) in zip((dg, torch), saved):
        m.set_autocast_dtype("cpu", dtype)
        m.set_autocast_cache_enabled(cache)


def test_autocast_setters_match_pytorch(autocast_state):
    for m in (dg, torch):
        counts = [m.autocast_increment_nesting(), m.autocast_increment_nesting(),
                  m.autocast_decrement_nesting(), m.autocast_decrement_nesting()]
        assert counts == [1, 2, 1, 0]
        m.set_autocast_dtype("cpu", m.float16)
        assert m.get_autocast_dtype("cpu") == m.float16
        m.set_autocast_dtype("cpu", m.bfloat16)
        assert m.get_autocast_dtype("cpu") == m.bfloat16
        m.set_autocast_cache_enabled(False)
        assert m.is_autocast_cache_enabled() is False
        m.set_autocast_cache_enabled(True)
        assert m.is_autocast_cache_enabled() is True
        with pytest.raises(TypeError):
            m.set_autocast_dtype("cpu", 3)
        with pytest.raises(TypeError):
            m.set_autocast_cache_enabled(1)
        with pytest.warns(DeprecationWarning):
            m.set_autocast_cpu_dtype(m.float16)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert m.get_autocast_cpu_dtype() == m.float16
        with pytest.warns(DeprecationWarning):
            m.set_autocast_cpu_enabled(False)
        assert m.is_autocast_enabled("cpu") is False


def test_autocast_dtype_set_inside_autocast_is_used_and_restored(autocast_state):
    a, b = dg.ones(2, 2), dg.ones(2, 2)
    ta, tb = torch.ones(2, 2), torch.ones(2, 2)
    with dg.autocast("cpu"), torch.autocast("cpu"):
        assert (a @ b).dtype == dg.bfloat16 and (ta @ tb).dtype == torch.bfloat16
        dg.set_autocast_enabled("cpu", False)
        torch.set_autocast_enabled("cpu", False)
        assert (a @ b).dtype == dg.float32 and (ta @ tb).dtype == torch.float32
    assert dg.get_autocast_dtype("cpu") == dg.bfloat16


def _square(x, k=2):
    return x ** k


def test_jit_fork_wait_run_eagerly():
    x, tx = dg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    with pytest.warns(DeprecationWarning, match="fork"):
        fut, tfut = dg.jit.fork(_square, x, k=3), torch.jit.fork(_square, tx, k=3)
    assert fut.done() and tfut.done()
    with pytest.warns(DeprecationWarning, match="wait"):
        _same(dg.jit.wait(fut), torch.jit.wait(tfut))
    assert isinstance(fut, dg.futures.Future)


def test_jit_freeze_optimize_for_inference_script_method():
    model = dg.nn.Linear(2, 2)
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError, match="eval mode"):
        dg.jit.freeze(dg.jit.script(model))
    with pytest.warns(DeprecationWarning):
        frozen = dg.jit.freeze(dg.jit.script(model).eval())
    assert frozen is model
    model.train()
    with pytest.warns(DeprecationWarning):
        optimized = dg.jit.optimize_for_inference(model)
    assert optimized is model and not model.training
    # PyTorch's: freezing a scripted module in training mode is refused the same way
    tmodel = torch.jit.script(torch.nn.Linear(2, 2))
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError, match="eval mode"):
        torch.jit.freeze(tmodel)

    def method(self, x):
        return x

    assert dg.jit.script_method(method) is method


def test_invert_permutation_matches_pytorch():
    order = np.random.default_rng(17).permutation(7)
    ours = dg.nn.utils.rnn.invert_permutation(dg.tensor(order))
    theirs = torch.nn.utils.rnn.invert_permutation(torch.tensor(order))
    assert ours.tolist() == theirs.tolist() and ours.dtype == dg.int64
    assert dg.nn.utils.rnn.invert_permutation(None) is None
    for m in (dg, torch):
        with pytest.raises(RuntimeError):
            m.nn.utils.rnn.invert_permutation(m.tensor([0.0, 1.0]))
        with pytest.raises(IndexError):
            m.nn.utils.rnn.invert_permutation(m.tensor([[0, 1]]))


def test_assert_allclose_matches_pytorch():
    for m in (dg, torch):
        with pytest.warns(FutureWarning, match="assert_allclose"):
            m.testing.assert_allclose(m.tensor([1.0, 2.0]), [1.0, 2.00001])  # float32 1e-4
        with pytest.warns(FutureWarning), pytest.raises(AssertionError):
            m.testing.assert_allclose(m.tensor([1.0, 2.0]), [1.0, 2.001])
        with pytest.warns(FutureWarning):  # NaNs equal by default, dtypes not compared
            m.testing.assert_allclose(m.tensor([float("nan"), 1.0]),
                                      m.tensor([float("nan"), 1.0], dtype=m.float64))
        with pytest.warns(FutureWarning), pytest.raises(AssertionError):
            m.testing.assert_allclose(m.tensor([1, 2]), m.tensor([1, 3]))
        with pytest.warns(FutureWarning):  # explicit tolerances
            m.testing.assert_allclose(m.tensor([1.0]), m.tensor([1.5]), rtol=0.0, atol=0.6)


@pytest.mark.parametrize("rank", [2, 3])
def test_convert_conv_weight_memory_format_matches_pytorch(rank):
    def build(m):
        m.manual_seed(0)
        conv = (m.nn.Conv2d, m.nn.Conv3d)[rank - 2]
        transposed = (m.nn.ConvTranspose2d, m.nn.ConvTranspose3d)[rank - 2]
        return m.nn.Sequential(conv(3, 4, 2), m.nn.Sequential(transposed(4, 2, 2)),
                               m.nn.Linear(2, 2))

    fmt = ("channels_last", "channels_last_3d")[rank - 2]
    convert = f"convert_conv{rank}d_weight_memory_format"
    ours, theirs = build(dg), build(torch)
    weight = ours[0].weight
    assert getattr(dg.nn.utils, convert)(ours, getattr(dg, fmt)) is ours
    getattr(torch.nn.utils, convert)(theirs, getattr(torch, fmt))
    assert ours[0].weight is weight  # the same Parameter, its data re-laid
    for a, b in ((ours[0].weight, theirs[0].weight), (ours[1][0].weight, theirs[1][0].weight),
                 (ours[2].weight, theirs[2].weight)):
        assert a.stride() == b.stride()
        _same(a, b, 1e-7)


def _coo_same(ours, theirs):
    assert ours.layout == getattr(dg, str(theirs.layout).split(".")[-1])
    assert tuple(ours.shape) == tuple(theirs.shape)
    if theirs.layout == torch.sparse_csr:
        for a, b in ((ours.crow_indices(), theirs.crow_indices()),
                     (ours.col_indices(), theirs.col_indices())):
            assert a.tolist() == b.tolist()
    else:
        assert ours._indices().tolist() == theirs._indices().tolist()
    _same(ours._values() if ours.layout == dg.sparse_coo else ours.values(),
          theirs._values() if theirs.layout == torch.sparse_coo else theirs.values())


@pytest.mark.parametrize("offsets, shape", [([0, -1, 2], (4, 5)), ([0, -1, 2], (3, 3)),
                                            ([3, -3, 0], (6, 6))])
def test_spdiags_matches_pytorch(offsets, shape):
    d, td = _pair((3, 4), 18, grad=False)
    off, toff = dg.tensor(offsets), torch.tensor(offsets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (PyTorch's CSR beta warning)
        _coo_same(dg.sparse.spdiags(d, off, shape), torch.sparse.spdiags(td, toff, shape))
        _coo_same(dg.sparse.spdiags(d, off, shape, layout=dg.sparse_csr),
                  torch.sparse.spdiags(td, toff, shape, layout=torch.sparse_csr))
    one = dg.sparse.spdiags(d[0], dg.tensor([1]), (4, 4))  # a single diagonal, 1-d
    _coo_same(one, torch.sparse.spdiags(td[0], torch.tensor([1]), (4, 4)))
    assert not dg.sparse.spdiags(d, off, shape).is_coalesced()


@pytest.mark.parametrize("args", [
    lambda m, d: (d, m.tensor([0, 0, 1]), (3, 3)),  # duplicate offsets
    lambda m, d: (d, m.tensor([0, 1]), (3, 3)),  # one diagonal too many
    lambda m, d: (d, m.tensor([[0, 1, 2]]), (3, 3)),  # offsets 2-d
    lambda m, d: (d, m.tensor([0.0, 1.0, 2.0]), (3, 3)),  # offsets not int64
    lambda m, d: (d, m.tensor([0, 1, 2]), (3, 3, 3)),  # shape not 2-d
    lambda m, d: (d, m.tensor([0, 1, 2]), (3, 3), m.strided),  # a dense layout
    lambda m, d: (d, m.tensor([0, 1, 9]), (3, 3)),  # a diagonal past the matrix
])
def test_spdiags_errors_match_pytorch(args):
    for m in (dg, torch):
        with pytest.raises(RuntimeError):
            m.sparse.spdiags(*args(m, m.ones(3, 4)))


@pytest.mark.parametrize("offsets, shape", [([1, 0, -2], (5, 3)), ([1, 0, -1], (2, 6))])
def test_spdiags_inside_the_matrix_where_pytorch_overruns(offsets, shape):
    # PyTorch 2.13 builds indices past these shapes (row 2 of a 2-row matrix): an invalid
    # tensor. deltagrad keeps SciPy's definition, out[j - offset, j] = diagonals[k, j]
    # inside the matrix, checked against a dense construction of it.
    d = np.arange(1.0, 13.0).reshape(3, 4)
    dense = np.zeros(shape)
    for k, off in enumerate(offsets):
        for j in range(d.shape[1]):
            if 0 <= j - off < shape[0] and j < shape[1]:
                dense[j - off, j] = d[k, j]
    out = dg.sparse.spdiags(dg.tensor(d), dg.tensor(offsets), shape)
    np.testing.assert_array_equal(out.to_dense().numpy(), dense)



SMALL_DTYPES = ["float8_e4m3fnuz", "float8_e5m2fnuz", *[f"{s}int{b}" for s in ("u", "")
                                                        for b in range(1, 8)]]


@pytest.mark.parametrize("name", SMALL_DTYPES)
def test_fnuz_and_sub_byte_dtypes_as_pytorch(name):
    ours, theirs = getattr(dg, name), getattr(torch, name)
    for attr in ("itemsize", "is_floating_point", "is_signed", "is_complex"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert repr(ours).split(".")[-1] == repr(theirs).split(".")[-1] == name
    assert ours == getattr(dg, name) and ours != dg.uint8
    if theirs.is_floating_point:
        a, b = dg.finfo(ours), torch.finfo(theirs)
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(a, attr) == getattr(b, attr), attr
    with pytest.raises(TypeError, match=name):  # no NumPy array holds one
        dg.zeros(2, dtype=ours)


def _symmetric(shape, seed, small_diagonal: bool, dtype="float64"):
    a = np.random.default_rng(seed).standard_normal(shape)
    a = a + np.swapaxes(a, -1, -2)
    if small_diagonal:  # (Bunch-Kaufman then takes 2x2 blocks: negative pivots)
        n = shape[-1]
        a[..., np.arange(n), np.arange(n)] *= 0.01
    return a.astype(dtype)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 17])
@pytest.mark.parametrize("small_diagonal", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ldl_factor_and_solve_match_pytorch(n, small_diagonal, dtype):
    a = _symmetric((3, n, n), n, small_diagonal, dtype)
    b = np.random.default_rng(n + 1).standard_normal((3, n, 2)).astype(dtype)
    LD, piv = dg.linalg.ldl_factor(dg.tensor(a))
    tLD, tpiv = torch.linalg.ldl_factor(torch.tensor(a))
    assert piv.dtype == dg.int32 and piv.tolist() == tpiv.tolist()
    atol = 1e-4 if dtype == "float32" else 1e-12
    _same(LD, tLD, atol)
    LDx, pivx, info = dg.linalg.ldl_factor_ex(dg.tensor(a))
    assert info.dtype == dg.int32 and info.tolist() == [0, 0, 0]
    assert pivx.tolist() == piv.tolist()
    x = dg.linalg.ldl_solve(LD, piv, dg.tensor(b))
    tx = torch.linalg.ldl_solve(tLD, tpiv, torch.tensor(b))
    _same(x, tx, 1e-3 if dtype == "float32" else 1e-9)
    # broadcast: one factorization against a batch of right-hand sides
    _same(dg.linalg.ldl_solve(LD[0], piv[0], dg.tensor(b)),
          torch.linalg.ldl_solve(tLD[0], tpiv[0], torch.tensor(b)),
          1e-3 if dtype == "float32" else 1e-9)
    if small_diagonal and n > 2:
        assert (piv.numpy() < 0).any()  # the 2x2 path was taken


def test_ldl_singular_and_bad_input_as_pytorch():
    for m in (dg, torch):
        LD, piv, info = m.linalg.ldl_factor_ex(m.zeros(3, 3))
        assert info.item() == 1 and piv.tolist() == [1, 2, 3]
        with pytest.raises(RuntimeError):  # (PyTorch's: an internal assert on the error code)
            m.linalg.ldl_factor(m.zeros(3, 3))
        with pytest.raises(RuntimeError, match="square"):
            m.linalg.ldl_factor(m.ones(3, 4))
        with pytest.raises(RuntimeError, match="Incompatible"):
            m.linalg.ldl_solve(m.eye(3), m.tensor([1, 2, 3], dtype=m.int32), m.ones(2, 1))
    a = dg.tensor(_symmetric((4, 4), 3, False), requires_grad=True)
    LD, piv = dg.linalg.ldl_factor(a)
    assert not LD.requires_grad  # (PyTorch's has no derivative: backward through it raises)


@pytest.mark.parametrize("coalesce", [True, False])
def test_hspmm_matches_pytorch(coalesce):
    index = [[2, 0, 2, 4, 2], [0, 1, 2, 3, 0]]  # row 2 twice at (2, 0): summed
    vals = np.random.default_rng(19).standard_normal(5)
    a = dg.sparse_coo_tensor(dg.tensor(index), dg.tensor(vals), (5, 4))
    ta = torch.sparse_coo_tensor(torch.tensor(index), torch.tensor(vals), (5, 4))
    if coalesce:
        a, ta = a.coalesce(), ta.coalesce()
    b, tb = _pair((4, 3), 20, grad=False)
    out, ref = dg.hspmm(a, b), torch.hspmm(ta, tb)
    assert out.layout == dg.sparse_coo and out.is_coalesced() == ref.is_coalesced()
    assert tuple(out.shape) == tuple(ref.shape)
    assert out._indices().tolist() == ref._indices().tolist()
    _same(out._values(), ref._values())
    _same(out.to_dense(), ref.to_dense())
    for m, x, y in ((dg, a, b), (torch, ta, tb)):
        with pytest.raises(NotImplementedError):
            m.hspmm(x.to_dense(), y)
        with pytest.raises(RuntimeError):
            m.hspmm(x, m.ones(3, 2, dtype=m.float64))
        with pytest.raises(RuntimeError):
            m.hspmm(x, y.to(m.float32))


def _swap_in_run(m):
    """A step of Adam on swapped-in parameters and state, then one on the live ones."""
    m.manual_seed(0)
    live = [m.nn.Parameter(m.tensor([1.0, -2.0])), m.nn.Parameter(m.tensor([[0.5]]))]
    opt = m.optim.Adam([{"params": [live[0]]}, {"params": [live[1]], "lr": 0.5}], lr=0.1)
    for p in live:
        p.grad = m.ones_like(p)
    opt.step()
    saved = opt.state_dict()
    saved = {"state": {k: {n: v.clone() for n, v in s.items()}
                       for k, s in saved["state"].items()},
             "param_groups": [dict(g, lr=g["lr"] * 10) for g in saved["param_groups"]]}
    other = {"a": m.tensor([3.0, 4.0]), "b": m.tensor([[2.0]])}
    for t in other.values():
        t.grad = m.tensor([0.5, -1.0]) if t.ndim == 1 else m.tensor([[2.0]])
    with m.optim.swap_in_optimizer_params_and_state(opt, other, saved):
        assert opt.param_groups[0]["params"][0] is other["a"]
        opt.step()
    assert opt.param_groups[0]["params"][0] is live[0] and opt.param_groups[1]["lr"] == 0.5
    opt.step()
    return ([t.detach().numpy().copy() for t in (*other.values(), *live)],
            [saved["state"][k]["exp_avg"].numpy().copy() for k in (0, 1)])


def test_swap_in_optimizer_params_and_state_matches_pytorch():
    ours, theirs = _swap_in_run(dg), _swap_in_run(torch)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for m in (dg, torch):
        p = m.nn.Parameter(m.ones(2))
        opt = m.optim.SGD([p], lr=0.1)
        with pytest.raises(RuntimeError, match="initialized optimizer state"):
            with m.optim.swap_in_optimizer_params_and_state(opt, {"p": p}, opt.state_dict()):
                pass


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("has_biases", [True, False])
def test_aten_rnn_entries_match_pytorch(kind, bidirectional, batch_first, has_biases):
    layers, dirs, size, inp, batch, steps = 2, 1 + bidirectional, 3, 2, 2, 4
    rng = np.random.default_rng(21)
    gates = {"lstm": 4, "gru": 3}.get(kind, 1)
    weights = []
    for layer in range(layers):
        for _ in range(dirs):
            width = inp if layer == 0 else size * dirs
            shapes = [(gates * size, width), (gates * size, size)]
            shapes += [(gates * size,)] * 2 if has_biases else []
            weights += [rng.standard_normal(s) * 0.5 for s in shapes]
    ours = [dg.tensor(w, requires_grad=True) for w in weights]
    theirs = [torch.tensor(w, requires_grad=True) for w in weights]
    shape = (batch, steps, inp) if batch_first else (steps, batch, inp)
    x, tx = _pair(shape, 22)
    h, th = _pair((layers * dirs, batch, size), 23)
    args = (has_biases, layers, 0.0, True, bidirectional, batch_first)
    if kind == "lstm":
        c, tc = _pair((layers * dirs, batch, size), 24)
        out = dg.lstm(x, (h, c), ours, *args)
        ref = torch.lstm(tx, (th, tc), theirs, *args)
        leaves, tleaves = [x, h, c, *ours], [tx, th, tc, *theirs]
    else:
        out = getattr(dg, kind)(x, h, ours, *args)
        ref = getattr(torch, kind)(tx, th, theirs, *args)
        leaves, tleaves = [x, h, *ours], [tx, th, *theirs]
    assert len(out) == len(ref)
    for a, b in zip(out, ref):
        _same(a, b)
    total = sum((o * (i + 1)).sum() for i, o in enumerate(out))
    ttotal = sum((o * (i + 1)).sum() for i, o in enumerate(ref))
    total.backward()
    ttotal.backward()
    for a, b in zip(leaves, tleaves):
        _same(a.grad, b.grad)


def test_aten_rnn_entry_wrong_parameter_count():
    x, h = dg.zeros(4, 2, 2), dg.zeros(1, 2, 3)
    with pytest.raises(RuntimeError, match="parameters"):
        dg.gru(x, h, [dg.zeros(9, 2)], True, 1, 0.0, False, False, False)
    for m in (dg, torch):  # unbatched input: the modules take it, the ATen entry does not
        w = [m.zeros(12, 2), m.zeros(12, 3)]
        with pytest.raises(IndexError):
            m.lstm(m.zeros(4, 2), (m.zeros(1, 3), m.zeros(1, 3)), w, False, 1, 0.0, False,
                   False, False)


@pytest.mark.parametrize("name", ["sspaddmm", "saddmm"])
@pytest.mark.parametrize("coalesce", [True, False])
def test_sspaddmm_matches_pytorch(name, coalesce):
    rng = np.random.default_rng(25)
    inp_index, m1_index = [[2, 0], [1, 1]], [[2, 0, 2], [0, 1, 2]]
    inp_vals, m1_vals = rng.standard_normal(2), rng.standard_normal(3)
    made = []
    for m in (dg, torch):
        inp = m.sparse_coo_tensor(m.tensor(inp_index), m.tensor(inp_vals), (3, 2))
        m1 = m.sparse_coo_tensor(m.tensor(m1_index), m.tensor(m1_vals), (3, 3))
        if coalesce:
            inp, m1 = inp.coalesce(), m1.coalesce()
        b = m.tensor(np.arange(6.0).reshape(3, 2))
        made.append(getattr(m, name)(inp, m1, b, beta=2, alpha=-0.5))
    ours, ref = made
    assert ours.is_coalesced() == ref.is_coalesced()
    assert ours._indices().tolist() == ref._indices().tolist()
    _same(ours._values(), ref._values())
    with pytest.raises(RuntimeError):
        dg.sspaddmm(dg.zeros(2, 2).to_sparse(), dg.zeros(3, 3).to_sparse(), dg.zeros(3, 2))
