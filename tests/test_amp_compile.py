"""Mixed-precision and compile entry points run PyTorch programs unchanged, in full precision."""

import warnings

import numpy as np
import pytest

import deltagrad as dg


def test_autocast_changes_nothing_as_context_and_decorator():
    x = dg.ones(3)
    with dg.autocast(device_type="cpu", dtype=dg.bfloat16, enabled=False):
        y = x * 2
    assert y.dtype == dg.float32

    @dg.autocast("cpu", enabled=False)
    def double(t):
        return t * 2

    assert double(x).tolist() == [2.0, 2.0, 2.0]
    with dg.autocast("cpu", dtype=dg.float16):  # (refused before session 19)
        assert (x @ x.reshape(3, 1)).dtype == dg.float16
    with dg.autocast("cpu"):  # bfloat16: tests/engine/test_s9_B2_bf16.py
        assert (x @ x.reshape(3, 1)).dtype == dg.bfloat16


@pytest.mark.parametrize("make", [lambda: dg.amp.GradScaler(enabled=False),
                                  lambda: dg.cuda.amp.GradScaler(enabled=False)])
def test_grad_scaler_is_a_pass_through(make):
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = dg.optim.SGD([w], lr=0.1)
    scaler = make()
    loss = (w * w).sum()
    assert scaler.scale(loss) is loss
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])
    assert not scaler.is_enabled()


def test_grad_scaler_enabled_for_cuda_warns_and_disables_as_pytorch_without_cuda():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = dg.amp.GradScaler()
    assert any("CUDA is not available" in str(w.message) for w in caught)
    assert not scaler.is_enabled()


def test_compile_wraps_a_module_as_pytorch_and_works_as_a_decorator():
    model = dg.nn.Linear(2, 3)
    compiled = dg.compile(model)
    assert type(compiled).__name__ == "OptimizedModule" and compiled._orig_mod is model
    assert list(compiled.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]
    assert list(compiled.parameters()) == list(model.parameters())
    assert compiled.in_features == 2  # attributes fall through to the module
    x = dg.ones(4, 2)
    assert dg.equal(compiled(x), model(x))
    wrapped = dg.compile(model, mode="max-autotune", fullgraph=True)
    assert wrapped._orig_mod is model
    assert dg.compile(model, disable=True) is model

    @dg.compile()
    def f(x):
        return x + 1

    assert f(dg.ones(1)).tolist() == [2.0]


def test_contiguous_copies_a_transposed_tensor_and_view_refuses_to_copy():
    x = dg.arange(6.0).reshape(2, 3)
    y = x.t().contiguous()
    y[0, 1] = 5.0
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # the copy is its own memory
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(-1)
    assert x.t().reshape(-1).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    assert x.contiguous() is x


def test_item_of_many_elements_raises_runtime_error_as_pytorch():
    with pytest.raises(RuntimeError, match="one-element"):
        dg.ones(2).item()
