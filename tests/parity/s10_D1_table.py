"""Cases of the session-10 module sweep (D1), one list per module family.

Each row is ``case(ClassName, *constructor args, inputs=(...), **constructor kwargs)``; see
s10_D1_harness.py for the input specs (F float, I integer, B 0/1, A fixed array, V plain value,
W constructor tensor) and the harness options (modes, dtypes, tol, lazy, error, build).
"""

from __future__ import annotations

import numpy as np
from s10_D1_harness import A, B, F, I, V, W, case

X = F(2, 3, 4)
X1 = F(5)
EVAL = (False,)
TRAIN = (True,)

ACTIVATIONS = [
    case("ELU", inputs=[X]), case("ELU", 0.5, True, inputs=[X], id="ELU-inplace-alpha",
                                  modes=EVAL),
    case("CELU", 1.5, inputs=[X]), case("SELU", inputs=[X]), case("GELU", inputs=[X]),
    case("GELU", approximate="tanh", inputs=[X], id="GELU-tanh"),
    case("GLU", inputs=[F(2, 4, 3)]), case("GLU", dim=1, inputs=[F(2, 4, 3)], id="GLU-dim1"),
    case("GLU", inputs=[F(2, 3)], id="GLU-odd-error", error=True),
    case("Hardshrink", 0.3, inputs=[X]), case("Hardsigmoid", inputs=[X]),
    case("Hardswish", inputs=[X]), case("Hardtanh", -0.5, 0.7, inputs=[X]),
    case("LeakyReLU", 0.2, inputs=[X]), case("LogSigmoid", inputs=[X]),
    case("LogSoftmax", dim=1, inputs=[X]), case("LogSoftmax", inputs=[X1], id="LogSoftmax-none"),
    case("Mish", inputs=[X]), case("PReLU", inputs=[X]),
    case("PReLU", 3, 0.1, inputs=[X], id="PReLU-3"),
    case("PReLU", 3, inputs=[F(2, 4)], id="PReLU-channels-error", error=True),
    case("RReLU", inputs=[X]), case("RReLU", 0.1, 0.2, inputs=[X], id="RReLU-bounds"),
    case("ReLU", inputs=[X]), case("ReLU6", inputs=[F(2, 3, 4, low=-8, high=8)]),
    case("SiLU", inputs=[X]), case("Sigmoid", inputs=[X]), case("Tanh", inputs=[X]),
    case("Softmax", dim=-1, inputs=[X]), case("Softmax", inputs=[F(2, 3, 4, 5)],
                                              id="Softmax-implicit-4d"),
    case("Softmax2d", inputs=[F(2, 3, 4, 5)]), case("Softmax2d", inputs=[F(3, 4, 5)],
                                                    id="Softmax2d-3d"),
    case("Softmax2d", inputs=[F(3, 4)], id="Softmax2d-error", error=True),
    case("Softmin", dim=0, inputs=[X]), case("Softplus", 2.0, 1.0, inputs=[X]),
    case("Softshrink", 0.4, inputs=[X]), case("Softsign", inputs=[X]),
    case("Tanhshrink", inputs=[X]), case("Threshold", 0.1, -2.0, inputs=[X]),
    case("Identity", 3, unused=1, inputs=[X]),
    case("MultiheadAttention", 4, 2, inputs=[F(3, 2, 4), F(5, 2, 4), F(5, 2, 4)]),
    case("MultiheadAttention", 4, 2, batch_first=True, bias=False, inputs=[
        F(2, 3, 4), F(2, 5, 4), F(2, 5, 4)], id="MHA-batch-first-nobias"),
    case("MultiheadAttention", 4, 1, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True,
         inputs=[F(3, 4), F(5, 3), F(5, 5)], id="MHA-kdim-vdim-unbatched", modes=EVAL),
    case("MultiheadAttention", 4, 2, inputs=[F(3, 2, 4), F(5, 2, 4), F(5, 2, 4),
                                             B(2, 5, boolean=True)], id="MHA-key-padding",
         modes=EVAL, call_kwargs={}),
]

P = F(3, 4, low=0.05, high=0.95)
T = B(3, 4)
LOSSES = [
    case("L1Loss", inputs=[X, F(2, 3, 4, grad=False)]),
    case("L1Loss", reduction="sum", inputs=[X, F(2, 3, 4)], id="L1Loss-sum-target-grad"),
    case("L1Loss", inputs=[F(2, 3), F(3)], id="L1Loss-broadcast"),
    case("MSELoss", reduction="none", inputs=[X, F(2, 3, 4)]),
    case("MSELoss", inputs=[X, F(2, 3, 4)], id="MSELoss-mean"),
    case("BCELoss", inputs=[P, T]), case("BCELoss", weight=W(np.arange(1.0, 5.0)),
                                         reduction="sum", inputs=[P, T], id="BCELoss-weight"),
    case("BCELoss", inputs=[P, F(3, 3)], id="BCELoss-shape-error", error=True),
    case("BCEWithLogitsLoss", inputs=[F(3, 4), T]),
    case("BCEWithLogitsLoss", pos_weight=W([1.0, 2.0, 0.5, 3.0]), weight=W([0.5, 1, 1, 2]),
         reduction="none", inputs=[F(3, 4), P], id="BCEWithLogits-pos-weight"),
    case("CrossEntropyLoss", inputs=[F(5, 4), I(4, 5)]),
    case("LinearCrossEntropyLoss", 4, 5, inputs=[F(3, 4), I(5, 3)]),
    case("LinearCrossEntropyLoss", 4, 5, bias=True, reduction="sum", label_smoothing=0.1,
         inputs=[F(3, 4), I(5, 3)], id="LinearCE-bias-smoothing"),
    case("CrossEntropyLoss", weight=W([1.0, 2.0, 0.5, 1.5]), ignore_index=1,
         label_smoothing=0.1, inputs=[F(5, 4), I(4, 5)], id="CE-weight-ignore-smooth"),
    case("CrossEntropyLoss", reduction="none", label_smoothing=0.2,
         inputs=[F(2, 4, 3, 2), I(4, 2, 3, 2)], id="CE-spatial-none"),
    case("CrossEntropyLoss", inputs=[F(4), A(2)], id="CE-unbatched"),
    case("CrossEntropyLoss", label_smoothing=0.1, weight=W([1.0, 2.0, 0.5, 1.5]),
         inputs=[F(5, 4), F(5, 4, low=0, high=1, grad=False)], id="CE-probs-target"),
    case("CrossEntropyLoss", inputs=[F(5, 4), I(4, 3)], id="CE-batch-error", error=True),
    case("NLLLoss", inputs=[F(5, 4), I(4, 5)]),
    case("NLLLoss", weight=W([1.0, 2.0, 0.5, 1.5]), ignore_index=-100, reduction="sum",
         inputs=[F(5, 4), A([0, 1, -100, 3, 2])], id="NLLLoss-weight-ignore"),
    case("NLLLoss", inputs=[F(2, 4, 3), I(4, 2, 3)], id="NLLLoss-3d"),
    case("NLLLoss", inputs=[F(5, 4), A([0, 1, 4, 3, 2])], id="NLLLoss-target-error",
         error=True),
    case("KLDivLoss", reduction="batchmean", inputs=[F(3, 4), P]),
    case("KLDivLoss", reduction="sum", log_target=True, inputs=[F(3, 4), F(3, 4)],
         id="KLDiv-log-target"),
    case("HuberLoss", delta=0.5, inputs=[X, F(2, 3, 4)]),
    case("SmoothL1Loss", beta=0.5, reduction="none", inputs=[X, F(2, 3, 4)]),
    case("SmoothL1Loss", beta=0.0, inputs=[X, F(2, 3, 4)], id="SmoothL1-beta0"),
    case("SoftMarginLoss", inputs=[F(3, 4), A(np.sign(np.arange(12.0).reshape(3, 4) - 5.5),
                                                cast=True)]),
    case("PoissonNLLLoss", inputs=[F(3, 4), F(3, 4, low=0, high=3)]),
    case("PoissonNLLLoss", log_input=False, full=True, inputs=[P, F(3, 4, low=0, high=3)],
         id="PoissonNLL-full"),
    case("GaussianNLLLoss", inputs=[F(3, 4), F(3, 4), F(3, 4, low=0.1, high=2)]),
    case("GaussianNLLLoss", full=True, eps=1e-3, reduction="sum",
         inputs=[F(3, 4), F(3, 4), F(3, 1, low=0.1, high=2)], id="GaussianNLL-full-bcast"),
    case("GaussianNLLLoss", inputs=[F(3, 4), F(3, 4), F(3, 4, low=-1, high=-0.1)],
         id="GaussianNLL-negvar-error", error=True),
    case("HingeEmbeddingLoss", margin=0.5, inputs=[F(3, 4), A(np.where(np.arange(12) % 3,
                                                                         1, -1).reshape(3, 4),
                                                                cast=True)]),
    case("MarginRankingLoss", margin=0.2, inputs=[F(5), F(5), A([1, -1, 1, 1, -1], cast=True)]),
    case("CosineEmbeddingLoss", margin=0.1, inputs=[F(3, 4), F(3, 4), A([1, -1, 1],
                                                                           cast=True)]),
    case("CosineEmbeddingLoss", inputs=[F(4), F(4), A(-1, cast=True)],
         id="CosineEmbedding-unbatched"),
    case("MultiMarginLoss", inputs=[F(3, 4), I(4, 3)]),
    case("MultiMarginLoss", p=2, margin=0.5, weight=W([1.0, 2.0, 0.5, 1.5]), reduction="none",
         inputs=[F(3, 4), I(4, 3)], id="MultiMargin-p2-weight"),
    case("MultiLabelMarginLoss", inputs=[F(3, 4), A([[3, 0, -1, 1], [0, 1, 2, 3],
                                                     [1, -1, 0, 0]])]),
    case("MultiLabelSoftMarginLoss", weight=W([1.0, 2.0, 0.5, 1.5]), inputs=[F(3, 4), T]),
    case("TripletMarginLoss", margin=0.5, p=1.0, swap=True, inputs=[F(3, 4), F(3, 4),
                                                                    F(3, 4)]),
    case("TripletMarginLoss", inputs=[F(3, 4), F(3, 4), F(3, 4)], id="Triplet-default"),
    case("TripletMarginWithDistanceLoss", margin=0.3, swap=True,
         inputs=[F(3, 4), F(3, 4), F(3, 4)]),
    case("CTCLoss", inputs=[F(6, 2, 5, grad=True), A([[1, 2, 2], [3, 4, 1]]), A([6, 5]),
                            A([3, 2])], tol=5),
    case("CTCLoss", blank=4, reduction="sum", zero_infinity=True,
         inputs=[F(3, 2, 5), A([[1, 2, 2], [3, 0, 1]]), A([3, 3]), A([3, 2])],
         id="CTC-zero-infinity", tol=5),
    case("AdaptiveLogSoftmaxWithLoss", 6, 10, [4, 8], div_value=2.0,
         inputs=[F(5, 6), A([0, 3, 5, 9, 7])]),
    case("AdaptiveLogSoftmaxWithLoss", 6, 10, [4], head_bias=True,
         inputs=[F(6), A(7)], id="AdaptiveLogSoftmax-unbatched"),
]

CONV = [
    case("Conv1d", 2, 4, 3, inputs=[F(2, 2, 7)]),
    case("Conv1d", 4, 6, 3, stride=2, padding=2, dilation=2, groups=2, bias=False,
         padding_mode="reflect", inputs=[F(2, 4, 9)], id="Conv1d-reflect-groups"),
    case("Conv1d", 2, 4, 3, padding="same", padding_mode="circular", inputs=[F(2, 6)],
         id="Conv1d-same-circular-unbatched"),
    case("Conv1d", 2, 4, 3, inputs=[F(2, 3, 7)], id="Conv1d-channels-error", error=True),
    case("Conv1d", 2, 4, 3, inputs=[F(1, 2, 2, 7)], id="Conv1d-rank-error", error=True),
    case("Conv2d", 2, 3, 3, inputs=[F(2, 2, 5, 6)]),
    case("Conv2d", 4, 4, (2, 3), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=4,
         padding_mode="replicate", inputs=[F(2, 4, 6, 5)], id="Conv2d-depthwise-replicate"),
    case("Conv2d", 2, 3, 3, padding="same", dilation=2, padding_mode="zeros", bias=False,
         inputs=[F(2, 5, 5)], id="Conv2d-same-unbatched"),
    case("Conv2d", 2, 3, 3, padding="valid", padding_mode="circular", inputs=[F(1, 2, 5, 5)],
         id="Conv2d-valid-circular"),
    case("Conv2d", 2, 3, 3, inputs=[F(2, 3, 5, 5)], id="Conv2d-channels-error", error=True),
    case("Conv2d", 2, 3, 3, inputs=[F(5, 5)], id="Conv2d-rank-error", error=True),
    case("Conv3d", 2, 2, 2, inputs=[F(1, 2, 3, 4, 3)]),
    case("Conv3d", 2, 4, (1, 2, 2), stride=2, padding=1, groups=2, bias=False,
         padding_mode="circular", inputs=[F(2, 3, 4, 4)], id="Conv3d-unbatched-circular"),
    case("ConvTranspose1d", 2, 3, 3, inputs=[F(2, 2, 5)]),
    case("ConvTranspose1d", 4, 2, 3, stride=2, padding=1, output_padding=1, groups=2,
         dilation=2, bias=False, inputs=[F(4, 5)], id="ConvT1d-full-unbatched"),
    case("ConvTranspose2d", 2, 3, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
         inputs=[F(2, 2, 4, 3)]),
    case("ConvTranspose2d", 4, 4, 3, groups=2, dilation=2, inputs=[F(1, 4, 3, 3)],
         id="ConvT2d-groups-dilation"),
    case("ConvTranspose2d", 2, 3, 3, stride=2, inputs=[F(1, 2, 3, 3)],
         call_kwargs={"output_size": [8, 8]}, id="ConvT2d-output-size"),
    case("ConvTranspose2d", 2, 3, 3, inputs=[F(1, 3, 3, 3)], id="ConvT2d-channels-error",
         error=True),
    case("ConvTranspose3d", 2, 2, 2, stride=2, inputs=[F(1, 2, 2, 3, 2)]),
    case("ConvTranspose3d", 2, 4, 2, groups=2, bias=False, output_padding=1, stride=2,
         inputs=[F(2, 2, 2, 2)], id="ConvT3d-unbatched"),
    case("LazyConv1d", 3, 2, lazy=True, inputs=[F(2, 2, 6)], modes=(True,)),
    case("LazyConv2d", 3, 2, stride=2, bias=False, lazy=True, inputs=[F(1, 2, 5, 5)],
         modes=(True,)),
    case("LazyConv3d", 2, 2, lazy=True, inputs=[F(1, 2, 3, 3, 3)], modes=(True,)),
    case("LazyConvTranspose1d", 3, 2, lazy=True, inputs=[F(2, 2, 6)], modes=(True,)),
    case("LazyConvTranspose2d", 3, 2, lazy=True, inputs=[F(1, 2, 4, 4)], modes=(True,)),
    case("LazyConvTranspose3d", 2, 2, lazy=True, inputs=[F(1, 2, 2, 2, 2)], modes=(True,)),
    case("LazyLinear", 3, lazy=True, inputs=[F(2, 5)], modes=(True,)),
    case("Linear", 4, 3, inputs=[F(2, 5, 4)]),
    case("Linear", 4, 3, bias=False, inputs=[F(4)], id="Linear-nobias-unbatched"),
    case("Linear", 4, 3, inputs=[F(2, 5)], id="Linear-features-error", error=True),
    case("Bilinear", 3, 4, 2, inputs=[F(5, 3), F(5, 4)]),
    case("Bilinear", 3, 4, 2, bias=False, inputs=[F(3), F(4)], id="Bilinear-unbatched"),
    case("Bilinear", 3, 4, 2, inputs=[F(5, 3), F(4, 4)], id="Bilinear-batch-error",
         error=True),
    case("Embedding", 6, 3, inputs=[I(6, 2, 4)]),
    case("Embedding", 6, 3, padding_idx=2, max_norm=1.0, norm_type=1.5, inputs=[
        A([[0, 2, 5], [2, 2, 1]])], id="Embedding-padding-maxnorm"),
    case("Embedding", 6, 3, padding_idx=-1, inputs=[A([[0, 5, 5], [1, 1, 1]])],
         id="Embedding-padding-negative"),
    case("Embedding", 6, 3, inputs=[A([0, 6])], id="Embedding-index-error", error=True),
    case("EmbeddingBag", 6, 3, inputs=[A([0, 2, 4, 5, 1, 1]), A([0, 2, 2])]),
    case("EmbeddingBag", 6, 3, mode="max", padding_idx=1, inputs=[A([[0, 1, 4], [1, 1, 3]])],
         id="EmbeddingBag-max-2d"),
    case("EmbeddingBag", 6, 3, mode="sum", include_last_offset=True,
         inputs=[A([0, 2, 4, 5, 1, 1]), A([0, 2, 5, 6]), F(6)], id="EmbeddingBag-psw"),
]

POOLING = [
    case("MaxPool1d", 3, inputs=[F(2, 3, 7)]),
    case("MaxPool1d", 3, stride=2, padding=1, dilation=2, return_indices=True, ceil_mode=True,
         inputs=[F(3, 8)], id="MaxPool1d-full-unbatched"),
    case("MaxPool2d", 2, inputs=[F(2, 3, 5, 6)]),
    case("MaxPool2d", (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True,
         return_indices=True, inputs=[F(1, 2, 7, 6)], id="MaxPool2d-full"),
    case("MaxPool2d", 2, inputs=[F(2, 3, 5, 6, 1)], id="MaxPool2d-rank-error", error=True),
    case("MaxPool2d", 3, padding=2, inputs=[F(1, 1, 5, 5)], id="MaxPool2d-pad-error",
         error=True),
    case("MaxPool3d", 2, stride=1, return_indices=True, inputs=[F(1, 2, 3, 3, 3)]),
    case("MaxPool3d", 2, ceil_mode=True, padding=1, inputs=[F(2, 3, 4, 3)],
         id="MaxPool3d-ceil-unbatched"),
    case("AvgPool1d", 3, stride=2, padding=1, count_include_pad=False, ceil_mode=True,
         inputs=[F(2, 3, 8)]),
    case("AvgPool1d", 2, inputs=[F(3, 5)], id="AvgPool1d-unbatched"),
    case("AvgPool2d", 3, stride=2, padding=1, inputs=[F(2, 2, 6, 5)]),
    case("AvgPool2d", (2, 3), padding=1, count_include_pad=False, ceil_mode=True,
         divisor_override=2, inputs=[F(2, 5, 7)], id="AvgPool2d-full-unbatched"),
    case("AvgPool2d", 2, stride=2, ceil_mode=True, count_include_pad=False,
         inputs=[F(1, 1, 5, 5)], id="AvgPool2d-ceil-nocip"),
    case("AvgPool3d", 2, stride=1, padding=1, count_include_pad=False,
         inputs=[F(1, 2, 3, 3, 2)]),
    case("AvgPool3d", 2, ceil_mode=True, divisor_override=3, inputs=[F(2, 3, 3, 3)],
         id="AvgPool3d-divisor-unbatched"),
    case("LPPool1d", 2, 3, stride=2, inputs=[F(2, 3, 7, low=0.1, high=2)]),
    case("LPPool1d", 1.5, 2, ceil_mode=True, inputs=[F(3, 7, low=0.1, high=2)],
         id="LPPool1d-ceil-unbatched"),
    case("LPPool2d", 2, (2, 3), inputs=[F(1, 2, 4, 6, low=0.1, high=2)]),
    case("LPPool2d", 3, 2, stride=1, ceil_mode=True, inputs=[F(2, 3, 3, low=0.1, high=2)],
         id="LPPool2d-p3"),
    case("LPPool3d", 2, 2, inputs=[F(1, 2, 4, 4, 4, low=0.1, high=2)]),
    case("AdaptiveAvgPool1d", 3, inputs=[F(2, 3, 7)]),
    case("AdaptiveAvgPool2d", (3, None), inputs=[F(2, 3, 7, 5)]),
    case("AdaptiveAvgPool2d", 4, inputs=[F(3, 5, 6)], id="AdaptiveAvgPool2d-unbatched"),
    case("AdaptiveAvgPool3d", (2, 3, 1), inputs=[F(1, 2, 5, 4, 3)]),
    case("AdaptiveMaxPool1d", 3, return_indices=True, inputs=[F(2, 3, 7)]),
    case("AdaptiveMaxPool2d", (3, 2), inputs=[F(2, 3, 7, 5)]),
    case("AdaptiveMaxPool2d", 2, return_indices=True, inputs=[F(3, 5, 6)],
         id="AdaptiveMaxPool2d-indices-unbatched"),
    case("AdaptiveMaxPool3d", 2, return_indices=True, inputs=[F(1, 2, 5, 4, 3)]),
    case("MaxUnpool1d", 2, inputs=[F(1, 2, 3), A([[[0, 3, 5], [1, 2, 4]]])]),
    case("MaxUnpool2d", 2, stride=2, inputs=[F(1, 1, 2, 2), A([[[[0, 3], [9, 15]]]])]),
    case("MaxUnpool2d", 2, inputs=[F(1, 1, 2, 2), A([[[[0, 3], [9, 15]]]]), V([5, 5])],
         id="MaxUnpool2d-output-size"),
    case("MaxUnpool3d", 2, inputs=[F(1, 1, 1, 1, 2), A([[[[[0, 7]]]]])]),
    case("Fold", (4, 5), 2, inputs=[F(2, 12, 12)]),
    case("Fold", (5, 5), (2, 3), dilation=1, padding=1, stride=2, inputs=[F(6, 9)],
         id="Fold-unbatched"),
    case("Unfold", 2, inputs=[F(2, 3, 4, 5)]),
    case("Unfold", (2, 3), dilation=(1, 2), padding=1, stride=(2, 1), inputs=[F(2, 4, 5)],
         id="Unfold-full-unbatched"),
    case("PixelShuffle", 2, inputs=[F(2, 8, 2, 3)]),
    case("PixelShuffle", 2, inputs=[F(2, 6, 2, 3)], id="PixelShuffle-error", error=True),
    case("PixelUnshuffle", 2, inputs=[F(2, 4, 3)]),
    case("ChannelShuffle", 2, inputs=[F(2, 4, 3, 2)], modes=(False,)),
    case("Upsample", scale_factor=2, inputs=[F(1, 2, 3, 4)]),
    case("Upsample", size=(5, 7), mode="bilinear", align_corners=True, inputs=[F(1, 2, 3, 4)],
         id="Upsample-bilinear-ac"),
    case("Upsample", scale_factor=1.7, mode="bicubic", inputs=[F(1, 1, 3, 4)],
         id="Upsample-bicubic"),
    case("Upsample", scale_factor=2.5, mode="linear", inputs=[F(1, 2, 4)], id="Upsample-linear"),
    case("Upsample", size=(3, 4, 5), mode="trilinear", inputs=[F(1, 1, 2, 2, 3)],
         id="Upsample-trilinear"),
    case("Upsample", scale_factor=1.5, mode="nearest-exact", inputs=[F(1, 2, 5, 4)],
         id="Upsample-nearest-exact"),
    case("Upsample", scale_factor=2, mode="bilinear", inputs=[F(2, 3, 4)],
         id="Upsample-bilinear-3d-error", error=True),
    case("UpsamplingNearest2d", scale_factor=2, inputs=[F(1, 2, 3, 3)]),
    case("UpsamplingBilinear2d", size=(4, 5), inputs=[F(1, 2, 3, 3)]),
]

PADDING = [
    case("ConstantPad1d", 2, 1.5, inputs=[F(2, 3, 4)]),
    case("ConstantPad2d", (1, 0, 2, 1), -1.0, inputs=[F(3, 4, 2)]),
    case("ConstantPad3d", 1, 0.0, inputs=[F(1, 2, 2, 2, 2)]),
    case("ZeroPad1d", (2, 0), inputs=[F(3, 4)]),
    case("ZeroPad2d", (1, 2, -1, 1), inputs=[F(1, 2, 4, 3)]),
    case("ZeroPad3d", (1, 0, 0, 1, 1, 0), inputs=[F(2, 2, 2, 2)]),
    case("ReflectionPad1d", (2, 1), inputs=[F(2, 3, 4)]),
    case("ReflectionPad1d", 4, inputs=[F(2, 3, 4)], id="ReflectionPad1d-error", error=True),
    case("ReflectionPad2d", (1, 2, 2, 0), inputs=[F(3, 4, 5)]),
    case("ReflectionPad3d", 1, inputs=[F(1, 2, 2, 3, 3)]),
    case("ReplicationPad1d", (3, 1), inputs=[F(2, 3, 4)]),
    case("ReplicationPad2d", (1, 2, 0, 3), inputs=[F(1, 3, 4, 5)]),
    case("ReplicationPad3d", (1, 0, 2, 1, 0, 1), inputs=[F(2, 2, 3, 3)]),
    case("CircularPad1d", (2, 1), inputs=[F(2, 3, 4)]),
    case("CircularPad2d", (1, 2, 2, 0), inputs=[F(3, 4, 5)]),
    case("CircularPad3d", 1, inputs=[F(1, 2, 2, 3, 3)]),
    case("ConstantPad2d", 1, 0.5, inputs=[F(4)], id="ConstantPad2d-1d"),
]

NORM = [
    case("BatchNorm1d", 3, inputs=[F(4, 3)]),
    case("BatchNorm1d", 3, momentum=None, inputs=[F(4, 3, 5)], id="BatchNorm1d-cma-3d"),
    case("BatchNorm1d", 3, affine=False, track_running_stats=False, inputs=[F(4, 3)],
         id="BatchNorm1d-noaffine-nostats"),
    case("BatchNorm1d", 3, inputs=[F(4, 2)], id="BatchNorm1d-channels-error", error=True),
    case("BatchNorm1d", 3, inputs=[F(1, 3)], id="BatchNorm1d-one-value", modes=(True,),
         error=True),
    case("BatchNorm2d", 3, eps=1e-3, momentum=0.3, inputs=[F(2, 3, 4, 2)]),
    case("BatchNorm2d", 3, affine=False, inputs=[F(2, 3, 2, 2)], id="BatchNorm2d-noaffine"),
    case("BatchNorm2d", 3, inputs=[F(3, 2, 2)], id="BatchNorm2d-rank-error", error=True),
    case("BatchNorm3d", 2, track_running_stats=False, inputs=[F(2, 2, 2, 2, 3)]),
    case("LazyBatchNorm1d", lazy=True, inputs=[F(4, 3)]),
    case("LazyBatchNorm2d", affine=False, lazy=True, inputs=[F(2, 3, 2, 2)]),
    case("LazyBatchNorm3d", lazy=True, inputs=[F(2, 2, 2, 2, 3)]),
    case("SyncBatchNorm", 3, inputs=[F(2, 3, 4)], modes=(False,)),
    case("SyncBatchNorm", 3, inputs=[F(2, 3, 4)], modes=(True,), id="SyncBatchNorm-train"),
    case("InstanceNorm1d", 3, inputs=[F(2, 3, 5)]),
    case("InstanceNorm1d", 3, affine=True, track_running_stats=True, momentum=0.2,
         inputs=[F(2, 3, 5)], id="InstanceNorm1d-affine-stats"),
    case("InstanceNorm1d", 3, inputs=[F(3, 5)], id="InstanceNorm1d-unbatched"),
    case("InstanceNorm2d", 2, affine=True, inputs=[F(2, 2, 3, 4)]),
    case("InstanceNorm2d", 2, track_running_stats=True, inputs=[F(2, 3, 4)],
         id="InstanceNorm2d-stats-unbatched"),
    case("InstanceNorm3d", 2, inputs=[F(1, 2, 2, 3, 2)]),
    case("LazyInstanceNorm1d", affine=True, lazy=True, inputs=[F(2, 3, 5)]),
    case("LazyInstanceNorm2d", lazy=True, inputs=[F(2, 3, 4, 2)]),
    case("LazyInstanceNorm3d", lazy=True, inputs=[F(1, 2, 2, 3, 2)]),
    case("LayerNorm", 4, inputs=[F(2, 3, 4)]),
    case("LayerNorm", (3, 4), eps=1e-3, elementwise_affine=True, bias=False,
         inputs=[F(2, 3, 4)], id="LayerNorm-2d-nobias"),
    case("LayerNorm", 4, elementwise_affine=False, inputs=[F(4)], id="LayerNorm-noaffine"),
    case("LayerNorm", 5, inputs=[F(2, 4)], id="LayerNorm-shape-error", error=True),
    case("GroupNorm", 2, 4, inputs=[F(2, 4, 3)]),
    case("GroupNorm", 1, 4, affine=False, eps=1e-3, inputs=[F(2, 4, 2, 2)],
         id="GroupNorm-noaffine"),
    case("GroupNorm", 2, 4, inputs=[F(2, 6, 3)], id="GroupNorm-channels-error", error=True),
    case("RMSNorm", 4, inputs=[F(2, 3, 4)]),
    case("RMSNorm", (3, 4), eps=1e-4, elementwise_affine=False, inputs=[F(2, 3, 4)],
         id="RMSNorm-2d-noaffine"),
    case("LocalResponseNorm", 3, inputs=[F(2, 5, 4)]),
    case("LocalResponseNorm", 2, alpha=1e-2, beta=0.5, k=2.0, inputs=[F(1, 4, 3, 3)],
         id="LRN-4d"),
    case("CosineSimilarity", inputs=[F(3, 4), F(3, 4)]),
    case("CosineSimilarity", dim=0, eps=1e-3, inputs=[F(3, 4), F(1, 4)],
         id="CosineSimilarity-broadcast"),
    case("PairwiseDistance", inputs=[F(3, 4), F(3, 4)]),
    case("PairwiseDistance", p=1.0, eps=1e-3, keepdim=True, inputs=[F(3, 4), F(4)],
         id="PairwiseDistance-p1-keepdim"),
    case("PairwiseDistance", p=float("inf"), inputs=[F(4), F(4)], id="PairwiseDistance-inf"),
]

RNN = [
    case("RNN", 3, 4, inputs=[F(5, 2, 3)]),
    case("RNN", 3, 4, num_layers=2, nonlinearity="relu", bias=False, batch_first=True,
         inputs=[F(2, 5, 3), F(2, 2, 4)], id="RNN-relu-2layer-bf-h0"),
    case("RNN", 3, 4, bidirectional=True, num_layers=2, inputs=[F(5, 3)],
         id="RNN-bidir-unbatched"),
    case("RNN", 3, 4, inputs=[F(5, 2, 2)], id="RNN-input-size-error", error=True),
    case("LSTM", 3, 4, inputs=[F(5, 2, 3)]),
    case("LSTM", 3, 4, num_layers=2, proj_size=2, batch_first=True,
         inputs=[F(2, 5, 3), (F(2, 2, 2), F(2, 2, 4))], id="LSTM-proj-2layer-bf-h0"),
    case("LSTM", 3, 4, bidirectional=True, proj_size=3, bias=False, inputs=[F(4, 3)],
         id="LSTM-bidir-proj-unbatched"),
    case("LSTM", 3, 4, num_layers=2, dropout=0.0, bidirectional=True, inputs=[F(4, 2, 3)],
         id="LSTM-bidir-2layer", dtypes=(np.float64,)),
    case("GRU", 3, 4, inputs=[F(5, 2, 3)]),
    case("GRU", 3, 4, num_layers=2, bidirectional=True, batch_first=True, bias=False,
         inputs=[F(2, 4, 3), F(4, 2, 4)], id="GRU-bidir-2layer-bf-h0"),
    case("GRU", 3, 4, inputs=[F(5, 3), F(1, 4)], id="GRU-unbatched-h0"),
    case("GRU", 3, 4, inputs=[F(5, 2, 3), F(1, 3, 4)], id="GRU-h0-error", error=True),
    case("RNNCell", 3, 4, inputs=[F(2, 3)]),
    case("RNNCell", 3, 4, nonlinearity="relu", bias=False, inputs=[F(3), F(4)],
         id="RNNCell-relu-unbatched-h"),
    case("LSTMCell", 3, 4, inputs=[F(2, 3)]),
    case("LSTMCell", 3, 4, inputs=[F(2, 3), (F(2, 4), F(2, 4))], id="LSTMCell-hc"),
    case("GRUCell", 3, 4, inputs=[F(2, 3), F(2, 4)]),
    case("GRUCell", 3, 4, bias=False, inputs=[F(3)], id="GRUCell-unbatched"),
    case("GRUCell", 3, 4, inputs=[F(2, 5)], id="GRUCell-size-error", error=True),
    case("RNNBase", "LSTM", 3, 4, inputs=[F(5, 2, 3)], id="RNNBase-no-forward", error=True),
]



def _seq(nn, cv):
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2), nn.Tanh()))


class _ListUser:
    """Builds a Module that runs a ModuleList / ModuleDict / ParameterList / ParameterDict."""

    def __init__(self, kind):
        self.kind = kind

    def __call__(self, nn, cv):
        kind = self.kind
        lib = nn.Linear.__module__.split(".")[0]

        class Holder(nn.Module):
            def __init__(self):
                super().__init__()
                if kind == "ModuleList":
                    self.items = nn.ModuleList([nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2)])
                elif kind == "ModuleDict":
                    self.items = nn.ModuleDict({"b": nn.Linear(4, 3), "a": nn.Sigmoid()})
                elif kind == "ParameterList":
                    self.items = nn.ParameterList([nn.Parameter(_ones(lib, 4)),
                                                   nn.Parameter(_ones(lib, 4) * 2)])
                else:
                    self.items = nn.ParameterDict({"z": nn.Parameter(_ones(lib, 4)),
                                                   "y": nn.Parameter(_ones(lib, 4) * 3)})

            def forward(self, x):
                if kind in ("ModuleList", "ModuleDict"):
                    layers = self.items if kind == "ModuleList" else self.items.values()
                    for layer in layers:
                        x = layer(x)
                    return x
                params = self.items if kind == "ParameterList" else self.items.values()
                for p in params:
                    x = x * p + 1
                return x

        return Holder()


def _ones(lib, n):
    import importlib

    return importlib.import_module(lib).ones(n)


def _data_parallel(nn, cv):
    return nn.DataParallel(nn.Linear(4, 3))


def _encoder(nn, cv):
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def _decoder(nn, cv):
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0, norm_first=True,
                                       batch_first=True)
    return nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(4))


MISC = [
    case("Dropout", 0.3, inputs=[X]), case("Dropout", 0.5, True, inputs=[X], modes=EVAL,
                                           id="Dropout-inplace-eval"),
    case("Dropout1d", 0.5, inputs=[F(2, 4, 5)]), case("Dropout1d", inputs=[F(4, 5)],
                                                      id="Dropout1d-unbatched"),
    case("Dropout2d", 0.4, inputs=[F(2, 4, 3, 3)]),
    case("Dropout3d", 0.4, inputs=[F(2, 4, 2, 3, 3)]),
    case("AlphaDropout", 0.3, inputs=[F(3, 5)]),
    case("FeatureAlphaDropout", 0.3, inputs=[F(2, 4, 3, 3)]),
    case("Dropout", 1.5, inputs=[X], id="Dropout-p-error", error=True, modes=(True,)),
    case("Flatten", inputs=[F(2, 3, 4)]),
    case("Flatten", 0, -2, inputs=[F(2, 3, 4)], id="Flatten-0-neg2"),
    case("Unflatten", 1, (2, 3), inputs=[F(2, 6, 2)]),
    case("Unflatten", -1, (2, -1), inputs=[F(3, 4)], id="Unflatten-neg"),
    case("Identity", inputs=[F(3)], id="Identity-plain"),
    case("Sequential", build=_seq, inputs=[F(5, 4)]),
    case("ModuleList", build=_ListUser("ModuleList"), inputs=[F(5, 4)]),
    case("ModuleDict", build=_ListUser("ModuleDict"), inputs=[F(5, 4)]),
    case("ParameterList", build=_ListUser("ParameterList"), inputs=[F(5, 4)]),
    case("ParameterDict", build=_ListUser("ParameterDict"), inputs=[F(5, 4)]),
    case("DataParallel", build=_data_parallel, inputs=[F(5, 4)]),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.0, inputs=[F(3, 2, 4)]),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
         norm_first=True, batch_first=True, bias=False, inputs=[F(2, 3, 4)],
         id="TEL-gelu-normfirst-bf-nobias"),
    case("TransformerDecoderLayer", 4, 2, dim_feedforward=6, dropout=0.0,
         inputs=[F(3, 2, 4), F(5, 2, 4)]),
    # skip_repr: PyTorch's ModuleList repr groups repeated layers ("(0-1): 2 x ..."), ours
    # lists each (reported to the lead; nn/module.py is at its line limit)
    # (train mode only: with dropout 0 and inputs that require grad, eval runs the same path;
    # the no-grad inference paths are rows of EXTRA)
    case("TransformerEncoder", build=_encoder, inputs=[F(3, 2, 4)], skip_repr=True,
         modes=TRAIN),
    case("TransformerDecoder", build=_decoder, inputs=[F(2, 3, 4), F(2, 5, 4)],
         skip_repr=True, modes=TRAIN),
    case("Transformer", 4, 2, 1, 1, 6, dropout=0.0, inputs=[F(3, 2, 4), F(5, 2, 4)],
         modes=TRAIN),
    case("Transformer", 4, 2, 1, 2, 6, dropout=0.0, batch_first=True, norm_first=True,
         inputs=[F(2, 3, 4), F(2, 5, 4)], id="Transformer-bf-normfirst", skip_repr=True,
         modes=TRAIN),
]


def _mask(n, m):
    return A(np.triu(np.ones((n, m), dtype=bool), 1))


def _padding(b, n):
    mask = np.zeros((b, n), dtype=bool)
    mask[0, -2:] = True
    return A(mask)


EXTRA = [
    case("Module", inputs=[X], error=True, id="Module-no-forward"),
    case("RNNCellBase", 3, 4, True, 1, inputs=[F(2, 3)], error=True,
         id="RNNCellBase-no-forward"),
    case("Softmax", inputs=[F(2, 3, 4)], id="Softmax-implicit-3d"),
    case("LogSoftmax", inputs=[F(3, 4)], id="LogSoftmax-implicit-2d"),
    case("Softmin", inputs=[F(4)], id="Softmin-implicit-1d"),
    case("Linear", 4, 3, inputs=[F(0, 4)], id="Linear-empty-batch"),
    case("Conv2d", 2, 3, 3, inputs=[F(0, 2, 5, 5)], id="Conv2d-empty-batch"),
    case("Conv1d", 2, 3, 4, padding="same", dilation=1, padding_mode="reflect",
         inputs=[F(1, 2, 7)], id="Conv1d-same-even-kernel"),
    case("Conv1d", 2, 3, 3, stride=2, padding="same", inputs=[F(1, 2, 7)],
         id="Conv1d-same-stride-error", error=True),
    case("Bilinear", 3, 4, 2, inputs=[F(2, 5, 3), F(2, 5, 4)], id="Bilinear-3d"),
    case("LSTM", 3, 4, num_layers=2, dropout=0.5, inputs=[F(4, 2, 3)], id="LSTM-dropout",
         modes=(True,)),
    case("GRU", 3, 4, num_layers=2, dropout=0.5, batch_first=True, inputs=[F(2, 4, 3)],
         id="GRU-dropout", modes=(True,)),
    case("MultiheadAttention", 4, 2, dropout=0.0, inputs=[F(3, 2, 4), F(3, 2, 4), F(3, 2, 4)],
         call_kwargs={"average_attn_weights": False}, id="MHA-per-head-weights"),
    case("MultiheadAttention", 4, 2, inputs=[F(3, 2, 4), F(5, 2, 4), F(5, 2, 4), V(None),
                                             V(False), _mask(3, 5)],
         id="MHA-attn-mask-noweights"),
    case("MultiheadAttention", 4, 2, dropout=0.5, inputs=[F(3, 2, 4), F(3, 2, 4), F(3, 2, 4)],
         id="MHA-dropout", modes=(True,)),
    case("MultiheadAttention", 4, 2, batch_first=True, inputs=[
        F(2, 3, 4, grad=False), F(2, 3, 4, grad=False), F(2, 3, 4, grad=False),
        _padding(2, 3)], id="MHA-fast-path-no-grad", no_grad=True, modes=EVAL),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
         inputs=[F(2, 5, 4, grad=False), V(None), _padding(2, 5)], no_grad=True, modes=EVAL,
         id="TEL-fast-path-padding"),
    case("TransformerEncoder", build=lambda nn, cv: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(4, 2, 6, 0.0, batch_first=True), 2),
         inputs=[F(2, 5, 4, grad=False), V(None), _padding(2, 5)], no_grad=True, modes=EVAL,
         skip_repr=True, id="TransformerEncoder-nested-padding"),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.3, inputs=[F(3, 2, 4)],
         modes=(True,), id="TEL-dropout"),
    case("TransformerDecoderLayer", 4, 2, dim_feedforward=6, dropout=0.0,
         inputs=[F(3, 2, 4), F(5, 2, 4), _mask(3, 3)], id="TDL-tgt-mask"),
    case("Upsample", scale_factor=1.6, mode="bilinear", recompute_scale_factor=True,
         inputs=[F(1, 1, 4, 5)], id="Upsample-recompute"),
    case("Upsample", scale_factor=(2, 1.5), mode="nearest", inputs=[F(1, 1, 3, 4)],
         id="Upsample-nearest-tuple"),
    case("AvgPool2d", 3, stride=2, padding=1, ceil_mode=True, inputs=[F(1, 1, 6, 6)],
         id="AvgPool2d-ceil-pad-window"),
    case("MaxPool1d", 2, stride=1, ceil_mode=True, return_indices=True, inputs=[
        A([[[1.0, 1.0, 3.0, 3.0, 2.0]]], cast=True, grad=True)], id="MaxPool1d-ties"),
    case("EmbeddingBag", 6, 3, mode="mean", padding_idx=0, inputs=[A([[0, 2, 0], [0, 0, 0]])],
         id="EmbeddingBag-mean-all-padding"),
    case("BatchNorm1d", 3, momentum=None, inputs=[F(4, 3)], modes=EVAL,
         id="BatchNorm1d-cma-eval"),
    case("BatchNorm2d", 2, inputs=[F(0, 2, 2, 2)], modes=(True,), id="BatchNorm2d-empty",
         dtypes=(np.float32,)),
    case("PReLU", 2, inputs=[F(2, 2, 3, 3)], id="PReLU-4d"),
    case("Hardtanh", inplace=True, inputs=[F(3, 4, grad=False)], id="Hardtanh-inplace"),
    case("Threshold", 0.1, 20.0, True, inputs=[F(3, 4, grad=False)], id="Threshold-inplace"),
    case("Softplus", 1.0, 0.5, inputs=[F(3, 4)], id="Softplus-low-threshold"),
    case("CrossEntropyLoss", ignore_index=2, reduction="mean", inputs=[
        F(3, 4), A([2, 2, 2])], id="CE-all-ignored"),
    case("NLLLoss", reduction="mean", weight=W([0.0, 1.0, 1.0]), inputs=[F(2, 3), A([0, 0])],
         id="NLLLoss-zero-weight-mean"),
    case("SmoothL1Loss", inputs=[F(3, 4), F(3, 1)], id="SmoothL1-broadcast-warning"),
    case("CrossEntropyLoss", weight=W([0.0, 1.0, 1.0]), ignore_index=1, inputs=[
        F(3, 3), A([0, 1, 0])], id="CE-zero-weight-mean"),
    case("CrossEntropyLoss", weight=W([0.0, 1.0, 1.0]), label_smoothing=0.2, inputs=[
        F(2, 3, 2), A([[0, 0], [0, 0]])], id="CE-zero-weight-smoothing-3d"),
    case("NLLLoss", weight=W([0.0, 1.0, 1.0]), ignore_index=2, inputs=[F(3, 3), A([0, 2, 0])],
         id="NLLLoss-zero-weight-ignored"),
    case("Upsample", scale_factor=0, size=3, inputs=[F(1, 1, 2)], id="Upsample-zero-factor"),
    case("Upsample", scale_factor=[2, 2], inputs=[F(1, 1, 2, 2)], id="Upsample-list-error",
         error=True),
    case("Flatten", inputs=[F(3)], id="Flatten-1d"),
    case("Flatten", inputs=[F(0, 2, 3)], id="Flatten-empty"),
    case("Flatten", 0, 1, inputs=[F(2, 0, 3)], id="Flatten-empty-inner"),
    case("GroupNorm", 2, 4, inputs=[F(0, 4)], id="GroupNorm-empty"),
    case("MSELoss", inputs=[F(0, 4), F(0, 4)], id="MSELoss-empty"),
    case("CrossEntropyLoss", inputs=[F(0, 4), I(4, 0)], id="CE-empty"),
    case("LSTM", 3, 4, inputs=[F(0, 2, 3)], id="LSTM-empty-sequence"),
    case("BCEWithLogitsLoss", inputs=[A([[100.0, -100.0, 30.0, -30.0]], cast=True, grad=True),
                                      A([[0.0, 1.0, 0.5, 1.0]], cast=True)],
         id="BCEWithLogits-large"),
    case("BCELoss", inputs=[A([[0.0, 1.0, 1e-30, 1.0]], cast=True, grad=True),
                            A([[0.0, 1.0, 0.5, 0.0]], cast=True)], id="BCELoss-clamped-log"),
    case("Unflatten", 1, (2, 2), inputs=[F(2, 6)], id="Unflatten-error", error=True),
]


class _Packed:
    """A Module running an RNN over a packed batch (lengths 4, 2, 1) and padding it back."""

    def __init__(self, kind, enforce_sorted=True, **kwargs):
        self.kind, self.kwargs, self.enforce_sorted = kind, kwargs, enforce_sorted

    def __call__(self, nn, cv):
        kind, kwargs, enforce_sorted = self.kind, self.kwargs, self.enforce_sorted
        utils = nn.utils.rnn

        class PackedRun(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(nn, kind)(3, 4, **kwargs)

            def forward(self, x):
                lengths = [4, 2, 1] if enforce_sorted else [2, 4, 1]
                packed = utils.pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
                out, state = self.rnn(packed)
                padded, sizes = utils.pad_packed_sequence(out, total_length=5)
                return padded, state

        return PackedRun()


def _causal(nn, cv):
    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Transformer(4, 2, 1, 1, 6, dropout=0.0)

        def forward(self, src, tgt):
            mask = self.model.generate_square_subsequent_mask(tgt.shape[0])
            return self.model(src, tgt, tgt_mask=mask, tgt_is_causal=True)

    return Causal()


MORE = [
    case("LSTM", build=_Packed("LSTM"), inputs=[F(5, 3, 3)], id="LSTM-packed"),
    case("GRU", build=_Packed("GRU", enforce_sorted=False, bidirectional=True, num_layers=2),
         inputs=[F(5, 3, 3)], id="GRU-packed-unsorted-bidir"),
    case("RNN", build=_Packed("RNN", nonlinearity="relu"), inputs=[F(5, 3, 3)],
         id="RNN-packed-relu"),
    case("Transformer", build=_causal, inputs=[F(3, 2, 4), F(4, 2, 4)],
         id="Transformer-causal-mask", modes=TRAIN),
    case("AdaptiveAvgPool1d", 5, inputs=[F(2, 3, 3)], id="AdaptiveAvgPool1d-upsize"),
    case("AdaptiveMaxPool1d", 5, inputs=[F(2, 3, 3)], id="AdaptiveMaxPool1d-upsize"),
    case("GroupNorm", 2, 4, inputs=[F(3, 4)], id="GroupNorm-2d"),
    case("MultiLabelMarginLoss", inputs=[F(4), A([2, 1, -1, 0])], id="MultiLabelMargin-1d"),
    case("InstanceNorm1d", 3, affine=True, inputs=[F(2, 4, 5)],
         id="InstanceNorm1d-channels-error", error=True),
    case("Conv3d", 2, 2, 2, inputs=[F(2, 3, 3, 3, 3)], id="Conv3d-channels-error", error=True),
    case("LayerNorm", 4, inputs=[F(2, 3, 4)], dtypes=(np.float64,), modes=(True,),
         build=lambda nn, cv: nn.LayerNorm(4).double(), id="LayerNorm-double-built"),
    case("Embedding", 6, 3, inputs=[A([[0, 5], [1, 1]], cast=False)], dtypes=(np.float64,),
         build=lambda nn, cv: nn.Embedding.from_pretrained(cv(W(np.arange(18.0).reshape(6, 3))),
                                                          freeze=False, padding_idx=1),
         id="Embedding-from-pretrained"),
    case("KLDivLoss", inputs=[F(3, 4), P], id="KLDiv-mean-default"),
    case("TripletMarginWithDistanceLoss", build=lambda nn, cv: nn.TripletMarginWithDistanceLoss(
        distance_function=nn.CosineSimilarity(), margin=0.5), inputs=[F(3, 4), F(3, 4),
                                                                      F(3, 4)],
         id="TripletDistance-cosine-module"),
]

KINKS = A([[-3.0, 3.0, 0.0, 1.0, -1.0, 6.0, 0.5, -0.5, 20.0, -20.0, 0.3, -0.3, 2.0, 1e-8]],
          cast=True, grad=True)
NAN = A([[np.nan, 1.0, -np.inf, np.inf, 0.0, -2.0]], cast=True, grad=True)
NAN_POOL = A([[[np.nan, 1.0, 2.0, 5.0, -np.inf, 3.0]]], cast=True, grad=True)
_ACTS = [("ELU", ()), ("CELU", ()), ("SELU", ()), ("Hardshrink", (0.5,)),
         ("Hardsigmoid", ()), ("Hardswish", ()), ("Hardtanh", ()), ("LeakyReLU", ()),
         ("LogSigmoid", ()), ("Mish", ()), ("ReLU6", ()), ("SiLU", ()), ("Sigmoid", ()),
         ("Tanh", ()), ("Softplus", (1, 20)), ("Softshrink", (0.5,)), ("Softsign", ()),
         ("Tanhshrink", ()), ("Threshold", (1.0, -1.0)), ("PReLU", ()), ("RReLU", ()),
         ("Softmax", (1,)), ("LogSoftmax", (1,)), ("Softmin", (1,))]
# Activations at their kinks and boundaries, and at NaN / ±inf (eval: RReLU's fixed slope).
SPECIAL_VALUES = [case(name, *args, inputs=[values], modes=EVAL, id=f"{name}-{label}")
                  for name, args in _ACTS for values, label in ((KINKS, "kinks"),
                                                                (NAN, "nan-inf"))] + [
    case("GELU", inputs=[KINKS], modes=EVAL, id="GELU-kinks"),
    case("GELU", inputs=[NAN], modes=EVAL, id="GELU-nan-inf", dtypes=(np.float64,)),
    case("GELU", inputs=[NAN], modes=EVAL, id="GELU-nan-inf-float32", dtypes=(np.float32,),
         xfail="PyTorch's vectorized float32 GELU gives nan at +inf (its scalar path: inf)"),
    case("ReLU", inputs=[KINKS], modes=EVAL, id="ReLU-kinks"),
    case("ReLU", inputs=[NAN], modes=EVAL, id="ReLU-nan-inf"),
] + [case(name, *args, inputs=[NAN_POOL], modes=EVAL, id=f"{name}-nan-inf")
     for name, args in (("MaxPool1d", (2,)), ("AvgPool1d", (2,)), ("AdaptiveMaxPool1d", (2,)),
                        ("AdaptiveAvgPool1d", (2,)), ("LPPool1d", (2, 2)))]
