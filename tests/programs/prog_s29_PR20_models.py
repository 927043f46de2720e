"""What PyTorch's intermediate tutorials use beyond what the earlier program families already
run (PR20, session 29; cut down in session 30): the tutorials themselves (the character-level
RNN classifier, seq2seq with Bahdanau attention, the transformer language model, DCGAN, the
spatial transformer, neural style transfer, FGSM, REINFORCE) run in prog_s19_PG2_text.py,
prog_s9_P1_graph_seq.py, prog_s17_PG_vision.py, prog_s10_P2_examples.py
and prog_s9_P1_examples.py. Left here: a pre-norm nn.TransformerEncoder with a causal mask and
a key padding mask, a whole nn.Transformer, and affine_grid / grid_sample's gradient with each
mode, padding and align_corners. Run by prog_s29_PR20_all.py.
"""

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn


def section_transformer_lm() -> None:
    # (the tutorial's language model itself runs in prog_s19_PG2_text.py)
    torch.manual_seed(0)
    with printed("t20_tlm.log"):
        print(nn.Transformer.generate_square_subsequent_mask(4))
        layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True, norm_first=True)
        enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        x = torch.randn(2, 5, 8)
        pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
        causal = nn.Transformer.generate_square_subsequent_mask(5)
        out = enc(x, mask=causal, src_key_padding_mask=pad)
        print(out.shape, out[1, 0])
        full = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                              dim_feedforward=16, dropout=0.0)
        print(full(torch.randn(4, 2, 8), torch.randn(3, 2, 8)).shape)
        put("t20_tlm.out", out)


def section_stn() -> None:
    # (the spatial transformer tutorial itself runs in prog_s17_PG_vision.py; here the sampling
    # grid's gradient and the other modes and paddings)
    with printed("t20_stn.log"):
        theta = torch.tensor([[[0.8, -0.2, 0.1], [0.2, 0.9, -0.1]]], requires_grad=True)
        img = torch.arange(16.).view(1, 1, 4, 4)
        for align in (False, True):
            grid = F.affine_grid(theta, (1, 1, 3, 3), align_corners=align)
            out = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=align)
            print(grid[0, 0], out)
        out.sum().backward()
        print(theta.grad)
        for mode, padding, align in (("nearest", "border", True), ("bicubic", "reflection", False)):
            print(F.grid_sample(img, grid.detach(), mode=mode, padding_mode=padding,
                                align_corners=align))
        put("t20_stn.grad", theta.grad)


SECTIONS = {"t20_tlm": section_transformer_lm, "t20_stn": section_stn}
