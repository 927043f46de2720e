"""nn.utils.prune and nn.utils.fusion against PyTorch: the same seeded program in both
libraries gives the same masks, pruned weights, state-dict keys, gradients and fused outputs."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

import torch.nn.utils.prune as tprune  # noqa: E402

dprune = dg.nn.utils.prune
LIBS = [(dg, dprune), (torch, tprune)]


def _np(t):
    return t.detach().numpy()


def _compare(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
        else:
            assert x == y


def _run(program):
    return [program(m, p) for m, p in LIBS]


def test_stacked_pruning_masks_state_dict_and_gradients():
    def program(m, p):
        m.manual_seed(0)
        layer = m.nn.Linear(6, 4)
        p.l1_unstructured(layer, "weight", amount=0.3)
        p.random_unstructured(layer, "bias", amount=1)
        p.ln_structured(layer, "weight", amount=1, n=2, dim=0)
        p.random_structured(layer, "weight", amount=0.34, dim=1)
        p.l1_unstructured(layer, name="weight", amount=2)
        container = [h for h in _hooks(layer) if isinstance(h, p.BasePruningMethod)]
        out = layer(m.randn(3, 6))
        out.pow(2).sum().backward()
        state = layer.state_dict()
        result = [list(state), *[_np(v) for v in state.values()], _np(layer.weight),
                  _np(layer.weight_orig.grad), layer.weight_orig.grad is not None,
                  len(container), [len(h) if isinstance(h, p.PruningContainer) else 0
                                   for h in container], p.is_pruned(layer),
                  sorted(name for name, _ in layer.named_parameters()),
                  sorted(name for name, _ in layer.named_buffers()), _np(out)]
        p.remove(layer, "weight")
        result += [list(layer.state_dict()), _np(layer.weight), layer.weight.requires_grad,
                   "weight" in dict(layer.named_parameters()), p.is_pruned(layer)]
        p.remove(layer, "bias")
        result.append(p.is_pruned(layer))
        return result

    _compare(*_run(program))


def _hooks(module):
    if hasattr(module, "_forward_pre_hooks"):  # PyTorch
        return list(module._forward_pre_hooks.values())
    from deltagrad.nn.utils_norms import _forward_pre_hooks

    return [hook for _, hook in _forward_pre_hooks(module)]


def test_conv_structured_identity_custom_and_importance_scores():
    def program(m, p):
        m.manual_seed(1)
        conv = m.nn.Conv2d(3, 5, 3)
        p.ln_structured(conv, "weight", amount=0.4, n=1, dim=0)
        p.ln_structured(conv, "weight", amount=1, n=float("inf"), dim=1)
        p.identity(conv, "bias")
        lin = m.nn.Linear(4, 3)
        scores = m.arange(12.0).reshape(3, 4).flip(1)
        p.l1_unstructured(lin, "weight", amount=5, importance_scores=scores)
        p.custom_from_mask(lin, "bias", mask=m.tensor([1.0, 0.0, 1.0]))
        p.custom_from_mask(lin, "weight", mask=m.ones(3, 4).tril())
        y = conv(m.randn(1, 3, 6, 6))
        return [_np(conv.weight_mask), _np(conv.weight), _np(conv.bias_mask), _np(y),
                _np(lin.weight_mask), _np(lin.bias), list(lin.state_dict())]

    _compare(*_run(program))


def test_global_unstructured_prunes_across_parameters():
    def program(m, p):
        m.manual_seed(2)
        net = m.nn.Sequential(m.nn.Linear(5, 4), m.nn.ReLU(), m.nn.Linear(4, 3))
        p.l1_unstructured(net[0], "weight", amount=0.25)
        pairs = [(net[0], "weight"), (net[0], "bias"), (net[2], "weight")]
        p.global_unstructured(pairs, pruning_method=p.L1Unstructured, amount=0.5)
        scores = {(net[2], "weight"): m.ones(3, 4)}
        p.global_unstructured([(net[2], "weight"), (net[2], "bias")], p.RandomUnstructured,
                              importance_scores=scores, amount=3)
        return [_np(net[0].weight_mask), _np(net[0].bias_mask), _np(net[2].weight_mask),
                _np(net[2].bias_mask), _np(net(m.randn(2, 5))), list(net.state_dict())]

    _compare(*_run(program))


@pytest.mark.parametrize("m, p", LIBS, ids=["deltagrad", "torch"])
def test_pruning_errors(m, p):
    layer = m.nn.Linear(3, 2)
    with pytest.raises(TypeError):
        p.l1_unstructured(layer, "weight", amount="half")
    with pytest.raises(ValueError):
        p.l1_unstructured(layer, "weight", amount=1.5)
    with pytest.raises(ValueError):
        p.l1_unstructured(layer, "weight", amount=-1)
    with pytest.raises(ValueError):
        p.l1_unstructured(layer, "weight", amount=7)  # more than 6 entries
    assert "weight" in dict(layer.named_parameters())  # a failed prune leaves it as it was
    with pytest.raises(ValueError):
        p.ln_structured(layer, "bias", amount=1, n=2, dim=0)  # 1-D: not structured
    with pytest.raises(IndexError):
        p.random_structured(layer, "weight", amount=1, dim=2)
    with pytest.raises(ValueError):
        p.remove(layer, "weight")  # not pruned
    with pytest.raises(TypeError):
        p.global_unstructured([(layer, "weight")], p.RandomStructured, amount=1)
    with pytest.raises(TypeError):
        p.global_unstructured([(layer, "weight")], p.L1Unstructured, importance_scores=[],
                              amount=1)
    assert not p.is_pruned(layer)


def test_prune_method_objects_and_load_state_dict():
    def program(m, p):
        m.manual_seed(3)
        t = m.randn(4, 5)
        pruned = p.L1Unstructured(amount=0.5).prune(t)
        structured = p.LnStructured(amount=2, n=2, dim=-1).prune(t)
        masks = p.RandomStructured(amount=1, dim=0).compute_mask(t, m.ones(4, 5))
        a, b = m.nn.Linear(5, 4), m.nn.Linear(5, 4)
        p.l1_unstructured(a, "weight", amount=0.5)
        p.identity(b, "weight")
        b.load_state_dict(a.state_dict())
        x = m.randn(2, 5)
        return [_np(pruned), _np(structured), _np(masks), _np(b(x)), _np(a(x))]

    _compare(*_run(program))


def test_a_user_pruning_method_subclass():
    def program(m, p):
        class EveryOther(p.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        m.manual_seed(5)
        layer = m.nn.Linear(3, 3)
        EveryOther.apply(layer, "weight")
        p.l1_unstructured(layer, "weight", amount=1)
        EveryOther.apply(layer, "weight")  # inside the container: on the unpruned entries
        return [_np(layer.weight_mask), _np(layer(m.ones(1, 3)))]

    _compare(*_run(program))


# ------------------------------------------------------------------------------------ fusion

def test_fuse_conv_and_linear_with_batch_norm_match_pytorch():
    def program(m, p):
        m.manual_seed(4)
        conv, bn = m.nn.Conv2d(3, 4, 3, bias=False), m.nn.BatchNorm2d(4)
        tconv, tbn = m.nn.ConvTranspose2d(3, 4, 2, groups=1), m.nn.BatchNorm2d(4)
        lin, bn1 = m.nn.Linear(5, 4), m.nn.BatchNorm1d(4)
        for _ in range(2):  # running statistics away from 0 / 1
            bn(conv(m.randn(2, 3, 6, 6)))
            tbn(tconv(m.randn(2, 3, 4, 4)))
            bn1(lin(m.randn(8, 5)))
        with m.no_grad():
            bn.weight.mul_(1.5)
            bn1.bias.add_(0.25)
        for module in (conv, bn, tconv, tbn, lin, bn1):
            module.eval()
        fused = m.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
        tfused = m.nn.utils.fusion.fuse_conv_bn_eval(tconv, tbn, transpose=True)
        lfused = m.nn.utils.fuse_linear_bn_eval(lin, bn1)
        x, xt, z = m.randn(2, 3, 6, 6), m.randn(1, 3, 4, 4), m.randn(3, 5)
        np.testing.assert_allclose(_np(fused(x)), _np(bn(conv(x))), atol=1e-5)
        np.testing.assert_allclose(_np(tfused(xt)), _np(tbn(tconv(xt))), atol=1e-5)
        np.testing.assert_allclose(_np(lfused(z)), _np(bn1(lin(z))), atol=1e-5)
        w, b = m.nn.utils.fuse_conv_bn_weights(conv.weight, None, bn.running_mean,
                                               bn.running_var, bn.eps, None, None)
        lw, lb = m.nn.utils.fusion.fuse_linear_bn_weights(
            lin.weight, lin.bias, bn1.running_mean, bn1.running_var, bn1.eps, bn1.weight,
            bn1.bias)
        return [_np(fused(x)), _np(fused.weight), _np(fused.bias), _np(tfused(xt)),
                _np(lfused(z)), fused.weight.requires_grad, fused.bias.requires_grad,
                fused is not conv, conv.bias is None, _np(w), _np(b), b.requires_grad,
                type(w).__name__ == type(lw).__name__, _np(lw), _np(lb)]

    _compare(*_run(program))


@pytest.mark.parametrize("m", [dg, torch], ids=["deltagrad", "torch"])
def test_fusion_refuses_training_mode_and_mismatched_features(m):
    conv, bn = m.nn.Conv2d(1, 2, 1), m.nn.BatchNorm2d(2)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        m.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
    lin, bn3 = m.nn.Linear(2, 4).eval(), m.nn.BatchNorm1d(3).eval()
    with pytest.raises(AssertionError):
        m.nn.utils.fusion.fuse_linear_bn_eval(lin, bn3)
