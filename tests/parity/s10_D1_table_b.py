"""Rows of the session-10 module sweep for the fixes of helper D1b: empty batches of the
normalization layers, PyTorch's Transformer inference paths (nested tensors, the fused encoder
layer's NaN for a fully padded sequence), and ModuleList's grouped repr."""

import numpy as np
from s10_D1_harness import A, F, I, V, W, case

EVAL, TRAIN = (False,), (True,)


def _pad(rows):
    return A(np.array(rows, dtype=bool))


LEFT = _pad([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]])
NOT_LEFT = _pad([[0, 1, 0, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 1, 1]])
NAN_IMAGE = A(np.array([[[[1.0, np.nan, 1.0, 0.0, 2.0], [2.0, 2.0, np.nan, 1.0, 2.0],
                             [0.0, 2.0, 2.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]]]]),
              cast=True, grad=True)
ALL_PADDED = _pad([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1]])


def _encoder(norm=False, **kwargs):
    def build(nn, cv):
        options = {"dim_feedforward": 6, "dropout": 0.0, "batch_first": True, **kwargs}
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, **options), 2,
                                     norm=nn.LayerNorm(4) if norm else None)
    return build


def _ones(a):
    return A(np.asarray(a, dtype=np.float64), cast=True, grad=True)


def _stack_of(nn, cv):
    return nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2),
                          nn.Sequential(nn.ReLU(), nn.ReLU()), nn.Sequential(nn.ReLU(),
                                                                             nn.ReLU())])


class _Apply:
    """A Module wrapping a ModuleList (so that the harness can call it)."""

    def __call__(self, nn, cv):
        class Wrap(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = _stack_of(nn, cv)

            def forward(self, x):
                for block in self.blocks:
                    x = block(x)
                return x
        return Wrap()


ROWS = [
    # empty batches in training: an empty result, num_batches_tracked counted, stats kept
    case("BatchNorm1d", 3, inputs=[F(0, 3)], id="BatchNorm1d-empty"),
    case("BatchNorm1d", 3, inputs=[F(0, 3, 4)], id="BatchNorm1d-empty-3d"),
    case("BatchNorm2d", 2, momentum=None, inputs=[F(0, 2, 2, 2)], id="BatchNorm2d-empty-cma"),
    case("BatchNorm2d", 2, inputs=[F(2, 2, 0, 2)], id="BatchNorm2d-empty-spatial"),
    case("BatchNorm3d", 2, inputs=[F(0, 2, 1, 2, 2)], id="BatchNorm3d-empty"),
    case("BatchNorm1d", 3, inputs=[F(1, 3)], id="BatchNorm1d-one-value", error=True,
         modes=TRAIN),
    case("GroupNorm", 2, 4, inputs=[F(0, 4, 3)], id="GroupNorm-empty-3d"),
    case("InstanceNorm1d", 2, inputs=[F(0, 2, 3)], id="InstanceNorm1d-empty"),
    case("InstanceNorm1d", 2, inputs=[F(2, 2, 0)], id="InstanceNorm1d-empty-spatial"),
    case("InstanceNorm1d", 2, affine=True, track_running_stats=True, inputs=[F(2, 2, 0)],
         id="InstanceNorm1d-empty-spatial-stats"),
    case("InstanceNorm1d", 2, track_running_stats=True, inputs=[F(0, 2, 3)],
         id="InstanceNorm1d-empty-batch-stats"),
    case("InstanceNorm2d", 2, affine=True, inputs=[F(0, 2, 3, 3)],
         id="InstanceNorm2d-empty-affine-error", error=True),
    case("LayerNorm", 4, inputs=[F(0, 4)], id="LayerNorm-empty"),
    case("RMSNorm", 4, inputs=[F(0, 4)], id="RMSNorm-empty"),
    # TransformerEncoder: the nested-tensor path and each condition that turns it off
    case("TransformerEncoder", build=_encoder(norm=True), inputs=[F(3, 5, 4, grad=False),
                                                                 V(None), LEFT],
         no_grad=True, modes=EVAL, skip_repr=True, id="TE-nested-norm"),
    case("TransformerEncoder", build=_encoder(), inputs=[F(3, 5, 4, grad=False), V(None),
                                                        NOT_LEFT],
         no_grad=True, modes=EVAL, skip_repr=True, id="TE-not-left-aligned"),
    case("TransformerEncoder", build=_encoder(), inputs=[F(3, 5, 4, grad=False), V(None),
                                                        ALL_PADDED],
         no_grad=True, modes=EVAL, skip_repr=True, id="TE-all-padded"),
    case("TransformerEncoder", build=_encoder(norm_first=True), inputs=[
        F(3, 5, 4, grad=False), V(None), LEFT], no_grad=True, modes=EVAL, skip_repr=True,
         id="TE-norm-first-no-nested"),
    case("TransformerEncoder", build=_encoder(activation="gelu"), inputs=[
        F(3, 5, 4, grad=False), V(None), LEFT], no_grad=True, modes=EVAL, skip_repr=True,
         id="TE-gelu-nested"),
    case("TransformerEncoder", build=_encoder(), inputs=[F(3, 5, 4), V(None), LEFT],
         skip_repr=True, id="TE-grad-no-nested"),
    case("TransformerEncoder", build=_encoder(layer_norm_eps=1e-6), inputs=[
        F(3, 5, 4, grad=False), V(None), LEFT], no_grad=True, modes=EVAL, skip_repr=True,
         id="TE-eps-nested"),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
         inputs=[F(3, 5, 4, grad=False), V(None), ALL_PADDED], no_grad=True, modes=EVAL,
         id="TEL-fast-path-all-padded"),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
         norm_first=True, inputs=[F(3, 5, 4, grad=False), V(None), ALL_PADDED],
         no_grad=True, modes=EVAL, id="TEL-norm-first-fast-path-all-padded"),
    case("TransformerEncoderLayer", 4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
         inputs=[F(3, 5, 4), V(None), ALL_PADDED], modes=EVAL, id="TEL-all-padded-grad"),
    case("ModuleList", build=_Apply(), inputs=[F(3, 2)], id="ModuleList-grouped-repr",
         modes=TRAIN),
    case("Hardtanh", -2.0, -2.0 + 1e-6, inputs=[F(2, 3)], id="Hardtanh-narrow"),
    case("ReLU", inputs=[_ones([[np.nan] * 20 + [-1.0, 0.0, 2.0]])], modes=EVAL,
         id="ReLU-nan-vectorized"),
]

_SAMPLES = W(np.array([[[0.3, 0.7], [0.95, 0.01]], [[0.5, 0.5], [0.0, 0.999]]]))
_SAMPLES3 = W(np.array([[[0.3, 0.7, 0.2]], [[0.95, 0.01, 0.6]]]))

# Modules deltagrad lacked: fractional max pooling (PyTorch's random windows, drawn from the
# seeded generator or given), CrossMapLRN2d (its forward window and hand-written backward),
# the deprecated NLLLoss2d and Container.
NEW_MODULES = [
    case("FractionalMaxPool2d", 2, output_size=(4, 3), inputs=[F(2, 3, 7, 6)],
         id="FractionalMaxPool2d-drawn"),
    case("FractionalMaxPool2d", (3, 2), output_ratio=0.5, return_indices=True,
         inputs=[F(3, 9, 8)], id="FractionalMaxPool2d-ratio-unbatched-indices"),
    case("FractionalMaxPool2d", 2, output_size=3, _random_samples=_SAMPLES,
         inputs=[F(2, 2, 6, 5)], id="FractionalMaxPool2d-given-samples"),
    case("FractionalMaxPool2d", 2, output_size=(6, 3), inputs=[F(1, 1, 6, 6)],
         id="FractionalMaxPool2d-too-large", error=True),
    case("FractionalMaxPool2d", 2, inputs=[F(1, 1, 6, 6)], id="FractionalMaxPool2d-no-size",
         error=True),
    case("FractionalMaxPool2d", 2, output_ratio=(0.5, 1.0), inputs=[F(1, 1, 6, 6)],
         id="FractionalMaxPool2d-ratio-range", error=True),
    case("FractionalMaxPool2d", 2, output_size=(3, 3), inputs=[NAN_IMAGE],
         id="FractionalMaxPool2d-nan-ties", modes=EVAL),
    case("FractionalMaxPool3d", 2, output_size=(3, 2, 3), inputs=[F(2, 1, 5, 4, 6)],
         id="FractionalMaxPool3d-drawn"),
    case("FractionalMaxPool3d", (2, 1, 2), output_ratio=(0.5, 0.5, 0.5),
         return_indices=True, _random_samples=_SAMPLES3, inputs=[F(2, 1, 6, 4, 6)],
         id="FractionalMaxPool3d-given-samples"),
    case("FractionalMaxPool3d", 2, output_size=(5, 2, 2), inputs=[F(1, 1, 6, 6, 6)],
         id="FractionalMaxPool3d-too-large", error=True),
    case("CrossMapLRN2d", 3, inputs=[F(2, 5, 3, 2)], id="CrossMapLRN2d"),
    case("CrossMapLRN2d", 4, 0.5, 0.6, 2.0, inputs=[F(1, 8, 2, 2)], id="CrossMapLRN2d-wide"),
    case("CrossMapLRN2d", 5, 0.3, 0.75, 1.0, inputs=[F(2, 2, 2, 3)],
         id="CrossMapLRN2d-few-channels"),
    case("CrossMapLRN2d", 3, inputs=[F(2, 5, 3)], id="CrossMapLRN2d-3d-error", error=True),
    case("NLLLoss2d", inputs=[F(2, 3, 2, 2), I(3, 2, 2, 2)], id="NLLLoss2d"),
    case("NLLLoss2d", ignore_index=1, reduction="sum", inputs=[F(4, 3), I(3, 4)],
         id="NLLLoss2d-ignore"),
    case("Container", build=lambda nn, cv: nn.Container(a=nn.Linear(2, 2), b=nn.ReLU()),
         inputs=[F(2, 2)], id="Container-no-forward", error=True),
]
