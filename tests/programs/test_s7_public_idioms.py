"""Idioms of public PyTorch programs (pytorch/examples and the like) that deltagrad got wrong.

Each test is written here from the idiom alone, not from the program's code, and compares with
PyTorch on a CPU-only machine.
"""

from __future__ import annotations

import pytest

import deltagrad

torch = pytest.importorskip("torch")


def test_accelerator_device_choice_on_cpu():
    # `torch.accelerator.is_available()` picks the device in recent examples (gat, mnist, ...).
    if torch.accelerator.is_available():
        pytest.skip("this PyTorch sees an accelerator; deltagrad's answers are the CPU's")
    ours, theirs = deltagrad.accelerator, torch.accelerator
    assert ours.is_available() is theirs.is_available() is False
    assert ours.current_accelerator() is theirs.current_accelerator() is None
    assert ours.current_accelerator(check_available=True) is None
    assert ours.device_count() == theirs.device_count() == 0
    for name, args in [("current_device_index", ()), ("synchronize", ()),
                       ("set_device_index", (0,))]:
        with pytest.raises(RuntimeError):
            getattr(theirs, name)(*args)
        with pytest.raises(RuntimeError, match="none is available"):
            getattr(ours, name)(*args)
    device = ours.current_accelerator() if ours.is_available() else deltagrad.device("cpu")
    assert str(device) == "cpu"


# (class name, positional arguments before device and dtype), as PyTorch's signatures order them
POSITIONAL_DEVICE_DTYPE = [
    ("Linear", (3, 2, True)),
    ("Bilinear", (3, 4, 2, True)),
    ("Embedding", (5, 3, None, None, 2.0, False, False, None, False)),
    ("EmbeddingBag", (5, 3, None, 2.0, False, "mean", False, None, False, None)),
    ("RNNCell", (3, 4, True, "tanh")),
    ("LSTMCell", (3, 4, True)),
    ("GRUCell", (3, 4, True)),
    ("Conv1d", (2, 3, 3, 1, 0, 1, 1, True, "zeros")),
    ("MultiheadAttention", (4, 2, 0.0, True, False, False, None, None, False)),
    ("TransformerEncoderLayer", (4, 2, 8, 0.0, "relu", 1e-5, False, False, True)),
    ("TransformerDecoderLayer", (4, 2, 8, 0.0, "relu", 1e-5, False, False, True)),
]


@pytest.mark.parametrize("name, args", POSITIONAL_DEVICE_DTYPE,
                         ids=[name for name, _ in POSITIONAL_DEVICE_DTYPE])
def test_device_and_dtype_are_positional(name, args):
    # mnist_forward_forward: `class Layer(nn.Linear)` calls
    # `super().__init__(in_features, out_features, bias, device, dtype)`.
    for module in (torch, deltagrad):
        layer = getattr(module.nn, name)(*args, "cpu", module.float64)
        assert {p.dtype for p in layer.parameters()} == {module.float64}, module.__name__


def test_subclassed_linear_passes_device_and_dtype_positionally():
    def build(module):
        class Layer(module.nn.Linear):
            def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
                super().__init__(in_features, out_features, bias, device, dtype)

        module.manual_seed(0)
        return Layer(4, 3, True, None, module.float64)

    ours, theirs = build(deltagrad), build(torch)
    assert ours.weight.dtype == deltagrad.float64 and theirs.weight.dtype == torch.float64
    assert ours.weight.detach().numpy().tolist() == theirs.weight.detach().numpy().tolist()


def test_functional_data_parallel_on_a_cpu_only_machine():
    # dcgan: `nn.parallel.data_parallel(self.main, input, gpu_ids)` with gpu_ids None.
    if torch.accelerator.is_available():
        pytest.skip("this PyTorch sees an accelerator")
    for module in (torch, deltagrad):
        layer = module.nn.Linear(2, 2)
        for device_ids in (None, [0]):
            with pytest.raises(RuntimeError, match="device type could not be determined"):
                module.nn.parallel.data_parallel(layer, module.ones(1, 2), device_ids)
    assert deltagrad.nn.parallel.DataParallel is deltagrad.nn.DataParallel
    layer = deltagrad.nn.Linear(2, 3)
    assert deltagrad.nn.parallel.DataParallel(layer)(deltagrad.ones(4, 2)).shape == (4, 3)
