"""Cases of the session-10 module sweep (D1), part 2: degenerate values and argument errors.

Same row format as s10_D1_table.py (see s10_D1_harness.py for the input specs and options).
"""

from __future__ import annotations

import numpy as np
from s10_D1_harness import A, B, F, V, case

TRAIN = (True,)

# Degenerate values and argument errors: zero vectors, constant rows, -inf logits, masks, ...
Z = A([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], cast=True, grad=True)
C = A([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]], cast=True, grad=True)
EDGE_VALUES = [
    case("Conv2d", 2, 2, 3, padding=(1, 2), padding_mode="reflect", inputs=[F(1, 2, 4, 5)]),
    case("Conv1d", 2, 2, 3, padding=2, padding_mode="circular", inputs=[F(1, 2, 3)]),
    case("ConvTranspose2d", 2, 2, 3, padding_mode="reflect", inputs=[F(1, 2, 3, 3)], error=True),
    case(
        "EmbeddingBag",
        5,
        3,
        mode="mean",
        inputs=[A([[0, 1], [2, 3]]), V(None), F(2, 2)],
        error=True,
    ),
    case(
        "MultiheadAttention",
        4,
        2,
        inputs=[F(3, 2, 4), F(5, 2, 4), F(5, 2, 4), V(None), V(True), F(3, 5, grad=False)],
        id="mha-float-mask",
    ),
    case(
        "MultiheadAttention",
        4,
        2,
        inputs=[F(3, 2, 4), F(5, 2, 4), F(5, 2, 4), F(2, 5, grad=False)],
        id="mha-float-kpm",
    ),
    case(
        "MultiheadAttention",
        4,
        2,
        inputs=[
            F(3, 2, 4),
            F(3, 2, 4),
            F(3, 2, 4),
            V(None),
            V(True),
            A(np.triu(np.ones((3, 3), bool), 1)),
        ],
        call_kwargs={"is_causal": True},
        id="mha-is-causal",
    ),
    case(
        "MultiheadAttention",
        4,
        2,
        inputs=[
            F(3, 2, 4),
            F(5, 2, 4),
            F(5, 2, 4),
            V(None),
            V(True),
            A(np.triu(np.ones((4, 3, 5), bool), 1)),
        ],
        id="mha-3d-mask",
    ),
    case("RNN", 3, 4, inputs=[F(5, 2, 3), F(1, 3, 4)], error=True),
    case("LSTM", 3, 4, proj_size=2, inputs=[F(5, 2, 3), (F(1, 2, 4), F(1, 2, 4))], error=True),
    case(
        "Upsample",
        scale_factor=2,
        mode="nearest",
        align_corners=True,
        inputs=[F(1, 1, 2, 2)],
        error=True,
    ),
    case("AvgPool2d", 2, padding=2, inputs=[F(1, 1, 4, 4)], error=True),
    case("Fold", (4, 4), 2, inputs=[F(1, 8, 5)], error=True),
    case("CosineSimilarity", inputs=[Z, Z]),
    case(
        "PairwiseDistance", inputs=[Z, A([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], cast=True, grad=True)]
    ),
    case("TripletMarginLoss", inputs=[Z, Z, F(2, 3)]),
    case("LayerNorm", 4, inputs=[C]),
    case("BatchNorm1d", 4, inputs=[C]),
    case("RMSNorm", 4, inputs=[A([[0.0, 0, 0, 0]], cast=True, grad=True)]),
    case("InstanceNorm1d", 2, inputs=[F(2, 2, 1)]),
    case("Softmax", 1, inputs=[A([[-np.inf, -np.inf], [0.0, -np.inf]], cast=True, grad=True)]),
    case(
        "CrossEntropyLoss",
        inputs=[A([[-np.inf, 0.0, 1.0], [0.0, 1.0, 2.0]], cast=True, grad=True), A([1, 2])],
    ),
    case("LogSoftmax", 1, inputs=[A([[-np.inf, 0.0, 1.0]], cast=True, grad=True)]),
    case(
        "Hardtanh",
        0.0,
        0.0,
        inputs=[F(2, 3)],
        error=True,
        id="Hardtanh-equal-bounds",
    ),
    case(
        "Hardtanh",
        1.0,
        0.0,
        inputs=[F(2, 3)],
        error=True,
        id="Hardtanh-reversed-bounds",
    ),
    case("Softplus", 0.5, 1.0, inputs=[F(2, 3)]),
    case("ELU", -1.0, inputs=[F(2, 3)]),
    case("LeakyReLU", -0.5, inputs=[F(2, 3)]),
    case("GLU", -2, inputs=[F(4, 3)]),
    case("Unfold", 3, inputs=[F(1, 1, 2, 2)], error=True),
    case("MaxUnpool2d", 2, inputs=[F(1, 1, 2, 2), A([[[[0, 3], [9, 16]]]])], error=True),
    case("LocalResponseNorm", 4, inputs=[F(2, 5)]),
    case("PixelShuffle", 3, inputs=[F(9, 2, 2)]),
    case("ChannelShuffle", 3, inputs=[F(1, 4, 2)], error=True, modes=(False,)),
    case("Bilinear", 3, 4, 2, inputs=[F(3), F(5, 4)], error=True),
    case(
        "AdaptiveLogSoftmaxWithLoss",
        6,
        10,
        [4, 8],
        inputs=[F(5, 6), A([0, 3, 5, 10, 7])],
        error=True,
    ),
    case("CTCLoss", inputs=[F(2, 1, 5), A([[1, 2, 2]]), A([2]), A([3])], tol=5),
    case(
        "CTCLoss",
        reduction="none",
        inputs=[F(6, 2, 5), A([1, 2, 2, 3, 4]), A([6, 5]), A([3, 2])],
        tol=5,
        id="ctc-concat",
    ),
    case("SmoothL1Loss", beta=-1.0, inputs=[F(2, 3), F(2, 3)], error=True),
    case("HuberLoss", delta=0.0, inputs=[F(2, 3), F(2, 3)]),
    case("MultiLabelSoftMarginLoss", reduction="none", inputs=[F(3), B(3)]),
    case("MarginRankingLoss", inputs=[F(3), F(3), A([1.0, -1.0, 0.0], cast=True)]),
    case("HingeEmbeddingLoss", inputs=[F(3), A([1.0, -1.0, 0.0], cast=True)]),
    case("SoftMarginLoss", reduction="sum", inputs=[F(2, 3), F(2, 3)]),
]


def _repeated(nn, cv):
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    return Stack()


EDGE_VALUES.append(case(
    "ModuleList", build=_repeated, inputs=[F(2, 4)], id="ModuleList-repeated-repr", modes=TRAIN))
