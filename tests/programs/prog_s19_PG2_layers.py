"""Layer-level recipes, written afresh in the style of the docs' examples (PG2, session 19):
nn.MultiheadAttention with its less common options, scaled_dot_product_attention's masks and
grouped-query attention, LSTMs with projections and given initial states, PCA / least
squares / whitening with torch.linalg (gradients included), and FFT filtering.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_mha() -> None:
    embed, heads = 8, 2
    q = torch.randn(2, 4, embed)
    kv = torch.randn(2, 5, 6)
    mha = nn.MultiheadAttention(embed, heads, batch_first=True, kdim=6, vdim=6,
                                add_bias_kv=True, add_zero_attn=True)
    key_padding = torch.tensor([[False] * 5, [False, False, False, True, True]])
    out, weights = mha(q, kv, kv, key_padding_mask=key_padding, need_weights=True,
                       average_attn_weights=False)
    put("mha.kv.out", out)
    put("mha.kv.weights", weights)
    out.pow(2).sum().backward()
    put("mha.kv.grads", [mha.q_proj_weight.grad, mha.k_proj_weight.grad, mha.bias_k.grad])
    # self-attention with a float mask and a bool mask, averaged weights, eval mode
    self_attn = nn.MultiheadAttention(embed, heads, dropout=0.0)
    x = torch.randn(4, 3, embed)  # (seq, batch, embed)
    float_mask = torch.triu(torch.full((4, 4), float("-inf")), diagonal=1)
    bool_mask = float_mask.isinf()
    out_f, w_f = self_attn(x, x, x, attn_mask=float_mask)
    out_b, w_b = self_attn(x, x, x, attn_mask=bool_mask)
    put("mha.self.float", [out_f, w_f])
    put("mha.self.bool", [out_b, w_b])
    self_attn.eval()
    with torch.no_grad():
        out_e, w_e = self_attn(x, x, x, need_weights=False, is_causal=True,
                               attn_mask=float_mask)
    put("mha.self.eval", out_e)
    put("mha.self.eval_none", w_e is None)
    # a 3-D per-head mask
    mask3 = torch.zeros(3 * heads, 4, 4)
    mask3[:, :, 0] = float("-inf")
    mask3[:, 0, 0] = 0.0
    put("mha.mask3", self_attn(x, x, x, attn_mask=mask3)[0])
    put_state("mha.state", self_attn)


def section_sdpa() -> None:
    b, h, L, S, e = 2, 4, 5, 6, 8
    query = torch.randn(b, h, L, e, requires_grad=True)
    key = torch.randn(b, h, S, e, requires_grad=True)
    value = torch.randn(b, h, S, e, requires_grad=True)
    out = F.scaled_dot_product_attention(query, key, value)
    put("sdpa.plain", out)
    causal = F.scaled_dot_product_attention(query[:, :, :, :], key[:, :, :L], value[:, :, :L],
                                            is_causal=True)
    put("sdpa.causal", causal)
    bool_mask = torch.rand(L, S) > 0.3
    bool_mask[:, 0] = True
    float_mask = torch.randn(b, 1, L, S)
    put("sdpa.bool", F.scaled_dot_product_attention(query, key, value, attn_mask=bool_mask))
    put("sdpa.float", F.scaled_dot_product_attention(query, key, value, attn_mask=float_mask,
                                                     scale=0.2))
    (out.sum() + causal.pow(2).sum()).backward()
    put("sdpa.grads", [query.grad, key.grad, value.grad])
    # grouped-query attention: 4 query heads share 2 key/value heads
    kv_heads = 2
    k2 = torch.randn(b, kv_heads, S, e)
    v2 = torch.randn(b, kv_heads, S, e)
    gqa = F.scaled_dot_product_attention(query.detach(), k2, v2, enable_gqa=True)
    manual = F.scaled_dot_product_attention(query.detach(), k2.repeat_interleave(2, dim=1),
                                            v2.repeat_interleave(2, dim=1))
    put("sdpa.gqa", gqa)
    put("sdpa.gqa_same", torch.allclose(gqa, manual, atol=1e-6))

    # the math reference from the docs
    def reference(query, key, value, attn_mask=None, is_causal=False, scale=None):
        L, S = query.size(-2), key.size(-2)
        scale_factor = 1 / query.size(-1) ** 0.5 if scale is None else scale
        attn_bias = torch.zeros(L, S, dtype=query.dtype)
        if is_causal:
            temp_mask = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
            attn_bias.masked_fill_(temp_mask.logical_not(), float("-inf"))
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                attn_bias.masked_fill_(attn_mask.logical_not(), float("-inf"))
            else:
                attn_bias = attn_mask + attn_bias
        attn_weight = query @ key.transpose(-2, -1) * scale_factor
        attn_weight += attn_bias
        attn_weight = torch.softmax(attn_weight, dim=-1)
        return attn_weight @ value

    with torch.no_grad():
        put("sdpa.ref_diff", (reference(query, key, value, bool_mask)
                              - F.scaled_dot_product_attention(query, key, value,
                                                               attn_mask=bool_mask)).abs().max())


def section_lstm_proj() -> None:
    lstm = nn.LSTM(input_size=5, hidden_size=8, num_layers=2, bidirectional=True,
                   proj_size=3, batch_first=True)
    x = torch.randn(4, 6, 5)
    h0 = torch.randn(4, 4, 3)  # (layers * directions, batch, proj)
    c0 = torch.randn(4, 4, 8)
    out, (hn, cn) = lstm(x, (h0, c0))
    put("lstmp.shapes", [list(out.shape), list(hn.shape), list(cn.shape)])
    put("lstmp.out", out)
    put("lstmp.hn", hn)
    out.pow(2).mean().backward()
    put("lstmp.grads", [lstm.weight_hr_l0.grad, lstm.weight_ih_l1_reverse.grad])
    put("lstmp.names", [n for n, _ in lstm.named_parameters()])
    # packed, unsorted lengths, through a GRU with given h0
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    gru = nn.GRU(5, 4, batch_first=True, num_layers=2, dropout=0.0)
    lengths = torch.tensor([3, 6, 2, 5])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    pout, hn2 = gru(packed, torch.zeros(2, 4, 4))
    padded, out_lengths = pad_packed_sequence(pout, batch_first=True, padding_value=-1.0)
    put("lstmp.gru_padded", padded)
    put("lstmp.gru_lengths", out_lengths)
    put("lstmp.gru_hn", hn2)
    # cells stepped by hand agree with the layer
    cell = nn.LSTMCell(5, 8)
    layer = nn.LSTM(5, 8, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").copy_(getattr(cell, name))
    h, c = torch.zeros(4, 8), torch.zeros(4, 8)
    steps = []
    for t in range(6):
        h, c = cell(x[:, t], (h, c))
        steps.append(h)
    put("lstmp.cell_vs_layer", (torch.stack(steps, 1) - layer(x)[0]).abs().max() < 1e-5)
    put_state("lstmp.lstm", lstm)


def section_linalg() -> None:
    X = torch.randn(40, 5, dtype=torch.float64) @ torch.randn(5, 5, dtype=torch.float64)
    X_centered = X - X.mean(0)
    U, S, Vh = torch.linalg.svd(X_centered, full_matrices=False)
    explained = S ** 2 / (S ** 2).sum()
    put("la.explained", explained)
    components = Vh[:2]
    signs = torch.sign(components[:, :1])  # (a sign convention, so both agree)
    put("la.pca_proj_abs", (X_centered @ (components * signs).T).abs())
    cov = X_centered.T @ X_centered / (X.shape[0] - 1)
    put("la.cov", cov)
    put("la.torch_cov", torch.cov(X.T))
    evals, evecs = torch.linalg.eigh(cov)
    put("la.evals", evals)
    whitening = evecs @ torch.diag(evals.rsqrt()) @ evecs.T
    put("la.white_cov", torch.cov((X_centered @ whitening).T))
    y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64) + 0.1
    sol = torch.linalg.lstsq(torch.cat([X, torch.ones(40, 1, dtype=torch.float64)], 1),
                             y.unsqueeze(1)).solution
    put("la.lstsq", sol)
    put("la.pinv", torch.linalg.pinv(X[:6]))
    put("la.rank", torch.linalg.matrix_rank(X_centered))
    A = torch.randn(4, 4, dtype=torch.float64)
    spd = A @ A.T + 4 * torch.eye(4, dtype=torch.float64)
    L = torch.linalg.cholesky(spd)
    put("la.chol", L)
    put("la.solve", torch.linalg.solve(spd, torch.ones(4, dtype=torch.float64)))
    put("la.slogdet", list(torch.linalg.slogdet(spd)))
    Q, R = torch.linalg.qr(A)
    put("la.qr_abs", [Q.abs(), R.abs()])
    # gradients through eigh, svdvals, det, inverse and cholesky
    M = spd.clone().requires_grad_()
    loss = (torch.linalg.eigvalsh(M).log().sum() + torch.linalg.svdvals(M).sum()
            + torch.linalg.det(M) * 1e-3 + torch.linalg.inv(M).trace()
            + torch.linalg.cholesky(M).diagonal().sum())
    loss.backward()
    put("la.grad", M.grad)
    put("la.matrix_exp", torch.linalg.matrix_exp(A * 0.1))
    put("la.norms", [torch.linalg.norm(A), torch.linalg.matrix_norm(A, ord="nuc"),
                     torch.linalg.vector_norm(A, ord=3, dim=1)])


def section_fft_filter() -> None:
    n = 64
    t = torch.arange(n) / n
    signal = torch.sin(2 * torch.pi * 3 * t) + 0.5 * torch.sin(2 * torch.pi * 20 * t)
    spectrum = torch.fft.rfft(signal)
    freqs = torch.fft.rfftfreq(n, d=1 / n)
    put("fft.freqs", freqs)
    put("fft.mag", spectrum.abs())
    lowpass = torch.where(freqs < 10, spectrum, torch.zeros_like(spectrum))
    filtered = torch.fft.irfft(lowpass, n=n)
    put("fft.filtered", filtered)
    put("fft.shift", torch.fft.fftshift(torch.fft.fftfreq(8)))
    image = torch.randn(1, 1, 16, 16)
    f2 = torch.fft.fft2(image)
    f2 = torch.fft.fftshift(f2, dim=(-2, -1))
    yy, xx = torch.meshgrid(torch.arange(16) - 8, torch.arange(16) - 8, indexing="ij")
    mask = ((yy ** 2 + xx ** 2) < 25).to(f2.dtype)
    blurred = torch.fft.ifft2(torch.fft.ifftshift(f2 * mask, dim=(-2, -1))).real
    put("fft.blurred", blurred)
    # FFT convolution equals direct convolution; gradients flow through rfft / irfft
    kernel = torch.randn(5, requires_grad=True)
    x = torch.randn(32, requires_grad=True)
    size = 32 + 5 - 1
    fft_conv = torch.fft.irfft(torch.fft.rfft(x, n=size) * torch.fft.rfft(kernel, n=size),
                               n=size)
    direct = F.conv1d(x.view(1, 1, -1), kernel.flip(0).view(1, 1, -1), padding=4).view(-1)
    put("fft.conv_same", (fft_conv - direct).abs().max() < 1e-4)
    fft_conv.pow(2).sum().backward()
    put("fft.grads", [x.grad, kernel.grad])
    put("fft.hfft", torch.fft.hfft(torch.randn(5, dtype=torch.complex64)))
    stft_in = torch.randn(2, 200)
    put("fft.stft_abs", torch.stft(stft_in, 32, hop_length=8, window=torch.hamming_window(32),
                                   return_complex=True, normalized=True, onesided=True).abs())


SECTIONS = {"mha": section_mha, "sdpa": section_sdpa, "lstmp": section_lstm_proj,
            "la": section_linalg, "fft": section_fft_filter}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
