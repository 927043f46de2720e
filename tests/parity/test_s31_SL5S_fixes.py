"""Session 31's fixes from the program fuzzers' soak runs (SL5S), each against PyTorch 2.13:
as_strided's gradient for complex tensors (was refused), and QR / geqrf of a matrix with -0.0
on its diagonal (a column of Q and a row of R came out negated)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _same_bits_of_zeros(ours, theirs):
    """Equal values (to float32 rounding) with the same signs of zeros, complex parts apart."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    for part in (np.real, np.imag):
        a, b = part(ours), part(theirs)
        zero = b == 0
        np.testing.assert_array_equal(np.signbit(a[zero]), np.signbit(b[zero]))


_Z = [[1 + 2j, 3 - 1j, 0.5 + 0.5j], [2j, -1.5 + 0.25j, 0.75 - 2j]]
# (size, stride, offset) of the view of a [2, 3] input's storage; "expanded" reads a [3]
# leaf expanded to [2, 3], whose elements share positions (the rule's general path)
AS_STRIDED = {
    "overlapping": ((2, 2), (1, 1), 1),
    "gaps": ((2, 2), (3, 2), 0),
    "broadcast": ((3, 2), (0, 1), 2),
    "one": ((1, 1), (0, 1), 4),
    "transposed-input": ((3, 2), (1, 2), 0),
    "expanded": ((2, 2), (1, 1), 0),
}


def _as_strided_grads(lib, case, dtype, create_graph):
    size, stride, offset = AS_STRIDED[case]
    leaf = lib.tensor(_Z[0] if case == "expanded" else _Z, dtype=getattr(lib, dtype),
                      requires_grad=True)
    x = leaf
    if case == "transposed-input":
        x = leaf.t()
    elif case == "expanded":
        x = leaf.expand(2, 3)
    y = x.as_strided(size, stride, offset)
    w = lib.tensor([[0.5 - 1j, 2 + 0.5j]], dtype=y.dtype)
    z = y * w
    loss = (z.real * 2 + z.imag).pow(2).sum()
    (grad,) = lib.autograd.grad(loss, leaf, create_graph=create_graph)
    out = [y.detach().numpy(), grad.detach().numpy()]
    if create_graph:  # the gradient's own gradient (second order through as_strided)
        (again,) = lib.autograd.grad((grad.real * grad.imag).sum(), leaf)
        out.append(again.numpy())
    return out


@pytest.mark.parametrize("create_graph", [False, True], ids=["first", "second"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("case", list(AS_STRIDED))
def test_as_strided_of_a_complex_tensor_has_pytorchs_gradient(case, dtype, create_graph):
    # Was NotImplementedError ("as_strided: gradients through complex tensors are not
    # supported"); its rules only move and sum g (and split a shared position evenly), right
    # for complex as they are. Zeros where no element is read keep PyTorch's +0.0 (a
    # holomorphic twin's conj pair would give -0.0j).
    theirs = _as_strided_grads(torch, case, dtype, create_graph)
    ours = _as_strided_grads(dg, case, dtype, create_graph)
    for a, b in zip(ours, theirs):
        _same_bits_of_zeros(a, b)


# Matrices with -0.0 on the diagonal: at the first Householder step, at a later one (the
# column above is already triangular), and one with nothing below it to reflect (R keeps
# the -0.0); the fuzzer's 4 x 3 (SL5's soak, seed 3).
QR_INPUTS = {
    "first": [[-0.0, 1.0], [1.0, 2.0], [2.0, -1.0]],
    "later": [[1.0, 0.0], [0.0, -0.0], [0.0, 1.0]],
    "kept": [[-0.0, 1.0], [0.0, 2.0], [0.0, -1.0]],
    "wide": [[-0.0, 0.5, 2.0], [1.5, -0.0, 1.0]],
    "fuzzed": [[-0.0, -0.232, 0.469], [1.879, -0.183, -1.174], [0.162, 0.157, 0.472],
               [0.965, 1.229, -1.755]],
}


@pytest.mark.parametrize("batch", [0, 2, 10], ids=["one", "loop", "batched"])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("case", list(QR_INPUTS))
def test_qr_reads_a_negative_zero_on_the_diagonal_as_pytorch(case, mode, batch):
    # NumPy's LAPACK (OpenBLAS) takes -0.0's sign for R's diagonal element; PyTorch's reads it
    # as +0.0: Q's column and R's row came out negated. (batch 10: NumPy's batched qr)
    a = np.array(QR_INPUTS[case])
    if batch:
        a = np.stack([a * (1 + k % 3) for k in range(batch)])
    k = min(a.shape[-2:])
    for dtype in ("float32", "float64"):
        results = []
        for lib in (torch, dg):
            factors = lib.linalg.qr(lib.tensor(a, dtype=getattr(lib, dtype)), mode=mode)
            results.append([x.numpy() for x in factors])
        for ours, theirs in zip(results[1], results[0]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        r_ours, r_theirs = results[1][-1], results[0][-1]
        np.testing.assert_array_equal(np.signbit(r_ours[..., range(k), range(k)]),
                                      np.signbit(r_theirs[..., range(k), range(k)]))


@pytest.mark.parametrize("case", list(QR_INPUTS))
def test_geqrf_reads_a_negative_zero_on_the_diagonal_as_pytorch(case):
    results = []
    for lib in (torch, dg):
        a, tau = lib.geqrf(lib.tensor(QR_INPUTS[case], dtype=lib.float64))
        results.append((a.numpy(), tau.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)
    a_ours, a_theirs = results[1][0], results[0][0]
    k = min(a_ours.shape)
    np.testing.assert_array_equal(np.signbit(a_ours[range(k), range(k)]),
                                  np.signbit(a_theirs[range(k), range(k)]))


def test_qr_gradient_with_a_negative_zero_on_the_diagonal_is_pytorchs():
    grads = []
    for lib in (torch, dg):
        a = lib.tensor(QR_INPUTS["fuzzed"], dtype=lib.float64, requires_grad=True)
        q, r = lib.linalg.qr(a)
        (q.sum() + (r * r).sum()).backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def _outcome(call, *args, **kwargs):
    try:
        result = call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the class is compared
        return type(exc).__name__
    if result is None:  # (an item assignment)
        return "done"
    return tuple(result.shape), str(result.dtype).rsplit(".", 1)[-1]


@pytest.mark.parametrize("view", ["T", "mT", "t", "H"])
@pytest.mark.parametrize("requires_grad", [True, False], ids=["grad", "plain"])
def test_detach_in_place_of_a_transposed_view_raises_as_pytorch(view, requires_grad):
    # .T / .mT rename their permute / transpose node (PyTorch's names), and the renamed op was
    # not seen as a view: x.T.detach_() detached where PyTorch raises (SL's soak, s31).
    outcomes = []
    for lib in (torch, dg):
        x = lib.tensor([[-1.75, 0.5], [0.0, 1.75]], dtype=lib.float64,
                       requires_grad=requires_grad)
        v = x.t() if view == "t" else getattr(x, view)
        outcomes.append(_outcome(v.detach_))
    assert outcomes[1] == outcomes[0] == "RuntimeError"


CAT_OUT = {  # (the inputs, the out tensor) as indices into fresh tensors
    "legacy-empty": (lambda e, f, x: ([e, e], e)),
    "empty-2d": (lambda e, f, x: ([f, f], f)),
    "empty-out-read": (lambda e, f, x: ([e, x], e)),
    "out-read": (lambda e, f, x: ([x, x], x)),
}


@pytest.mark.parametrize("case", list(CAT_OUT))
def test_cat_into_an_input_checks_overlap_as_pytorch(case):
    # Inputs that are all legacy empty [0] tensors return before PyTorch's overlap check:
    # torch.cat([e, e], out=e) runs (it raised here; SL3's soak, s31).
    outcomes = []
    for lib in (torch, dg):
        e, f = lib.empty(0, dtype=lib.int64), lib.empty(0, 3)
        tensors, out = CAT_OUT[case](e, f, lib.ones(2, dtype=lib.int64))
        outcomes.append(_outcome(lib.cat, tensors, out=out))
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("call", [
    "x.softmax(-3)", "x.softmax(0)", "x.softmax(1)", "x.log_softmax(5)", "x.log_softmax(-1)",
    "F.softmax(x, 2)", "torch.log_softmax(x.to(torch.complex128), 0)",
    "torch.empty(0, 2, dtype=torch.complex64).softmax(0)",
    "torch.empty(0, 2, dtype=torch.complex128).log_softmax(1)",
    "x.softmax(0, dtype=torch.float64)",
])
def test_softmax_of_a_complex_tensor_checks_the_dim_first_as_pytorch(call):
    # A complex input raised NotImplementedError before the dim was checked (PyTorch: the
    # IndexError of a dim out of range; SL3's soak, s31), and an empty one raised where
    # PyTorch returns it.
    outcomes = []
    for lib in (torch, dg):
        x = lib.tensor([[-2.0, 1.25], [-1.5, -1.5]], dtype=lib.complex64)
        namespace = {"torch": lib, "F": lib.nn.functional, "x": x}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's "Casting complex values to real")
            outcomes.append(_outcome(eval, call, namespace))
    assert outcomes[1] == outcomes[0]


MOVES = {
    "getitem": lambda x: x[0, 1:],
    "index": lambda x: x[:, [2, 0]],
    "diagonal": lambda x: x.diagonal(),
    "unfold": lambda x: x.unfold(1, 2, 2),
    "where": lambda x: x.where(x.real > 0.6, x.new_zeros(())),
    "gather": lambda x: x.gather(1, x.new_zeros((2, 1), dtype=None).real.long()),
    "reshape-sum": lambda x: x.reshape(3, 2).sum(0),
}


@pytest.mark.parametrize("move", list(MOVES))
def test_complex_gradient_of_a_move_has_positive_zeros_as_pytorch(move):
    # The moves ran their rules as conj(rule(conj(g))): the zeros a rule fills in (elements
    # not read) came out -0j where PyTorch's are +0j (printed as 0.-0.j).
    grads = []
    for lib in (torch, dg):
        leaf = lib.tensor(_Z, dtype=lib.complex64, requires_grad=True)
        y = MOVES[move](leaf)
        w = lib.full(y.shape, 0.5 - 1j, dtype=y.dtype)
        (y * w).real.sum().backward()
        grads.append(leaf.grad.numpy())
    _same_bits_of_zeros(grads[1], grads[0])


@pytest.mark.parametrize("index", [
    "(None, -2, [-3, 0])", "(-2, [-3, 0])", "(None, 0, [0])", "(7, [0])", "(True, 4, [0])",
    "(..., 3, [0])", "([0], 2)", "([5],)", "([0, 1],)",
])
def test_item_assignment_of_another_dtype_checks_int_indices_first_as_pytorch(index):
    # PyTorch applies ints / slices / None before its index_put_ dtype check: an int out of
    # range is its IndexError, where deltagrad's dtype RuntimeError came first (SL10's soak,
    # s31); an index tensor out of range still meets the dtype check first, as PyTorch's.
    outcomes = []
    for lib in (torch, dg):
        x = lib.zeros((0, 2, 3)) if "-2" in index or "(None, 0" in index else lib.zeros(3, 2)
        outcomes.append(_outcome(x.__setitem__, eval(index), lib.tensor(True)))  # noqa: S307
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(0, 0), (2, 2)], ids=["empty", "2x2"])
def test_matrix_power_of_a_negative_power_checks_the_dtype_as_pytorch(dtype, shape):
    # A negative power of an integer / bool matrix gave float32 powers (an empty one an
    # empty float32 result) where PyTorch's linalg.inv raises (SL8's soak, s31).
    outcomes = []
    for lib in (torch, dg):
        a = (lib.eye(shape[0]) * 2).to(getattr(lib, dtype))
        outcomes.append(_outcome(lib.linalg.matrix_power, a, -2))
    if outcomes[0] == "RuntimeError":  # (float16's NotImplementedError is a RuntimeError)
        assert outcomes[1] in ("RuntimeError", "NotImplementedError")
    else:
        assert outcomes[1] == outcomes[0]
