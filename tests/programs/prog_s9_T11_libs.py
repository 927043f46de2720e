"""Probe program (T11): libraries that lean on autograd internals and module hooks, seeded and
small; every number goes to an .npz. captum's attributions on an MLP, a small CNN and an
embedding+LSTM text model; backpack-for-pytorch's extensions (first- and second-order
quantities on Linear / Conv2d / Sequential models); higher's differentiable inner loops
(MAML-style, second-order gradients through SGD, Adam, RMSprop, Adagrad).

Run as ``python prog_s9_T11_libs.py OUT.npz SECTIONS`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s9_T11_autograd_libs.py`` compares the two. An
exception in a part is recorded as ``ERR.<part>`` (the other parts still run).
"""
import sys
import traceback

import numpy as np
import torch
from torch import nn

OUT = {}
ERR = {}


def put(name, value):
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy()
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            put(f"{name}.{i}", item)
        return
    OUT[name] = np.asarray(value)


def part(name):
    """Decorator: run the part, recording an exception as ERR.<name>."""
    def wrap(fn):
        def run():
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - recorded and compared
                ERR["ERR." + name] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
        run.__name__ = name
        return run
    return wrap


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(),
                         nn.Linear(6, 3)).eval()


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(3, 4, 2)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(x))
        return self.fc(x.flatten(1))


class TextModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 6)
        self.lstm = nn.LSTM(6, 7, batch_first=True)
        self.fc = nn.Linear(7, 2)

    def forward(self, tokens):
        out, (h, _) = self.lstm(self.embedding(tokens))
        return self.fc(h[-1])


@part("captum.mlp")
def captum_mlp():
    from captum.attr import (
        DeepLift,
        DeepLiftShap,
        FeatureAblation,
        GradientShap,
        GuidedBackprop,
        InputXGradient,
        IntegratedGradients,
        LayerConductance,
        LayerIntegratedGradients,
        NeuronGradient,
        NeuronIntegratedGradients,
        NoiseTunnel,
        Saliency,
    )
    model = mlp()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 5, generator=g)
    base = torch.zeros(4, 5)
    ig = IntegratedGradients(model)
    attr, delta = ig.attribute(x, base, target=1, n_steps=20, return_convergence_delta=True)
    put("captum.mlp.ig", attr)
    put("captum.mlp.ig_delta", delta)
    put("captum.mlp.ig_riemann", ig.attribute(x, target=2, n_steps=8, method="riemann_trapezoid"))
    put("captum.mlp.ig_targets", ig.attribute(x, target=torch.tensor([0, 1, 2, 0]), n_steps=10,
                                              internal_batch_size=7))
    put("captum.mlp.saliency", Saliency(model).attribute(x, target=0))
    put("captum.mlp.saliency_signed", Saliency(model).attribute(x, target=2, abs=False))
    put("captum.mlp.ixg", InputXGradient(model).attribute(x, target=1))
    attr, delta = DeepLift(model).attribute(x, base, target=0, return_convergence_delta=True)
    put("captum.mlp.deeplift", attr)
    put("captum.mlp.deeplift_delta", delta)
    put("captum.mlp.deeplift_rescale_nomul",
        DeepLift(model, multiply_by_inputs=False).attribute(x, target=1))
    baselines = torch.randn(6, 5, generator=g)
    put("captum.mlp.deepliftshap", DeepLiftShap(model).attribute(x, baselines, target=2))
    torch.manual_seed(5)
    np.random.seed(5)  # captum draws GradientShap's baselines and scales with NumPy
    attr, delta = GradientShap(model).attribute(x, baselines, n_samples=10, stdevs=0.1, target=1,
                                                return_convergence_delta=True)
    put("captum.mlp.gradshap", attr)
    put("captum.mlp.gradshap_delta", delta)
    put("captum.mlp.guided", GuidedBackprop(model).attribute(x, target=0))
    put("captum.mlp.ablation", FeatureAblation(model).attribute(x, target=1))
    put("captum.mlp.layer_cond", LayerConductance(model, model[2]).attribute(x, target=0,
                                                                               n_steps=15))
    put("captum.mlp.layer_ig", LayerIntegratedGradients(model, model[0]).attribute(
        x, target=2, n_steps=12))
    put("captum.mlp.neuron_grad", NeuronGradient(model, model[2]).attribute(x, neuron_selector=1))
    put("captum.mlp.neuron_ig", NeuronIntegratedGradients(model, model[0]).attribute(
        x, neuron_selector=4, n_steps=10))
    torch.manual_seed(7)
    nt = NoiseTunnel(ig)
    put("captum.mlp.nt_smoothgrad", nt.attribute(x, nt_type="smoothgrad", nt_samples=4,
                                                 stdevs=0.2, target=0, n_steps=5))
    torch.manual_seed(8)
    put("captum.mlp.nt_sq", NoiseTunnel(Saliency(model)).attribute(
        x, nt_type="smoothgrad_sq", nt_samples=5, stdevs=0.3, target=2))
    torch.manual_seed(9)
    put("captum.mlp.nt_vargrad", NoiseTunnel(InputXGradient(model)).attribute(
        x, nt_type="vargrad", nt_samples=3, target=1))


@part("captum.cnn")
def captum_cnn():
    from captum.attr import (
        DeepLift,
        GuidedBackprop,
        GuidedGradCam,
        IntegratedGradients,
        LayerConductance,
        LayerGradCam,
        Occlusion,
        Saliency,
    )
    torch.manual_seed(2)
    model = SmallCNN().eval()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 1, 8, 8, generator=g)
    put("captum.cnn.out", model(x))
    put("captum.cnn.ig", IntegratedGradients(model).attribute(x, target=1, n_steps=10))
    put("captum.cnn.saliency", Saliency(model).attribute(x, target=2))
    put("captum.cnn.deeplift", DeepLift(model).attribute(x, target=0))
    put("captum.cnn.guided", GuidedBackprop(model).attribute(x, target=1))
    put("captum.cnn.occlusion", Occlusion(model).attribute(
        x, sliding_window_shapes=(1, 3, 3), strides=(1, 2, 2), target=0, baselines=0.0))
    put("captum.cnn.layer_cond", LayerConductance(model, model.conv2).attribute(
        x, target=2, n_steps=8))
    put("captum.cnn.gradcam", LayerGradCam(model, model.conv2).attribute(x, target=1))
    put("captum.cnn.guided_gradcam", GuidedGradCam(model, model.conv2).attribute(x, target=1))


@part("captum.text")
def captum_text():
    from captum.attr import (
        LayerIntegratedGradients,
        Saliency,
        configure_interpretable_embedding_layer,
        remove_interpretable_embedding_layer,
    )
    torch.manual_seed(4)
    model = TextModel().eval()
    tokens = torch.tensor([[1, 5, 7, 3, 0], [4, 4, 9, 12, 2]])
    put("captum.text.out", model(tokens))
    lig = LayerIntegratedGradients(model, model.embedding)
    attr, delta = lig.attribute(tokens, baselines=torch.zeros_like(tokens), target=1,
                                n_steps=10, return_convergence_delta=True)
    put("captum.text.lig", attr)
    put("captum.text.lig_delta", delta)
    put("captum.text.lig_sum", attr.sum(-1))
    put("captum.text.lig_fc", LayerIntegratedGradients(model, model.fc).attribute(
        tokens, baselines=torch.zeros_like(tokens), target=0, n_steps=6))
    emb = configure_interpretable_embedding_layer(model, "embedding")
    inputs = emb.indices_to_embeddings(tokens)
    put("captum.text.emb_saliency", Saliency(model).attribute(inputs, target=0))
    remove_interpretable_embedding_layer(model, emb)
    put("captum.text.out_after", model(tokens))


@part("captum.neuron")
def captum_neuron():
    # NeuronConductance takes a second autograd.grad from a layer's output after a first one
    # that stopped there (see the test's xfail).
    from captum.attr import NeuronConductance
    model = mlp()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    put("captum.neuron.cond", NeuronConductance(model, model[2]).attribute(
        x, neuron_selector=3, target=1, n_steps=12))
    torch.manual_seed(2)
    cnn = SmallCNN().eval()
    images = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    put("captum.neuron.cnn_cond", NeuronConductance(cnn, cnn.conv1).attribute(
        images, neuron_selector=(1, 2, 3), target=0, n_steps=8))


@part("captum.lrp")
def captum_lrp():
    from captum.attr import LRP
    model = mlp()
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(6))
    attr, delta = LRP(model).attribute(x, target=1, return_convergence_delta=True)
    put("captum.lrp.attr", attr)
    put("captum.lrp.delta", delta)


def put_quantities(prefix, model, names):
    for pname, param in model.named_parameters():
        put(f"{prefix}.grad.{pname}", param.grad)
        for attr in names:
            value = getattr(param, attr)
            if isinstance(value, list):  # KFAC's Kronecker factors
                put(f"{prefix}.{attr}.{pname}", [torch.as_tensor(v) for v in value])
            else:
                put(f"{prefix}.{attr}.{pname}", value)


def linear_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.Sigmoid(),
                         nn.Linear(4, 3))


def conv_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 2, 2), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3))


@part("backpack.first")
def backpack_first_order():
    from backpack import backpack, extend
    from backpack.extensions import BatchGrad, BatchL2Grad, SumGradSquared, Variance
    for kind, make, shape in (("mlp", linear_model, (7, 6)), ("cnn", conv_model, (5, 2, 8, 8))):
        model = extend(make())
        loss_fn = extend(nn.CrossEntropyLoss())
        g = torch.Generator().manual_seed(2)
        x = torch.randn(*shape, generator=g)
        y = torch.randint(0, 3, (shape[0],), generator=g)
        loss = loss_fn(model(x), y)
        with backpack(BatchGrad(), BatchL2Grad(), SumGradSquared(), Variance()):
            loss.backward()
        put(f"backpack.first.{kind}.loss", loss)
        put_quantities(f"backpack.first.{kind}", model,
                       ("grad_batch", "batch_l2", "sum_grad_squared", "variance"))
        # MSELoss with reduction sum: the individual gradients' scale changes
        model.zero_grad()
        loss = extend(nn.MSELoss(reduction="sum"))(model(x), torch.randn(shape[0], 3,
                                                                          generator=g))
        with backpack(BatchGrad()):
            loss.backward()
        put_quantities(f"backpack.first.{kind}.mse", model, ("grad_batch",))


@part("backpack.second")
def backpack_second_order():
    from backpack import backpack, extend
    from backpack.extensions import (
        KFAC,
        KFLR,
        BatchDiagGGNExact,
        DiagGGNExact,
        DiagGGNMC,
        DiagHessian,
    )
    for kind, make, shape in (("mlp", linear_model, (6, 6)), ("cnn", conv_model, (4, 2, 8, 8))):
        model = extend(make())
        loss_fn = extend(nn.CrossEntropyLoss())
        g = torch.Generator().manual_seed(3)
        x = torch.randn(*shape, generator=g)
        y = torch.randint(0, 3, (shape[0],), generator=g)
        loss = loss_fn(model(x), y)
        with backpack(DiagGGNExact(), BatchDiagGGNExact(), KFLR()):
            loss.backward()
        put_quantities(f"backpack.second.{kind}", model,
                       ("diag_ggn_exact", "diag_ggn_exact_batch", "kflr"))
        model.zero_grad()
        loss = loss_fn(model(x), y)
        torch.manual_seed(4)
        with backpack(DiagGGNMC(mc_samples=3), KFAC(mc_samples=2)):
            loss.backward()
        put_quantities(f"backpack.second.{kind}.mc", model, ("diag_ggn_mc", "kfac"))
    model = extend(linear_model())
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(5))
    loss = extend(nn.MSELoss())(model(x), torch.zeros(5, 3))
    with backpack(DiagHessian()):
        loss.backward()
    put_quantities("backpack.second.hess", model, ("diag_h",))


@part("backpack.hf")
def backpack_hessian_free():
    from backpack.hessianfree.ggnvp import ggn_vector_product
    from backpack.hessianfree.hvp import hessian_vector_product
    model = linear_model()
    g = torch.Generator().manual_seed(6)
    x = torch.randn(5, 6, generator=g)
    y = torch.randint(0, 3, (5,), generator=g)
    out = model(x)
    loss = nn.functional.cross_entropy(out, y)
    params = list(model.parameters())
    v = [torch.randn(p.shape, generator=g) for p in params]
    put("backpack.hf.hvp", hessian_vector_product(loss, params, v))
    put("backpack.hf.ggnvp", ggn_vector_product(loss, out, model, v))


def meta_data(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(10, 3, generator=g)
    w = torch.randn(3, 1, generator=g)
    return x[:5], (x[:5] @ w), x[5:], (x[5:] @ w)


@part("higher.maml")
def higher_maml():
    import higher
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    meta_opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for name, make_inner in (("sgd", lambda: torch.optim.SGD(model.parameters(), lr=0.1,
                                                               momentum=0.5)),
                             ("adam", lambda: torch.optim.Adam(model.parameters(), lr=0.05))):
        losses = []
        for step in range(3):
            meta_opt.zero_grad()
            inner_opt = make_inner()
            total = 0.0
            for task in range(2):
                xs, ys, xq, yq = meta_data(10 * step + task)
                with higher.innerloop_ctx(model, inner_opt, copy_initial_weights=False) as (
                        fmodel, diffopt):
                    for _ in range(3):
                        diffopt.step(nn.functional.mse_loss(fmodel(xs), ys))
                    query = nn.functional.mse_loss(fmodel(xq), yq)
                    query.backward()
                    total += query.item()
                    put(f"higher.maml.{name}.fast.{step}.{task}", list(fmodel.parameters()))
            losses.append(total)
            put(f"higher.maml.{name}.meta_grad.{step}", [p.grad for p in model.parameters()])
            meta_opt.step()
        put(f"higher.maml.{name}.losses", np.array(losses))
        put(f"higher.maml.{name}.params", list(model.parameters()))


@part("higher.more")
def higher_more():
    import higher
    torch.manual_seed(8)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    xs, ys, xq, yq = meta_data(99)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    # track_higher_grads=False: first-order MAML; copy_initial_weights=True
    with higher.innerloop_ctx(model, opt, track_higher_grads=False) as (fmodel, diffopt):
        for _ in range(2):
            diffopt.step(nn.functional.mse_loss(fmodel(xs), ys))
        put("higher.more.fo_fast", list(fmodel.parameters()))
        put("higher.more.fo_query", nn.functional.mse_loss(fmodel(xq), yq))
    # monkeypatch + explicit params; grads of the query w.r.t. the initial fast weights
    fmodel = higher.monkeypatch(model, copy_initial_weights=True)
    params = [p.clone().requires_grad_() for p in model.parameters()]
    inner = nn.functional.mse_loss(fmodel(xs, params=params), ys)
    grads = torch.autograd.grad(inner, params, create_graph=True)
    fast = [p - 0.1 * g for p, g in zip(params, grads)]
    query = nn.functional.mse_loss(fmodel(xq, params=fast), yq)
    put("higher.more.mp_query", query)
    put("higher.more.mp_grads", torch.autograd.grad(query, params))
    # differentiable optimizer with a learnable learning rate (override)
    lr = torch.tensor(0.1, requires_grad=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with higher.innerloop_ctx(model, opt, override={"lr": [lr]}) as (fmodel, diffopt):
        for _ in range(2):
            diffopt.step(nn.functional.mse_loss(fmodel(xs), ys))
        query = nn.functional.mse_loss(fmodel(xq), yq)
        put("higher.more.lr_grad", torch.autograd.grad(query, lr))
    # RMSprop and Adagrad differentiable counterparts, gradients to the initial weights
    for name, make in (("rmsprop", lambda: torch.optim.RMSprop(model.parameters(), lr=0.01)),
                       ("adagrad", lambda: torch.optim.Adagrad(model.parameters(), lr=0.1))):
        with higher.innerloop_ctx(model, make(), copy_initial_weights=False) as (fmodel,
                                                                                 diffopt):
            for _ in range(2):
                diffopt.step(nn.functional.mse_loss(fmodel(xs), ys))
            query = nn.functional.mse_loss(fmodel(xq), yq)
            put(f"higher.more.{name}", torch.autograd.grad(query, list(model.parameters())))


PARTS = {"captum": [captum_mlp, captum_cnn, captum_text, captum_lrp, captum_neuron],
         "backpack": [backpack_first_order, backpack_second_order, backpack_hessian_free],
         "higher": [higher_maml, higher_more]}

if __name__ == "__main__":
    for section in sys.argv[2].split(","):
        for run in PARTS[section]:
            run()
    np.savez(sys.argv[1], **OUT, **ERR)
