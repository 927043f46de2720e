"""Session 31's lead fixes, each against PyTorch 2.13."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _decoder_outputs(lib, norm_first, masked, padded, grad):
    lib.manual_seed(0)
    layer = lib.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                           norm_first=norm_first)
    layer.load_state_dict({k: lib.tensor(v) for k, v in _WEIGHTS.items()})
    rng = np.random.default_rng(3)
    tgt = lib.tensor(rng.standard_normal((4, 2, 8)).astype(np.float32))
    memory = lib.tensor(rng.standard_normal((5, 2, 8)).astype(np.float32))
    tgt_mask = memory_mask = None
    if masked == "tgt":  # (a mask that is not causal: only the hint says causal)
        tgt_mask = lib.zeros(4, 4, dtype=lib.bool)
    elif masked == "memory":
        memory_mask = lib.zeros(4, 5, dtype=lib.bool)
    padding = lib.tensor([[False] * 4, [False, False, False, True]]) if padded else None
    layer.eval()
    with lib.set_grad_enabled(grad):
        out = layer(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                    tgt_key_padding_mask=padding, tgt_is_causal=masked == "tgt",
                    memory_is_causal=masked == "memory")
    return out.detach().numpy()


_WEIGHTS = {k: v.numpy().copy() for k, v in torch.nn.TransformerDecoderLayer(
    8, 2, dim_feedforward=16, dropout=0.0).state_dict().items()}


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("padded", [False, True], ids=["no-padding", "padding"])
@pytest.mark.parametrize("masked", ["tgt", "memory"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_decoder_layer_takes_the_causal_hint_as_pytorch(norm_first, masked, padded, grad):
    # A decoder layer under no_grad given tgt_is_causal=True with a mask that is not causal:
    # PyTorch's attention masks the keys after each query (the hint wins where no padding mask
    # is given); deltagrad's no_grad plan read the mask instead (silent; SL25 fixed the
    # encoder's, s31).
    ours = _decoder_outputs(dg, norm_first, masked, padded, grad)
    theirs = _decoder_outputs(torch, norm_first, masked, padded, grad)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
