"""Silent differences found by F9's fuzzing after session 9's engine changes, each against
PyTorch: special functions PyTorch has no bfloat16 kernel for, an implicit gradient seed for a
complex output, and tensors inside the sequence given to ``tensor`` / ``as_tensor``."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")

import deltagrad as dg  # noqa: E402


def _outcome(fn, lib):
    """('ok', dtype name, shape, values as float64) or ('raise', exception class)."""
    try:
        result = fn(lib)
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return ("raise", type(error))
    values = np.asarray(result.detach().double().numpy())
    return ("ok", str(result.dtype).split(".")[-1], tuple(result.shape), values)


def _same(fn, rtol=1e-6):
    expected, got = _outcome(fn, torch), _outcome(fn, dg)
    if expected[0] == "raise":
        assert got[0] == "raise" and issubclass(got[1], expected[1]), (expected, got)
        return
    assert got[0] == "ok", (expected, got)
    assert expected[1:3] == got[1:3], (expected, got)
    np.testing.assert_allclose(got[3], expected[3], rtol=rtol, atol=rtol / 10)


_NO_BF16_UNARY = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
                  "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                  "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
                  "spherical_bessel_j0", "airy_ai", "erfcx", "ndtri", "log_ndtr"]
_POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "hermite_polynomial_h",
                "laguerre_polynomial_l", "legendre_polynomial_p",
                "shifted_chebyshev_polynomial_w"]
_X = np.array([[0.25, -1.5, 2.0], [3.0, 0.5, -0.75]], np.float32)


def _bf16(lib):
    return lib.tensor(_X).to(lib.bfloat16)


@pytest.mark.parametrize("name", _NO_BF16_UNARY)
def test_special_unary_without_bfloat16_kernel_raises(name):
    # Was: a float32 (Bessel, Airy) or bfloat16 (erfcx, ndtri, log_ndtr) result, where PyTorch
    # raises NotImplementedError ("bessel_j0_cpu" not implemented for 'BFloat16').
    _same(lambda m: getattr(m.special, name)(_bf16(m)))
    _same(lambda m: getattr(m.special, name)(m.tensor(_X)))  # float32 still computes


@pytest.mark.parametrize("name", _POLYNOMIALS)
def test_special_polynomials_without_bfloat16_kernel_raise(name):
    _same(lambda m: getattr(m.special, name)(_bf16(m), _bf16(m)))
    _same(lambda m: getattr(m.special, name)(_bf16(m), 2))
    _same(lambda m: getattr(m.special, name)(m.tensor(_X), 3))


def test_zeta_bfloat16_raises():
    _same(lambda m: m.special.zeta(_bf16(m), _bf16(m)))
    _same(lambda m: m.special.zeta(m.tensor(_X) + 2, m.tensor(_X) + 2))


@pytest.mark.parametrize("name", ["ndtr", "erfinv", "log1p", "entr", "sinc", "i1"])
def test_special_with_bfloat16_kernel_still_computes(name):
    # (to bf16's rounding: entr differs in a last bit; i0e, left out, in two: the bf16 helpers')
    _same(lambda m: getattr(m.special, name)(_bf16(m) / 4), rtol=8e-3)


def _complex_root(lib, leaf):
    z = lib.tensor(leaf, requires_grad=True)
    return z, (z * (1 + 1j)).sum()


@pytest.mark.parametrize("leaf", [[1.0, 2.0], [1 + 2j, -0.5j]])
def test_backward_of_complex_output_needs_a_gradient(leaf):
    # Was: loss.backward() on a complex scalar seeded 1 silently (PyTorch: RuntimeError "grad can
    # be implicitly created only for real scalar outputs"); newly reachable with complex leaves.
    for call in (lambda lib, root, z: root.backward(),
                 lambda lib, root, z: lib.autograd.grad(root, z),
                 lambda lib, root, z: lib.autograd.backward([root])):
        with pytest.raises(RuntimeError) as theirs:
            z, root = _complex_root(torch, leaf)
            call(torch, root, z)
        with pytest.raises(RuntimeError, match="real scalar outputs"):
            z, root = _complex_root(dg, leaf)
            call(dg, root, z)
        assert "real scalar outputs" in str(theirs.value)


def test_backward_of_complex_output_with_a_gradient_agrees():
    grads = []
    for lib in (torch, dg):
        z, root = _complex_root(lib, [1 + 2j, -0.5j])
        root.backward(lib.tensor(1 - 1j))
        grads.append(z.grad.detach().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_real_scalar_backward_unchanged():
    for lib in (torch, dg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0]


_SEQUENCES = {
    "one 1-elem": lambda m: [m.ones(1)],
    "1x1": lambda m: [m.ones(1, 1)],
    "two 1-elem": lambda m: [m.ones(1), m.ones(1) * 2],
    "nested": lambda m: [[m.ones(1)], [m.ones(1, 1, 1)]],
    "tuple 0-d": lambda m: (m.tensor(2), m.tensor(3)),
    "mixed numbers": lambda m: [1.5, m.ones(1, dtype=m.float64)],
    "dtype kept": lambda m: [m.tensor(3, dtype=m.uint8), m.tensor(4, dtype=m.uint8)],
    "bfloat16": lambda m: [m.tensor(1.5, dtype=m.bfloat16)],
    "several elements": lambda m: [m.ones(2, 3)],
    "empty": lambda m: [m.ones(0)],
    "inner several": lambda m: [[1.0], [m.ones(2)]],
    "arrays stay arrays": lambda m: [np.ones(2), np.zeros(2)],
    "plain nested": lambda m: [[1.0, 2.0], [3.0, 4.0]],
}


@pytest.mark.parametrize("key", list(_SEQUENCES))
def test_tensor_reads_tensors_in_a_sequence_as_numbers(key):
    # Was: NumPy's reading, the tensors' dimensions kept (tensor([ones(1)]) of shape (1, 1),
    # tensor([ones(2, 3)]) of shape (1, 2, 3)); PyTorch reads each as one number (item()).
    make = _SEQUENCES[key]
    _same(lambda m: m.tensor(make(m)))
    _same(lambda m: m.as_tensor(make(m)))
    _same(lambda m: m.zeros(2, dtype=m.float64).new_tensor(make(m)))
    _same(lambda m: m.tensor(make(m), dtype=m.float64))


@pytest.mark.parametrize("call", [
    lambda m, a: m.linalg.svdvals(a),
    lambda m, a: m.linalg.matrix_norm(a, "nuc"),
    lambda m, a: m.linalg.matrix_norm(a, 2),
    lambda m, a: m.linalg.norm(a, -2),
    lambda m, a: m.linalg.matrix_norm(a, -2),
    lambda m, a: m.cdist(a, a),
    lambda m, a: m.linalg.vander(a[0]),
    lambda m, a: m.linalg.matrix_norm(a, "fro"),  # (computes: no SVD)
], ids=["svdvals", "nuc", "ord2", "norm-2", "ord-2", "cdist", "linalg.vander", "fro"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_linalg_refusals(call, dtype):
    # Was (bfloat16): a result where PyTorch has no kernel (the checks compared with float16).
    _same(lambda m: call(m, m.tensor(_X).to(getattr(m, dtype))), rtol=8e-3)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "int64"])
@pytest.mark.parametrize("increasing", [False, True])
def test_torch_vander_low_precision(dtype, increasing):
    # torch.vander takes float16 and bfloat16 (linalg.vander does not): was RuntimeError.
    x = np.array([0.5, 1.5, -2.0, 3.0, 7.0], np.float32)
    _same(lambda m: m.vander(m.tensor(x).to(getattr(m, dtype)), N=6, increasing=increasing))


@pytest.mark.filterwarnings("ignore")  # (PyTorch's "sparse CSR support is in beta")
@pytest.mark.parametrize("dense_dim", [None, 0, 1, -1, True, 2.5])
@pytest.mark.parametrize("shape", [(), (3,), (0,), (2, 3)])
def test_to_sparse_csr_argument_errors(shape, dense_dim):
    # Was RuntimeError where PyTorch raises IndexError (< 2-d) or TypeError (a bool or float
    # dense_dim), and NotImplementedError for dense_dim=0, which PyTorch takes.
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    args = () if dense_dim is None else (dense_dim,)

    def call(m):
        result = m.tensor(x).to_sparse_csr(*args)
        return result.to_dense()
    _same(call)


@pytest.mark.parametrize("mat2", [True, 2, "dense"])
def test_smm_argument_errors(mat2):
    def call(m):
        other = m.ones(3, 2) if mat2 == "dense" else mat2
        return m.smm(m.ones(2, 3), other)  # (a dense input: RuntimeError after the types)
    _same(call)



@pytest.mark.parametrize("name", ["addbmm", "baddbmm"])
@pytest.mark.parametrize("shapes", [((2, 3), (3, 2)), ((3,), (2, 3, 4)), ((2, 3, 4), (2, 4)),
                                    ((2, 3, 4), (2, 4, 5))])
def test_addbmm_batch_ranks(name, shapes):
    # Was ShapeError (RuntimeError) where PyTorch raises IndexError for batches under 3-d.
    a, b = shapes
    out = (3, 5) if name == "addbmm" else (2, 3, 5)
    _same(lambda m: getattr(m, name)(m.ones(out), m.ones(a), m.ones(b)), rtol=1e-5)
    _same(lambda m: getattr(m, name)(m.ones(out), m.ones(a), 2.5))  # (TypeError first)


@pytest.mark.parametrize("sublist", [[0, 1], (1, 0), "int tensor", "float tensor", "bool m23",
                                     "float m23", [0.0, 1.0]])
def test_einsum_sublist_subscripts(sublist):
    # Was ShapeError for a float tensor as the subscripts (PyTorch: TypeError, as operator.index)
    def call(m):
        x = m.tensor(_X)
        given = {"int tensor": m.tensor([0, 1]), "float tensor": m.tensor([0.0, 1.0]),
                 "bool m23": m.ones(2, 3, dtype=m.bool), "float m23": m.tensor(_X)}
        return m.einsum(x, given.get(sublist, sublist) if isinstance(sublist, str) else sublist)
    _same(call)
