"""API corners real programs meet, afresh (PR5, session 22): saved-tensor hooks that compress
what autograd keeps (and disable_saved_tensors_hooks refusing them), torch.func.linearize, an
autograd.Function with setup_context and generate_vmap_rule under vmap and with a jvp under
forward AD; the rarer initializers (sparse_, dirac_, eye_, orthogonal_ with a gain,
trunc_normal_, kaiming fan_out); distribution transforms (a logit-normal by ComposeTransform,
biject_to for constrained parameters, TanhTransform's squashed Gaussian policy, stick breaking,
Cholesky factors of correlation matrices, Independent); module corners (set_submodule /
get_parameter, forward hooks with always_call around a raising forward, ParameterDict, tied
weights under remove_duplicate=False, loading into a meta-built model with assign=True,
extra_repr in the printed module, dtype conversions); torch.testing (make_tensor,
assert_close's report); and jit.script / jit.trace / compile used the way training scripts
do. Tiny sizes; run by prog_s22_PR5_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.distributions import constraints, transforms


class ScaledTanh(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x, scale):
        return scale * torch.tanh(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, scale = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        ctx.scale = scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.scale * (1 - torch.tanh(x) ** 2), None

    @staticmethod
    def jvp(ctx, x_tangent, scale_tangent):
        # (forward AD reads what save_for_forward kept)
        (x,) = ctx.saved_tensors
        return x_tangent * ctx.scale * (1 - torch.tanh(x) ** 2)


def section_autograd_corners() -> None:
    packed = []

    def pack(tensor):
        packed.append((tuple(tensor.shape), str(tensor.dtype)))
        return tensor.to(torch.bfloat16) if tensor.is_floating_point() else tensor

    def unpack(tensor):
        return tensor.float() if tensor.dtype == torch.bfloat16 else tensor

    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(5, 4)
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = torch.tanh(x @ w).pow(2).sum()
    y.backward()
    put("corner.packed", sorted(str(p) for p in packed))
    put("corner.compressed_grad", w.grad)
    try:
        with torch.autograd.graph.disable_saved_tensors_hooks("no hooks in this block"):
            with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
                pass
    except RuntimeError as error:
        put("corner.disabled", str(error))
    value, jvp_fn = torch.func.linearize(lambda t: torch.sin(t) * t, torch.linspace(0, 1, 4))
    put("corner.linearize", [value, jvp_fn(torch.ones(4)), jvp_fn(torch.arange(4.0))])
    inputs = torch.randn(3, 5)
    put("corner.vmap_fn", torch.vmap(lambda row: ScaledTanh.apply(row, 2.0).sum())(inputs))
    per_row = torch.vmap(torch.func.grad(lambda row: ScaledTanh.apply(row, 2.0).sum()))(inputs)
    put("corner.vmap_grad", per_row)
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        dual = fwAD.make_dual(inputs, torch.ones_like(inputs))
        tangent = fwAD.unpack_dual(ScaledTanh.apply(dual, 3.0)).tangent
    put("corner.forward_ad", tangent)
    leaf = inputs.clone().requires_grad_()
    ScaledTanh.apply(leaf, 0.5).sum().backward()
    put("corner.backward", leaf.grad)


def section_init_corners() -> None:
    put("init.sparse", nn.init.sparse_(torch.empty(6, 4), sparsity=0.5, std=0.1))
    put("init.dirac", nn.init.dirac_(torch.empty(4, 2, 3), groups=2))
    put("init.eye", nn.init.eye_(torch.empty(3, 5)))
    orth = nn.init.orthogonal_(torch.empty(4, 6), gain=2.0)
    put("init.orth_gram", orth @ orth.T)
    put("init.trunc", nn.init.trunc_normal_(torch.empty(50), mean=0.0, std=1.0, a=-1.5, b=1.5))
    fan_out = nn.init.kaiming_uniform_(torch.empty(8, 3, 3, 3), a=0.1, mode="fan_out",
                                       nonlinearity="leaky_relu")
    put("init.kaiming_bound", fan_out.abs().max())
    put("init.gains", [nn.init.calculate_gain(n, p) for n, p in
                       [("leaky_relu", 0.2), ("selu", None), ("tanh", None), ("conv2d", None)]])
    put("init.xavier", nn.init.xavier_normal_(torch.empty(3, 7), gain=0.5))
    put("init.zeros_bias_std", nn.init.normal_(torch.empty(200), 0.0, 0.02).std())


def section_transforms() -> None:
    base = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    logit_normal = torch.distributions.TransformedDistribution(
        base, transforms.ComposeTransform([transforms.AffineTransform(0.5, 2.0),
                                           transforms.SigmoidTransform()]))
    samples = logit_normal.sample((4,))
    put("tf.samples", samples)
    put("tf.log_prob", logit_normal.log_prob(samples))
    put("tf.support_check", logit_normal.support.check(samples))
    # constrained parameters through biject_to, fitted by gradient descent
    raw_scale = torch.zeros(2, requires_grad=True)
    raw_probs = torch.zeros(3, requires_grad=True)
    raw_interval = torch.zeros(1, requires_grad=True)
    data = torch.randn(50, 2) * torch.tensor([0.5, 2.0])
    counts = torch.tensor([10.0, 30.0, 60.0])
    optimizer = torch.optim.Adam([raw_scale, raw_probs, raw_interval], lr=0.1)
    to_positive = torch.distributions.biject_to(constraints.positive)
    to_simplex = torch.distributions.biject_to(constraints.simplex)
    to_interval = torch.distributions.biject_to(constraints.interval(-1.0, 1.0))
    losses = []
    for _ in range(15):
        scale = to_positive(raw_scale)
        probs = to_simplex(raw_probs[:2])
        rho = to_interval(raw_interval)
        loss = (-torch.distributions.Normal(0, scale).log_prob(data).sum()
                - torch.distributions.Multinomial(100, probs).log_prob(counts)
                + (rho - 0.3).pow(2).sum())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("tf.fit_losses", losses)
    put("tf.fitted", [scale, probs, rho])
    put("tf.simplex_ladj", to_simplex.log_abs_det_jacobian(raw_probs[:2], probs))
    # a squashed Gaussian policy (SAC): tanh transform with the log-det correction
    mean, log_std = torch.randn(4, 2), torch.randn(4, 2) * 0.3
    policy = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, log_std.exp()), [transforms.TanhTransform(cache_size=1)])
    action = policy.rsample()
    by_hand = (torch.distributions.Normal(mean, log_std.exp()).log_prob(torch.atanh(action))
               - 2 * (math.log(2) - torch.atanh(action) - F.softplus(-2 * torch.atanh(action))))
    put("tf.action", action)
    put("tf.policy_log_prob", policy.log_prob(action))
    put("tf.policy_gap", (policy.log_prob(action) - by_hand).abs().max() < 1e-3)
    stick = transforms.StickBreakingTransform()
    put("tf.stick", stick(torch.tensor([0.3, -0.2, 1.0])))
    put("tf.stick_inverse", stick.inv(stick(torch.tensor([0.3, -0.2, 1.0]))))
    corr = transforms.CorrCholeskyTransform()(torch.tensor([0.5, -0.3, 0.8]))
    put("tf.corr_chol", corr)
    put("tf.corr_diag", (corr @ corr.T).diagonal())
    lkj = torch.distributions.LKJCholesky(3, concentration=2.0)
    put("tf.lkj_log_prob", lkj.log_prob(corr))
    independent = torch.distributions.Independent(torch.distributions.Normal(mean, 1.0), 1)
    put("tf.independent", [independent.log_prob(action), independent.entropy()])
    put("tf.shapes", [str(independent.batch_shape), str(independent.event_shape)])


class Gated(nn.Module):
    def __init__(self, features, gate_bias=1.0):
        super().__init__()
        self.proj = nn.Linear(features, 2 * features)
        self.gate_bias = gate_bias
        self.extras = nn.ParameterDict({"scale": nn.Parameter(torch.ones(features)),
                                        "shift": nn.Parameter(torch.zeros(features))})

    def extra_repr(self) -> str:
        return f"gate_bias={self.gate_bias}"

    def forward(self, x):
        value, gate = self.proj(x).chunk(2, -1)
        return value * torch.sigmoid(gate + self.gate_bias) * self.extras["scale"] \
            + self.extras["shift"]


def section_module_corners() -> None:
    model = nn.Sequential(nn.Embedding(10, 4), Gated(4), nn.Linear(4, 10, bias=False))
    model[2].weight = model[0].weight  # tied input and output embeddings
    put("mod.repr", repr(model))
    put("mod.unique_params", [n for n, _ in model.named_parameters()])
    put("mod.all_params", [n for n, _ in model.named_parameters(remove_duplicate=False)])
    put("mod.get_parameter", model.get_parameter("1.extras.scale"))
    model.set_submodule("1.proj", nn.Linear(4, 8))
    put("mod.after_set", repr(model.get_submodule("1")))
    calls = []

    def always(module, args, output):
        calls.append("hook saw " + ("no output" if output is None else "output"))

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("bad input")

    failing = Fails()
    failing.register_forward_hook(always, always_call=True)
    try:
        failing(torch.ones(1))
    except ValueError as error:
        calls.append(str(error))
    put("mod.always_call", calls)
    tokens = torch.randint(0, 10, (3, 5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, 10), tokens.view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    put("mod.tied_same", model[2].weight is model[0].weight)
    put_state("mod.state", model)
    # build on the meta device, load with assign=True: the loaded tensors become the params
    with torch.device("meta"):
        shell = nn.Sequential(nn.Embedding(10, 4), Gated(4), nn.Linear(4, 10, bias=False))
    put("mod.meta_device", str(shell[1].proj.weight.device))
    state = model.state_dict()
    result = shell.load_state_dict(state, assign=True)
    put("mod.assign_result", str(result))
    put("mod.assign_is", shell[1].proj.weight.data_ptr() == state["1.proj.weight"].data_ptr())
    with torch.no_grad():
        put("mod.shell_out", shell(tokens))
    double = Gated(4).to(torch.float64)
    put("mod.double_dtypes", sorted({str(p.dtype) for p in double.parameters()}))
    half = Gated(4).half()
    put("mod.half_out", half(torch.ones(2, 4, dtype=torch.float16)))
    put("mod.half_repr", repr(half))


def section_testing() -> None:
    made = torch.testing.make_tensor((3, 4), dtype=torch.float32, device="cpu", low=-2, high=2)
    put("testing.made_range", bool(((made >= -2) & (made < 2)).all()))
    put("testing.made_int_dtype",
        str(torch.testing.make_tensor((5,), dtype=torch.int64, device="cpu", low=0,
                                      high=3).dtype))
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    messages = []
    for other, kwargs in [(a + torch.tensor([0, 0, 1e-3, 0]), {}),
                          (a + 1e-6, {"rtol": 0, "atol": 1e-7}),
                          (a.double(), {}),
                          (a[:3], {}),
                          (torch.tensor([1, 2, 3, 4]), {"check_dtype": False}),
                          (a + 0.05, {"rtol": 0.0, "atol": 0.1})]:
        try:
            torch.testing.assert_close(other, a, **kwargs)
            messages.append("equal")
        except AssertionError as error:
            messages.append(str(error))
    put("testing.messages", messages)
    put("testing.allclose", torch.allclose(a, a + 1e-9))
    put("testing.isclose", torch.isclose(a, a + 1e-3))


@torch.jit.script
def fused_gelu(x):
    return x * 0.5 * (1.0 + torch.erf(x / 1.41421))


def section_jit() -> None:
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    data, target = torch.randn(10, 3), torch.randn(10, 1)
    compiled = torch.compile(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(4):
        loss = F.mse_loss(compiled(data), target) + 1e-3 * fused_gelu(model[0].weight).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("jit.losses", losses)
    traced = torch.jit.trace(model, torch.randn(2, 3))
    with torch.no_grad():
        put("jit.traced_gap", (traced(data) - model(data)).abs().max())
    put("jit.gelu", fused_gelu(torch.linspace(-2, 2, 5)))
    put_state("jit.model", model)


def section_printing() -> None:
    modules = [
        nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16, batch_first=True, norm_first=True),
        nn.LSTM(4, 6, num_layers=2, proj_size=3, bidirectional=True, dropout=0.1),
        nn.RNN(3, 5, nonlinearity="relu", bias=False),
        nn.Embedding(10, 4, padding_idx=0, max_norm=1.0, scale_grad_by_freq=True),
        nn.EmbeddingBag(10, 4, mode="max"),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        nn.Fold(output_size=(4, 4), kernel_size=2, stride=2), nn.Unfold(3, dilation=2),
        nn.Bilinear(3, 4, 5), nn.Hardtanh(-2.0, 2.0), nn.Softmax2d(), nn.PReLU(3),
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[5, 10], div_value=2.0),
        nn.CTCLoss(blank=1, zero_infinity=True), nn.TripletMarginWithDistanceLoss(margin=0.5),
        nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1, groups=1,
                           dilation=1, padding_mode="zeros"),
        nn.Conv1d(2, 4, 3, padding="same", padding_mode="circular", bias=False),
        nn.GroupNorm(2, 4, affine=False), nn.LayerNorm([3, 4], elementwise_affine=False),
        nn.InstanceNorm1d(4, affine=True, track_running_stats=True), nn.RMSNorm(4, eps=1e-5),
        nn.LPPool2d(2, 3), nn.FractionalMaxPool2d(2, output_ratio=0.5),
        nn.ChannelShuffle(2), nn.Flatten(0, 1), nn.Unflatten(1, (2, 3)), nn.Identity(3),
        nn.utils.parametrizations.weight_norm(nn.Linear(3, 2)),
        nn.utils.parametrizations.spectral_norm(nn.Linear(3, 2)),
    ]
    put("print.modules", [repr(m) for m in modules])
    texts = [repr(torch.finfo(torch.float32)), repr(torch.iinfo(torch.int16)),
             repr(torch.finfo(torch.bfloat16)), str(torch.Size([2, 3])),
             repr(torch.device("cpu")), repr(torch.tensor([3.0, 1.0, 2.0]).topk(2)),
             repr(torch.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1)),
             repr(torch.linalg.eigh(torch.eye(2))),
             repr(nn.utils.rnn.pack_sequence([torch.ones(3), torch.ones(2)])),
             repr(torch.distributions.Normal(torch.zeros(2), 1.0)),
             repr(torch.distributions.Categorical(logits=torch.zeros(3))),
             repr(torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))),
             repr(torch.nn.Parameter(torch.ones(2, dtype=torch.float64))),
             repr(torch.tensor([1, 2], dtype=torch.uint8).bool()),
             repr(torch.eye(2, 3).to_sparse()), repr(torch.zeros(2, 3).to_sparse()),
             repr(torch.eye(3, dtype=torch.float64).to_sparse_csr()),
             str(torch.float16), str(torch.complex128), str(torch.uint16)]
    # (left out, see test_s22_PR5_programs.py: a scheduler's default <... object at> repr)
    put("print.texts", texts)


SECTIONS = {
    "autograd_corners": section_autograd_corners, "init_corners": section_init_corners,
    "transforms": section_transforms, "module_corners": section_module_corners,
    "testing": section_testing, "jit": section_jit, "printing": section_printing,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
