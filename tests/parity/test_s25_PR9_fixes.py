"""Fixes from PR9's old-style and printed-output programs (session 25), each against PyTorch:
a column's ``.contiguous()`` (it stayed strided: ``x[:, 0].contiguous().view(-1)`` is what old
LSTM code writes), ``repr(grad_fn)`` (its __repr__ had been left unreachable inside another
function, so tutorials' ``print(y.grad_fn)`` showed deltagrad's module path), ``Tensor.volatile``
set by 2017 DQN code (no setter), the deprecated ``add_(Number, Tensor)`` overload warning once
per process as PyTorch's TORCH_WARN_ONCE (word_language_model's update loop warned every call),
the second-backward error starting with PyTorch's "Trying".
"""

import re
import warnings

import pytest

import deltagrad as dg
from deltagrad._engine import errors

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("make", [lambda m, x: x[:, 0], lambda m, x: x[1, ::2],
                                  lambda m, x: x.t()[2], lambda m, x: x.flip(0)[:, 1]])
def test_contiguous_of_a_strided_vector(make):
    values = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]
    got = {}
    for name, lib in (("torch", torch), ("dg", dg)):
        x = lib.tensor(values, requires_grad=True)
        column = make(lib, x)
        c = column.contiguous()
        (c * lib.arange(c.shape[0])).sum().backward()
        got[name] = (column.is_contiguous(), c.is_contiguous(), c.stride(),
                     c.view(-1).is_contiguous(), c.grad_fn is not None and c.grad_fn.name(),
                     c.tolist(), x.grad.tolist())
    assert got["dg"] == got["torch"]


def test_contiguous_copy_does_not_write_through():
    x = dg.arange(12.0).reshape(3, 4)
    c = x[:, 1].contiguous()
    c[0] = -1.0
    assert x[0, 1].item() == 1.0 and c.is_contiguous()


def test_grad_fn_repr_as_pytorch():
    texts = {}
    for name, lib in (("torch", torch), ("dg", dg)):
        x = lib.ones(2, requires_grad=True)
        y = (x * 2).sum()
        texts[name] = [re.sub("0x[0-9a-f]+", "ADDR", repr(fn)) for fn in
                       (y.grad_fn, y.grad_fn.next_functions[0][0], (x + 1).grad_fn)]
        texts[name].append(re.sub("0x[0-9a-f]+", "ADDR", str(y.grad_fn.next_functions)))
    assert texts["dg"] == texts["torch"]
    assert texts["dg"][0] == "<SumBackward0 object at ADDR>"


def test_volatile_set_warns_and_is_ignored():
    caught = {}
    for name, lib in (("torch", torch), ("dg", dg)):
        t = lib.zeros(2)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            t.volatile = True
            value = t.volatile
        caught[name] = (value, [(w.category, str(w.message)) for w in record], t.requires_grad)
    assert caught["dg"] == caught["torch"]
    assert caught["dg"][0] is False and len(caught["dg"][1]) == 2


def test_scalar_first_overload_warns_once_per_process():
    errors._WARNED_ONCE.discard("deprecated scalar-first overload")  # (a fresh process's state)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        z = dg.zeros(3)
        for _ in range(3):
            z.add_(2, dg.ones(3))
        z.addcmul_(0.5, dg.ones(3), dg.ones(3))
        z.sub_(1, dg.ones(3))
    messages = [str(w.message) for w in record if "overload" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("This overload of add_ is deprecated")
    assert record[0].filename == __file__  # (pointed at the caller's line)
    assert z.tolist() == [5.5, 5.5, 5.5]


def test_second_backward_error_starts_as_pytorch():
    for lib in (torch, dg):
        x = lib.ones(2, requires_grad=True)
        out = (x.exp() * x).sum()
        out.backward()
        with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second "
                                               "time"):
            out.backward()


def _said(fn):
    """(result or exception type, the warnings' first sentences) of ``fn()``."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - compared
            result = RuntimeError if isinstance(exc, RuntimeError) else type(exc)
    return result, [(w.category, re.sub(r" \(Triggered internally at .*\)$", "",
                                        str(w.message), flags=re.S).split(". ")[0])
                    for w in record]


def test_indexing_a_0d_tensor_says_what_pytorch_says():
    # `loss.data[0]`, how 0.3-era code read a loss: the message people search for
    for lib in (torch, dg):
        loss = lib.tensor(0.25)
        with pytest.raises(IndexError, match=r"^invalid index of a 0-dim tensor\. Use "
                                             r"`tensor\.item\(\)` in Python"):
            loss.data[0]
    assert dg.tensor(2.0)[None].shape == (1,) and dg.tensor(2.0)[...].item() == 2.0
    with pytest.raises(IndexError, match="too many indices"):  # (others keep their message)
        dg.ones(2)[0, 0]


def test_type_to_a_cuda_tensor_type_raises():
    for lib in (torch, dg):
        with pytest.raises(RuntimeError):
            lib.ones(2).type(lib.cuda.FloatTensor)
    assert dg.ones(2).type(dg.LongTensor).dtype == dg.int64


def test_uint8_mask_index_warns_every_time():
    got = {}
    for name, lib in (("torch", torch), ("dg", dg)):
        x = lib.arange(6.0).view(2, 3)
        mask = lib.tensor([[1, 0, 1], [0, 0, 1]], dtype=lib.uint8)
        got[name] = [_said(lambda x=x, mask=mask: x[mask].tolist()) for _ in range(2)]
        got[name].append(_said(lambda x=x, mask=mask: x[mask.bool()].tolist()))
    assert got["dg"] == got["torch"]
    assert len(got["dg"][1][1]) == 1 and not got["dg"][2][1]


def test_read_only_numpy_array_warns_once():
    import numpy as np

    errors._WARNED_ONCE.discard("from_numpy read-only")  # (a fresh process's state)
    array = np.broadcast_to(np.arange(3.0), (2, 3))
    first, second = _said(lambda: dg.from_numpy(array).sum().item()), _said(
        lambda: dg.from_numpy(array).sum().item())
    assert first == (6.0, [(UserWarning, "The given NumPy array is not writable, and PyTorch "
                                         "does not support non-writable tensors")])
    assert second == (6.0, [])
    assert _said(lambda: dg.from_numpy(np.ones(2)).sum().item()) == (2.0, [])


def test_once_per_process_deprecations():
    for key in ("chain_matmul", "set_default_tensor_type"):
        errors._WARNED_ONCE.discard(key)
    calls = [lambda: dg.chain_matmul(dg.eye(2), dg.eye(2)).sum().item(),
             lambda: dg.set_default_tensor_type(dg.FloatTensor)]
    for call in calls:
        result, said = _said(call)
        assert len(said) == 1 and "deprecated" in said[0][1], said
        assert _said(call) == (result, [])
    assert dg.get_default_dtype() == dg.float32


def test_slogdet_result_names():
    names = {}
    for name, lib in (("torch", torch), ("dg", dg)):
        a = lib.tensor([[2.0, 1.0], [0.0, -3.0]])
        results = (lib.slogdet(a), a.slogdet(), lib.linalg.slogdet(a))
        names[name] = [(type(r).__name__, len(r), r.sign.item(), round(r.logabsdet.item(), 6))
                       for r in results]
        names[name].append(repr(results[2]).split("(")[0].split(".", 1)[1])
    assert names["dg"] == names["torch"]
    assert names["dg"][0][0] == "slogdet" and names["dg"][2][0] == "linalg_slogdet"


def test_memory_format_and_storage_named_as_dtypes():
    from deltagrad._engine import dtypes

    errors._WARNED_ONCE.discard("TypedStorage")
    x = dg.arange(3.0)
    first, second = _said(lambda: repr(x.storage())), _said(lambda: repr(x.storage()))
    assert first[1] == [(UserWarning, "TypedStorage is deprecated")] and second[1] == []
    saved = dtypes.PREFIX[0]
    try:
        for prefix in ("deltagrad", "torch"):  # (PREFIX is 'torch' under the alias)
            dtypes.PREFIX[0] = prefix
            assert repr(dg.channels_last) == f"{prefix}.channels_last" == f"{prefix}." + repr(
                torch.channels_last).split(".")[1]
            assert repr(x.storage()).endswith(
                f"[{prefix}.storage.TypedStorage(dtype={prefix}.float32, device=cpu) of size 3]")
    finally:
        dtypes.PREFIX[0] = saved
    assert repr(x.storage()).splitlines()[:3] == repr(torch.arange(3.0).storage()).splitlines()[:3]


def test_variable_without_data():
    from torch.autograd import Variable as TorchVariable

    from deltagrad.autograd import Variable

    for make in (lambda V: V(), lambda V: V(requires_grad=True)):
        ours, theirs = make(Variable), make(TorchVariable)
        assert (tuple(ours.shape), str(ours.dtype).split(".")[1], ours.requires_grad,
                ours.is_leaf) == (tuple(theirs.shape), str(theirs.dtype).split(".")[1],
                                  theirs.requires_grad, theirs.is_leaf)


@pytest.mark.parametrize("name", ["Hardswish", "Hardsigmoid", "ReLU", "SiLU", "Mish", "ReLU6",
                                  "Hardtanh", "Dropout"])
def test_inplace_activations_print_as_pytorch(name):
    for inplace in (False, True):
        assert repr(getattr(dg.nn, name)(inplace=inplace)) == repr(
            getattr(torch.nn, name)(inplace=inplace))
