"""The program fuzzer's sequence / attention / transformer / conv module family
(``s31_SL25_seq_modules.py``: RNN / LSTM / GRU with their options and packed sequences, the
cells, MultiheadAttention with its masks and flags, transformer layers and models,
scaled_dot_product_attention, convolutions and transposed ones, pooling and unpooling,
Embedding / EmbeddingBag, Fold / Unfold, PixelShuffle, Upsample / interpolate) on a fixed
sample of programs, deltagrad against PyTorch after every line. The soak run takes 1,500 more.
Reviewed differences are the earlier sessions' lists plus the family's own ``KNOWN``, each with
an example below that must still differ (what the family found otherwise is fixed:
test_s31_SL25_fixes.py)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s30_DD1_family_tests as family_tests  # noqa: E402
import s31_SL25_seq_modules as fuzz  # noqa: E402

SAMPLE = 30  # programs of seed 0 (~2 s of CPU)
SOAK_SEEDS = range(1, 4)  # 500 programs each
# Texts that seed 7's first programs must contain between them: what the family draws.
NEEDLES = ("torch.nn.RNN(", "torch.nn.LSTM(", "torch.nn.GRU(", "proj_size=",
           "bidirectional=True", "pack_padded_sequence(", "pack_sequence(",
           "pad_packed_sequence(", "total_length=", "Cell(", "MultiheadAttention(", "kdim=",
           "add_bias_kv=True", "add_zero_attn=True", "key_padding_mask=", "attn_mask=",
           "is_causal=True", "need_weights=", "average_attn_weights=",
           "TransformerEncoderLayer(", "TransformerDecoderLayer(", "TransformerEncoder(",
           "torch.nn.Transformer(", "norm_first=True", "generate_square_subsequent_mask(",
           "scaled_dot_product_attention(", "enable_gqa=True", "Conv1d(", "Conv2d(",
           "Conv3d(", "padding='same'", "padding_mode=", "ConvTranspose", "output_padding=",
           "output_size=", "ceil_mode=True", "return_indices=True", "MaxUnpool", "LPPool",
           "torch.nn.Embedding(", "max_norm=", "sparse=True", "EmbeddingBag(",
           "per_sample_weights=", "torch.nn.Fold(", "torch.nn.Unfold(", "PixelShuffle(",
           "Upsample(", "interpolate(", "align_corners=True", "with torch.no_grad()")

_W = "((torch.arange(y.numel()) % 7 - 3) * 0.375).to(y.dtype)"
EXAMPLES = {
    fuzz._sdpa_large_finite_mask_backward: [
        "a5 = torch.tensor([[[[-1.125, -0.375], [-0.5, 0.875]]]], requires_grad=True)",
        "a6 = torch.tensor([[[[-1.5, 0.5], [0.625, 1.125]]]], requires_grad=True)",
        "a7 = torch.tensor([[[[-0.5, 1.0], [-0.25, -1.375]]]], requires_grad=True)",
        "a8 = torch.nn.functional.scaled_dot_product_attention(a5, a6, a7, attn_mask=torch.tensor("
        "[[-1000000000.0, -1000000000.0], [-0.0, -1000000000.0]], dtype=torch.float32), "
        "scale=1.0)",
        f"((lambda y: (y * {_W}.reshape(y.shape)).sum())(a8)).backward()"],
    fuzz._bag_mean_gradient_ulp: [
        "torch.manual_seed(69); a11 = torch.nn.EmbeddingBag(6, 3, mode='mean', sparse=True)",
        "a12 = a11(torch.tensor([0, 3, 3, 1, 2]), torch.tensor([0]))",
        f"((lambda y: (y * {_W}.reshape(y.shape)).sum())(a12)).backward()"],
    fuzz._projected_lstm_unreached_weight: [
        "torch.manual_seed(77); a8 = torch.nn.LSTM(3, 2, num_layers=2, proj_size=1).double()",
        "a9 = torch.tensor([[[-0.75, 0.25, 0.875]]], dtype=torch.float64, requires_grad=True)",
        "a10, (a11, a12) = a8(a9)",
        f"((lambda y: (y * {_W}.reshape(y.shape)).sum())(a12)).backward()"],
    fuzz._sparse_embedding_0d_index: [
        "torch.manual_seed(69); a14 = torch.nn.Embedding(6, 3, padding_idx=2, sparse=True)",
        "a15 = a14(torch.tensor(4))",
        f"((lambda y: (y * {_W}.reshape(y.shape)).sum())(a15)).backward()"],
    fuzz._bag_past_last_offset25: [
        "torch.manual_seed(5); a2 = torch.nn.EmbeddingBag(6, 3, mode='mean', "
        "include_last_offset=True)",
        "a3 = a2(torch.tensor([3, 0, 5, 2, 1]), torch.tensor([0, 2, 3]))"],
}


(test_fixed_sample_has_no_unreviewed_difference, test_soak, test_the_new_family_is_drawn,
 test_each_reviewed_difference_still_differs) = family_tests.standard(
    fuzz, sample=SAMPLE, soak_seeds=SOAK_SEEDS, needles=NEEDLES, drawn=90, examples=EXAMPLES)
