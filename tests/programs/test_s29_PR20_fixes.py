"""Regression tests for what PR20's (session 29) tutorial programs found, each run on deltagrad
and on PyTorch and compared:

- error messages begin with PyTorch's words (the autograd tutorial prints them): a second
  backward through freed buffers, an implicit gradient of a non-scalar output, and
  ``torch.load(weights_only=True)`` of a whole model;
- scaled_dot_product_attention's output is laid out in memory as its query is, as PyTorch's
  CPU flash kernel allocates it, so the SDPA tutorial's ``y.transpose(1, 2).view(N, L, H * E)``
  works (it raised "view size is not compatible");
- an autograd.Function's graph node is a class of ``<lib>.autograd.function`` and prints with
  that path (``<torch.autograd.function.MyCubeBackward object at ...>``), built-in nodes
  without one;
- a module's hook registry prints as the running Python's OrderedDict;
- torch.fx's generated code names ``torch.<fn>`` under the alias (it named ``deltagrad.mul``);
- under the alias, optimizers, schedulers, data classes, pruning methods, parametrizations,
  GradScaler and PackedSequence name PyTorch's module paths (objects without a repr printed
  ``<deltagrad.nn.utils_prune.RandomUnstructured object ...>``), and optimizers saved whole
  or loaded from older checkpoints still take PyTorch's __setstate__ defaults.
"""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pytest
from alias_runs import run_each

import deltagrad

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))


def _message(library, code: str) -> str:
    with pytest.raises(RuntimeError) as info:  # (deltagrad's: RuntimeError subclasses)
        exec(code, {"torch": library, "io": io})  # noqa: S102 - the snippets below
    return str(info.value)


MESSAGES = {
    "second_backward": "a = torch.ones(2, requires_grad=True)\nq = (a * a).sum()\nq.backward()\n"
                       "q.backward()",
    "implicit_grad": "a = torch.ones(2, requires_grad=True)\n(a * a).backward()",
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_message_begins_with_pytorchs(name):
    real, ours = _message(torch, MESSAGES[name]), _message(deltagrad, MESSAGES[name])
    assert ours.startswith(real), (ours, real)


def test_weights_only_refusal_begins_with_pytorchs():
    import pickle

    messages = []
    for library in (torch, deltagrad):
        buffer = io.BytesIO()
        library.save(library.nn.Linear(2, 2), buffer)
        buffer.seek(0)
        with pytest.raises(pickle.UnpicklingError) as info:
            library.load(buffer, weights_only=True)
        messages.append(str(info.value))
    real, ours = messages
    prefix = ("Weights only load failed. This file can still be loaded, to do so you have two "
              "options")
    assert real.startswith(prefix) and ours.startswith(prefix), (ours, real)
    assert "add_safe_globals([torch.nn.modules.linear.Linear])" in real
    assert "add_safe_globals([deltagrad.nn.layers.Linear])" in ours


def _query(library, layout: str):
    """A [2, 2, 5, 4] query (and key, value) of the given memory layout, the same values on
    both libraries."""
    base = np.random.default_rng(0).standard_normal((2, 5, 24)).astype(np.float32)
    if layout == "standard":
        q = library.tensor(base[:, :, :8].reshape(2, 5, 2, 4).transpose(0, 2, 1, 3).copy())
    elif layout == "heads_inner":  # x.view(N, L, H, E).transpose(1, 2)
        q = library.tensor(base[:, :, :8].copy()).view(2, 5, 2, 4).transpose(1, 2)
    else:  # a chunk of a packed projection: a view with gaps
        q = library.tensor(base).chunk(3, -1)[0].view(2, 5, 2, 4).transpose(1, 2)
    return q.detach().requires_grad_()


@pytest.mark.parametrize("kwargs", ["none", "causal", "mask", "dropout", "value_dim"])
@pytest.mark.parametrize("layout", ["standard", "heads_inner", "chunk"])
def test_sdpa_output_is_laid_out_as_the_query(layout, kwargs):
    results = {}
    for library in (torch, deltagrad):
        q = _query(library, layout)
        k = v = q
        options = {"causal": {"is_causal": True},
                   "mask": {"attn_mask": library.tensor(np.tril(np.ones((5, 5), bool)))},
                   "dropout": {"dropout_p": 0.5}}.get(kwargs, {})
        if kwargs == "value_dim":
            v = library.ones(2, 2, 5, 3)
        if kwargs == "dropout":
            library.manual_seed(0)
        out = library.nn.functional.scaled_dot_product_attention(q, k, v, **options)
        try:
            flat = out.transpose(1, 2).view(2, 5, -1)
        except RuntimeError:
            flat = None
        out.pow(2).sum().backward()
        results[library] = (out, flat, q.grad)
    (real, real_flat, real_grad), (ours, our_flat, our_grad) = results[torch], results[deltagrad]
    assert ours.stride() == real.stride()
    assert (our_flat is None) == (real_flat is None)
    if kwargs != "dropout":  # (dropout masks: each library's own stream)
        np.testing.assert_allclose(ours.detach().numpy(), real.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(our_grad.numpy(), real_grad.numpy(), rtol=1e-4, atol=1e-5)


def _node_reprs(library) -> list[str]:
    class MyCube(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            return g

    x = library.ones(2, requires_grad=True)
    y = MyCube.apply(x)
    shown = [repr(y.grad_fn), repr(type(y.grad_fn)), repr((y * 2).grad_fn),
             repr(type((y * 2).grad_fn)), repr(x.sum().grad_fn)]
    return [re.sub(r" at 0x[0-9a-f]+", "", text).replace("deltagrad.", "torch.")
            for text in shown]


def test_function_nodes_print_with_their_module():
    assert _node_reprs(deltagrad) == _node_reprs(torch)
    assert _node_reprs(torch)[0] == "<torch.autograd.function.MyCubeBackward object>"


def test_hook_registry_prints_as_an_ordered_dict():
    texts = []
    for library in (torch, deltagrad):
        module = library.nn.Linear(1, 1)

        def hook(*args):
            return None

        module.register_forward_pre_hook(hook)
        texts.append(re.sub(r"\d+", "N", re.sub(r"0x[0-9a-f]+", "ADDR",
                                                 repr(module._forward_pre_hooks))))
    assert texts[0] == texts[1], texts


def test_fx_code_names_torch_under_the_alias(monkeypatch):
    from deltagrad import torch_alias

    def make(library):
        class M(library.nn.Module):
            def forward(self, x):
                return library.nn.functional.relu(library.add(x, 1)).to(library.float64)

        return M()

    real = torch.fx.symbolic_trace(make(torch))
    plain = deltagrad.fx.symbolic_trace(make(deltagrad))
    assert "deltagrad.add(x, 1)" in plain.code  # (not aliased: deltagrad's own names)
    monkeypatch.setattr(torch_alias, "installed", lambda: True)
    prefix = deltagrad._engine.dtypes.PREFIX
    prefix[0] = "torch"  # (dtypes print as torch.float64, as install() makes them)
    try:
        aliased = deltagrad.fx.symbolic_trace(make(deltagrad))
        code, graph = aliased.code, str(aliased.graph)
    finally:
        prefix[0] = "deltagrad"
    assert code == real.code
    assert graph == str(real.graph)
    assert aliased(deltagrad.tensor([-2.0, 3.0])).tolist() == [0.0, 4.0]


def test_alias_class_paths_and_optimizer_loading(tmp_path):
    program = os.path.join(HERE, "prog_s29_PR20_alias.py")
    done = run_each({"torch": [program], "deltagrad": [program]}, tmp_path)
    (real_rc, real), (our_rc, ours) = done["torch"], done["deltagrad"]
    assert real_rc == 0 and our_rc == 0, (real[-2000:], ours[-2000:])
    assert ours == real
    assert "<class 'torch.optim.adamw.AdamW'> True" in ours
    assert "torch.nn.utils.prune L1Unstructured" in ours
