"""Session 30's lead fixes, each against PyTorch 2.13."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("values", [
    [-1.694, -INF], [-INF, -INF, 1.0], [1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0], [NAN, 1.0, 2.0],
    [3.0, NAN, NAN, 1.0], [INF, 1.0], [5.0],
], ids=lambda v: ",".join(map(str, v)))
@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_median_of_all_elements_shares_the_gradient_as_pytorch(values, name, dtype):
    # The median's gradient went through amax over the input with every other element set
    # to -inf: a -inf median tied with those fillers, so its element got a share (0.5 for
    # nanmedian([-1.694, -inf])) where PyTorch's gets all of it (SL5's soak run, s30).
    results = []
    for lib in (torch, dg):
        a = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        m = getattr(lib, name)(a)
        (m * 3).backward()
        results.append((m.detach().numpy(), a.grad.numpy(), type(m.grad_fn).__name__))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])
    assert results[1][2] == results[0][2]


@pytest.mark.parametrize("rows", [
    [[-0.939, -0.939], [-0.939, -0.939]], [[0.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [2.0, 4.0]],
    [[2.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]],
], ids=["scaled-ones", "zeros", "rank-1", "last-pivot", "permutation"])
@pytest.mark.parametrize("requires_grad", [False, True], ids=["plain", "grad"])
def test_inv_ex_of_a_singular_matrix_reports_info_as_pytorch(rows, requires_grad):
    # inv_ex found the singular matrices with NumPy's inv, the inverse with LAPACK's gesv: an
    # exactly singular float32 matrix NumPy passed (ones(2, 2) * -0.939) made inv_ex raise the
    # inverse's LinAlgError where PyTorch returns info=2 (SL5's soak, s30). Where info > 0 the
    # inverse is LAPACK's undefined output on both sides (inf / nan in PyTorch's, nan here).
    results = []
    for lib in (torch, dg):
        a = lib.tensor(rows, dtype=lib.float32, requires_grad=requires_grad)
        result = lib.linalg.inv_ex(a * 1)
        results.append((int(result.info), result.inverse.detach().numpy()))
    (t_info, t_inverse), (d_info, d_inverse) = results
    assert d_info == t_info
    if t_info == 0:
        np.testing.assert_allclose(d_inverse, t_inverse, rtol=1e-6)


def test_a_kept_ctx_record_is_forgotten_even_after_module_teardown(monkeypatch):
    # A Function output's ctx attributes are kept by a weak reference whose callback read the
    # module's table as a global: at interpreter exit the global can already be None, and each
    # output still alive printed "Exception ignored in ... forget" (seen at CI's worker exits).
    import gc
    import sys

    from deltagrad._engine import grad_attrs

    raised = []
    monkeypatch.setattr(sys, "unraisablehook", raised.append)
    table = grad_attrs._CTX_KEPT
    out = dg.ones(2) * 2
    grad_attrs.keep_ctx_attributes(out, {"factor": 2.0})
    key = id(out)
    assert key in table
    monkeypatch.setattr(grad_attrs, "_CTX_KEPT", None)  # (as module teardown leaves it)
    del out
    gc.collect()
    assert not raised
    assert key not in table
