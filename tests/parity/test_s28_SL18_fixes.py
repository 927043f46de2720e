"""Regression tests for what session 28's layout fuzzer (``s28_SL18_layout.py``) found, each
run on deltagrad and on PyTorch: strides of the dims ``None`` adds in an index, ``Tensor.to``
returning the tensor itself for its suggested memory format, ``set_`` with a storage, offset,
size and stride, ``set_`` on a view of a leaf that requires grad, ``fill_`` / ``zero_`` of a
view whose elements share memory, ``storage_offset()`` of an expanded 0-stride view."""

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

LIBS = [pytest.param(dg, id="deltagrad"), pytest.param(torch, id="torch")]


def both(fn):
    """``fn(lib)`` on both libraries: the same result (values as nested lists)."""
    return fn(dg), fn(torch)


def layout(t):
    return [list(t.shape), list(t.stride()), t.storage_offset(), t.is_contiguous()]


@pytest.mark.parametrize("index", ["[None]", "[:, None]", "[..., None]", "[None, 1:]",
                                   "[::2, ::1, None, None]", "[1, None, ..., None]",
                                   "[None, 0, :, None, ::2]", "[-1, None]"])
def test_none_index_strides(index):
    def run(lib):
        x = lib.arange(18.).reshape(2, 3, 3)
        view = eval(f"x{index}")
        view.add_(1)  # (still a view: the write shows in x)
        return layout(view), x.sum().item()
    ours, theirs = both(run)
    assert ours == theirs


def test_none_index_strides_keep_view_semantics():
    x = dg.arange(6.).reshape(2, 3).clone()
    v = x[:, None]
    assert v.stride() == (3, 3, 1) and v._base is x
    v[1, 0, 2] = 50.0
    assert x[1, 2].item() == 50.0
    y = dg.arange(6.).reshape(2, 3).requires_grad_()
    (y[:, None] * 2).sum().backward()
    assert y.grad.tolist() == [[2.0] * 3] * 2


@pytest.mark.parametrize("case", ["t_contig", "t_f32_contig", "cl_to_contig", "cl_same",
                                  "permuted_contig", "t_f64_contig", "copy"])
def test_to_memory_format_returns_self_where_suggested(case):
    def run(lib):
        x = lib.arange(6.).reshape(2, 3).t()
        z = lib.zeros(2, 3, 2, 2).contiguous(memory_format=lib.channels_last)
        p = lib.zeros(1, 3, 2, 2).permute(0, 2, 3, 1)
        out, src = {
            "t_contig": (lambda: x.to(memory_format=lib.contiguous_format), x),
            "t_f32_contig": (lambda: x.to(lib.float32, memory_format=lib.contiguous_format), x),
            "cl_to_contig": (lambda: z.to(memory_format=lib.contiguous_format), z),
            "cl_same": (lambda: z.to(memory_format=lib.channels_last), z),
            "permuted_contig": (lambda: p.to(memory_format=lib.contiguous_format), p),
            "t_f64_contig": (lambda: x.to(lib.float64, memory_format=lib.contiguous_format), x),
            "copy": (lambda: x.to(memory_format=lib.contiguous_format, copy=True), x),
        }[case]
        got = out()
        return layout(got), got is src, got.data_ptr() == src.data_ptr()
    ours, theirs = both(run)
    assert ours == theirs


SET_CASES = {
    "storage": "(a.untyped_storage(),)",
    "offset_size": "(a.untyped_storage(), 1, (2, 2))",
    "offset_size_stride": "(a.untyped_storage(), 1, (2, 2), (1, 2))",
    "zero_stride": "(a.untyped_storage(), 0, (2,), (0,))",
    "tensor_source": "(a, 1, (2,))",
    "list_size": "(a.untyped_storage(), 0, [2])",
    "empty": "(a.untyped_storage(), 0, (0,))",
    "negative_offset": "(a.untyped_storage(), -1, (2,))",
}


@pytest.mark.parametrize("case", sorted(SET_CASES))
def test_set_with_storage_offset_size_stride(case):
    def run(lib):
        a = lib.arange(6.)
        b = lib.zeros(2)
        try:
            r = b.set_(*eval(SET_CASES[case]))
        except RuntimeError:
            return "RuntimeError"
        shared = b.numel() and b.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()
        if b.numel() and b.stride() and min(b.stride()) > 0:
            b.add_(100)  # (writes show in a: the memory is shared)
        return r is b, layout(b), b.tolist(), a.tolist(), bool(shared)
    ours, theirs = both(run)
    assert ours == theirs


def test_set_reinterprets_bytes_of_another_dtype():
    def run(lib):
        a = lib.arange(6.)
        c = lib.zeros(2, dtype=lib.int32)
        c.set_(a.untyped_storage(), 1, (2,))
        d = lib.zeros(1, dtype=lib.float64)
        d.set_(a, 0, (2,))
        return c.tolist(), d.tolist(), str(d.dtype).split(".")[-1]
    ours, theirs = both(run)
    assert ours == theirs


def test_set_past_the_storage_raises():
    # PyTorch grows the storage; deltagrad refuses (never a view past the memory).
    a = dg.arange(2.)
    with pytest.raises(RuntimeError, match="does not grow a storage"):
        dg.zeros(1).set_(a.untyped_storage(), 1, (2,))


@pytest.mark.parametrize("expr", ["a.reshape(1, 4).set_(a)", "a.reshape(2, 2)[0].set_(a)",
                                  "(a * 2).set_(a)", "(a * 2)[1:].set_(a)",
                                  "a.detach()[1:].set_(a.detach())", "no_grad"])
def test_set_on_a_view_of_a_leaf_requiring_grad(expr):
    def run(lib):
        a = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        try:
            if expr == "no_grad":
                with lib.no_grad():
                    a.reshape(1, 4).set_(a)
            else:
                eval(expr)
        except RuntimeError as error:
            return "RuntimeError", "view of a leaf Variable" in str(error)
        return "ok"
    ours, theirs = both(run)
    assert ours == theirs


@pytest.mark.parametrize("case", ["as_strided_11", "expand_zero", "expand_fill", "int_zero",
                                  "no_grad_leaf", "from_broadcast_numpy"])
def test_fill_and_zero_of_overlapping_views(case):
    def run(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case == "as_strided_11":
                a = lib.arange(4.)
                a.as_strided((2, 2), (1, 1)).fill_(7)
                return a.tolist()
            if case in ("expand_zero", "expand_fill"):
                b = lib.ones(1)
                e = b.expand(3)
                e.zero_() if case == "expand_zero" else e.fill_(2)
                return b.tolist(), e.tolist()
            if case == "int_zero":
                c = lib.tensor([1, 2, 3])
                c.as_strided((3,), (0,)).zero_()
                return c.tolist()
            if case == "no_grad_leaf":
                x = lib.arange(4.).requires_grad_()
                with lib.no_grad():
                    x.expand(2, 4).fill_(1)
                return x.tolist(), x.requires_grad
            z = lib.from_numpy(np.broadcast_to(np.ones(3), (2, 3)))
            z.fill_(5)
            return z.tolist()
    ours, theirs = both(run)
    assert ours == theirs


def test_add_into_overlapping_view_still_raises():
    # An op whose result depends on the order of the writes: PyTorch's overlap error where
    # PyTorch gives it (a 0 stride), and deltagrad's (KNOWN) for other overlaps.
    for lib in (dg, torch):
        with pytest.raises(RuntimeError, match="single memory location"):
            lib.zeros(1).expand(3).add_(1)
    with pytest.raises(RuntimeError, match="single memory location"):
        dg.arange(4.).unfold(0, 2, 1).add_(1)


def test_storage_offset_through_as_strided_zero_strides():
    def run(lib):
        a = lib.arange(4.)
        v = a.as_strided((1, 2, 2), (0, 0, 0), 1)
        e = v.expand(2, 3, 2, -1)
        same = e.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()
        return v.storage_offset(), e.storage_offset(), same, e.untyped_storage().nbytes()
    ours, theirs = both(run)
    assert ours == theirs


COPY_CASES = ["x.copy_(x.mT)", "x.copy_(x)", "v[:5].copy_(v[1:])", "v[1:].copy_(v[:5])",
              "v[::2].copy_(v[1::2])", "v[:3].copy_(v[3:])", "x[:2].copy_(x[1:3])",
              "x[:, :2].copy_(x[:, 1:3])", "x[0].copy_(x[:, 0])", "x.diagonal().copy_(x[0])",
              "x[0].copy_(x[0].expand(4))", "v[:2].copy_(v[1])",
              "v.view(2, 3).copy_(v.view(3, 2).t())", "v.copy_(v.view(lib.int64))",
              "x.copy_(x.detach())", "v.copy_(v.flip(0))", "x.t().copy_(x.t())"]


@pytest.mark.parametrize("expr", COPY_CASES)
def test_copy_between_partly_overlapping_views(expr):
    # PyTorch's assert_no_partial_overlap: dense source and target over intersecting bytes,
    # not the same elements in the same layout, raise; deltagrad copied (a memmove's result).
    def run(lib):
        x = lib.arange(16.).reshape(4, 4)
        v = lib.arange(6.)
        try:
            eval(expr)
        except RuntimeError as error:
            return "RuntimeError", "some elements of the input tensor" in str(error)
        return x.tolist(), v.tolist()
    ours, theirs = both(run)
    assert ours == theirs


def test_is_set_to_across_dtypes():
    def run(lib):
        x = lib.arange(4.)
        return (x.view(lib.int32).is_set_to(x), x.view(lib.int16).is_set_to(x),
                x[1:].view(lib.int32).is_set_to(x[1:]), x.double().view(lib.int64).is_set_to(x),
                lib.tensor(3).view(lib.float64).is_set_to(lib.tensor(3)))
    ours, theirs = both(run)
    assert ours == theirs


def test_view_dtype_of_a_zero_last_stride_raises():
    for lib in (dg, torch):
        a = lib.tensor([-1.75])
        with pytest.raises(RuntimeError):
            a.unsqueeze(1).as_strided((2, 1), (0, 0)).view(lib.uint8)
        assert list(a.expand(3, 1).view(lib.int16).shape) == [3, 2]
