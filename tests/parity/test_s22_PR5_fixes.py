"""Fixes found by PR5's real-style programs (session 22), each against PyTorch."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _lowrank(lib, name, shape, dtype, **kwargs):
    """(U S Vᴴ, S, the next draw of the global generator) of a seeded call."""
    lib.manual_seed(5)
    a = lib.randn(*shape, dtype=getattr(lib, dtype))
    if kwargs.pop("with_m", False):
        kwargs["M"] = lib.randn(1, shape[-1], dtype=getattr(lib, dtype))
    u, s, v = getattr(lib, name)(a, **kwargs)
    product = (u * s[..., None, :]) @ v.mT
    return product.numpy(), s.numpy(), lib.randn(3).numpy()


@pytest.mark.parametrize("name,shape,kwargs", [
    ("pca_lowrank", (40, 12), {"q": 6, "niter": 3}),
    ("pca_lowrank", (9, 30), {}),
    ("pca_lowrank", (2, 15, 7), {"q": 3, "center": False, "niter": 0}),
    ("svd_lowrank", (40, 12), {"q": 4}),
    ("svd_lowrank", (5, 20), {"q": 3, "niter": 1}),
    ("svd_lowrank", (12, 8), {"q": 5, "with_m": True}),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lowrank_is_randomized_as_pytorch(name, shape, kwargs, dtype):
    # deltagrad took a truncated exact SVD: past rank q its values were not PyTorch's
    # approximation, and the generator was not advanced, so every later draw of the program
    # differed. Now the same draws, subspace iterations and projection.
    ours = _lowrank(dg, name, shape, dtype, **dict(kwargs))
    theirs = _lowrank(torch, name, shape, dtype, **dict(kwargs))
    tol = 1e-4 if dtype == "float32" else 1e-10
    for got, want in zip(ours, theirs):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_lowrank_of_a_full_rank_matrix_is_an_approximation():
    # the randomized result is not the exact truncated SVD where the rank exceeds q
    dg.manual_seed(0)
    a = dg.randn(30, 10, dtype=dg.float64)
    _, approximate, _ = dg.svd_lowrank(a, q=4, niter=0)
    exact = dg.linalg.svdvals(a)[:4]
    assert (approximate <= exact + 1e-12).all() and not dg.allclose(approximate, exact)


def test_pca_lowrank_refuses_bad_arguments_as_pytorch():
    for lib in (dg, torch):
        with pytest.raises(ValueError, match="q\\(=7\\)"):
            lib.pca_lowrank(lib.ones(5, 6), q=7)
        with pytest.raises(ValueError, match="niter\\(=-1\\)"):
            lib.pca_lowrank(lib.ones(5, 6), niter=-1)


@pytest.mark.parametrize("call", [
    lambda lib, x: x.argsort(1, stable=True),
    lambda lib, x: lib.argsort(x, 1, descending=True, stable=True),
    lambda lib, x: x.sort(0, stable=False),
    lambda lib, x: lib.sort(x, -1, True, stable=True),
])
def test_stable_makes_dim_keyword_only_as_pytorch(call):
    # PyTorch's sort / argsort with stable= take dim and descending as keywords only;
    # deltagrad accepted them positionally (a program that ran here failed on PyTorch)
    for lib in (dg, torch):
        with pytest.raises(TypeError):
            call(lib, lib.tensor([[3.0, 1.0, 2.0]]))


def test_stable_with_keywords_still_sorts_as_pytorch():
    for call in (lambda lib, x: x.argsort(dim=1, descending=True, stable=True),
                 lambda lib, x: lib.sort(x, stable=True, dim=0).indices,
                 lambda lib, x: x.sort(stable=None).indices,
                 lambda lib, x: lib.argsort(x, 1, True)):
        values = [[3.0, 1.0, 3.0], [1.0, 1.0, 0.0]]
        assert call(dg, dg.tensor(values)).tolist() == call(torch, torch.tensor(values)).tolist()


_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "uint8", "bool", "complex64",
           "uint16", "uint32", "uint64"]


@pytest.mark.parametrize("dtype", _DTYPES)
def test_type_names_as_pytorch(dtype):
    # bfloat16 and the wide unsigned dtypes printed 'torch.bfloat16' / 'torch.uint16'
    ours = dg.zeros(1, dtype=getattr(dg, dtype))
    theirs = torch.zeros(1, dtype=getattr(torch, dtype))
    assert ours.type() == theirs.type()
    assert str(dg.ones(1).type(theirs.type()).dtype).split(".")[-1] == dtype


def test_parameter_dict_repr_as_pytorch():
    # ParameterDict names each parameter's type as torch.typename does ('torch.FloatTensor');
    # deltagrad printed a fixed 'deltagrad.' module and 'bfloat16' for BFloat16Tensor
    def build(lib):
        return lib.nn.ParameterDict({
            f"p_{name}": lib.nn.Parameter(lib.ones(2, 3, dtype=getattr(lib, name)))
            for name in ("float32", "float64", "bfloat16", "float16", "complex64")})

    assert repr(build(dg)) == repr(build(torch))


def _sparse_cases(lib):
    lib.manual_seed(0)
    index = lib.tensor([[0, 1, 1], [2, 0, 2]])
    leaf = lib.eye(2).to_sparse().requires_grad_()
    return [lib.sparse_coo_tensor(index, lib.tensor([3.0, 4.0, 5.0], dtype=lib.float64), (2, 3)),
            lib.zeros(2, 3).to_sparse(), lib.zeros(3, 0, dtype=lib.float64).to_sparse(),
            lib.eye(2, dtype=lib.bfloat16).to_sparse(), leaf, (leaf * 2).coalesce(),
            lib.eye(2).to_sparse_csr(), lib.eye(3, dtype=lib.float64).to_sparse_csr(),
            lib.zeros(2, 2).to_sparse_csr(), lib.randn(4, 30).relu().to_sparse_csr(),
            _embedding_grad(lib, lib.float64)]


def _embedding_grad(lib, dtype):
    table = lib.nn.Embedding(5, 2, sparse=True).to(dtype)
    table(lib.tensor([4, 1, 4])).sum().backward()
    return table.weight.grad


@pytest.mark.parametrize("linewidth", [80, 50])
def test_sparse_repr_as_pytorch(linewidth):
    # deltagrad printed the values' dtype inside values=tensor(...), no size of empty parts,
    # always broke a CSR tensor's line before layout=, and a node's object repr as grad_fn
    texts = {}
    for lib in (dg, torch):
        lib.set_printoptions(linewidth=linewidth)
        try:
            texts[lib] = [repr(t).replace(lib.__name__ + ".", "LIB.") for t in _sparse_cases(lib)]
        finally:
            lib.set_printoptions(profile="default")
    assert texts[dg] == texts[torch]
