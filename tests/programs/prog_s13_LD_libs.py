"""Probe program (LD, session 13): torcheval, loralib, efficientnet-pytorch, ttach,
torch-complex, sb3-contrib, tensorly (PyTorch backend), torch-runstats, pytorch-revgrad and
torchviz on torch tensors, used the way their READMEs do, seeded and small (and, imported
from prog_s13_LD_hf.py, the transformers model families). Every number goes to an .npz.

Run as ``python prog_s13_LD_libs.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s13_LD_libs.py`` compares the two. PARTS is a
comma-separated subset of the part names (all by default). An exception in a part is recorded
as ``ERR.<part>`` (the other parts still run).
"""
import numpy as np
import prog_s13_LD_hf  # noqa: F401 - registers the transformers parts (one process runs all)
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness


def train(model, batches, loss_fn, prefix, steps=3, lr=1e-2, optimizer=None):
    """A few Adam steps on ``batches`` (a callable giving (inputs, target)); losses and the
    first parameter's gradient recorded."""
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        inputs, target = batches()
        opt.zero_grad()
        loss = loss_fn(model(*inputs), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put(prefix + ".losses", np.array(losses))
    first = next(p for p in model.parameters() if p.grad is not None)
    put(prefix + ".grad0", first.grad)


# ----------------------------------------------------------------------------------- torcheval

@part("torcheval", "torcheval")
def torcheval_part():
    from torcheval import metrics
    from torcheval.metrics import functional as F
    from torcheval.metrics.toolkit import sync_and_compute

    logits = torch.randn(40, 5)
    target = torch.randint(0, 5, (40,))
    scores = torch.rand(40)
    labels = torch.randint(0, 2, (40,))
    put("torcheval.f.acc", F.multiclass_accuracy(logits, target))
    put("torcheval.f.acc_macro", F.multiclass_accuracy(logits, target, average="macro",
                                                       num_classes=5))
    put("torcheval.f.acc_top2", F.multiclass_accuracy(logits, target, k=2))
    put("torcheval.f.f1", F.multiclass_f1_score(logits, target, num_classes=5,
                                                average="weighted"))
    put("torcheval.f.prec", F.multiclass_precision(logits, target, num_classes=5,
                                                   average=None))
    put("torcheval.f.rec", F.multiclass_recall(logits, target, num_classes=5, average="macro"))
    put("torcheval.f.confusion", F.multiclass_confusion_matrix(logits, target, 5))
    put("torcheval.f.confusion_norm", F.multiclass_confusion_matrix(logits, target, 5,
                                                                    normalize="true"))
    put("torcheval.f.bin_acc", F.binary_accuracy(scores, labels, threshold=0.4))
    put("torcheval.f.bin_f1", F.binary_f1_score(scores, labels))
    put("torcheval.f.auroc", F.binary_auroc(scores, labels))
    put("torcheval.f.auprc", F.binary_auprc(scores, labels))
    put("torcheval.f.mc_auroc", F.multiclass_auroc(logits, target, num_classes=5))
    put("torcheval.f.mc_auprc", F.multiclass_auprc(logits, target, num_classes=5))
    precision, recall, thresholds = F.binary_precision_recall_curve(scores, labels)
    put("torcheval.f.prc.p", precision)
    put("torcheval.f.prc.r", recall)
    put("torcheval.f.prc.t", thresholds)
    binned = F.binary_binned_precision_recall_curve(scores, labels, threshold=5)
    for i, value in enumerate(binned):
        put(f"torcheval.f.binned_prc.{i}", value)
    put("torcheval.f.binned_auroc", F.binary_binned_auroc(scores, labels, threshold=10)[0])
    put("torcheval.f.entropy", F.binary_normalized_entropy(scores, labels.float()))
    put("torcheval.f.ml_acc", F.multilabel_accuracy(torch.rand(10, 3),
                                                    torch.randint(0, 2, (10, 3))))
    put("torcheval.f.topk_ml", F.topk_multilabel_accuracy(torch.rand(10, 4),
                                                          torch.randint(0, 2, (10, 4)), k=2))
    put("torcheval.f.recall_at_p", torch.stack(F.binary_recall_at_fixed_precision(
        scores, labels, min_precision=0.5)))
    x, y = torch.randn(30, 2), torch.randn(30, 2)
    put("torcheval.f.mse", F.mean_squared_error(x, y))
    put("torcheval.f.r2", F.r2_score(x, y, multioutput="raw_values"))
    put("torcheval.f.psnr", F.peak_signal_noise_ratio(torch.rand(2, 3, 8, 8),
                                                      torch.rand(2, 3, 8, 8)))
    put("torcheval.f.perplexity", F.perplexity(torch.randn(2, 6, 7),
                                               torch.randint(0, 7, (2, 6))))
    put("torcheval.f.ctr", F.click_through_rate(labels.float()))
    put("torcheval.f.calibration", F.weighted_calibration(scores, labels.float()))
    put("torcheval.f.hit_rate", F.hit_rate(logits, target, k=3))
    put("torcheval.f.rr", F.reciprocal_rank(logits, target))
    put("torcheval.f.retrieval", F.retrieval_precision(scores, labels, k=5))
    put("torcheval.f.auc", F.auc(torch.linspace(0, 1, 11), torch.rand(11)))
    put("torcheval.f.wer", F.word_error_rate(["hello world", "a b c"],
                                             ["hello word", "a c c d"]))
    put("torcheval.f.bleu", F.bleu_score(["the cat sat on the mat"],
                                         [["the cat is on the mat"]], n_gram=2))

    # Class metrics: update in batches, merge two of them, state_dict round trip.
    acc = metrics.MulticlassAccuracy(num_classes=5, average="macro")
    other = metrics.MulticlassAccuracy(num_classes=5, average="macro")
    acc.update(logits[:20], target[:20])
    other.update(logits[20:], target[20:])
    acc.merge_state([other])
    put("torcheval.c.acc_merged", acc.compute())
    restored = metrics.MulticlassAccuracy(num_classes=5, average="macro")
    restored.load_state_dict(acc.state_dict())
    put("torcheval.c.acc_restored", restored.compute())
    auroc = metrics.BinaryAUROC()
    for i in range(4):
        auroc.update(scores[i * 10:(i + 1) * 10], labels[i * 10:(i + 1) * 10])
    put("torcheval.c.auroc", auroc.compute())
    put("torcheval.c.auroc_sync", sync_and_compute(auroc))
    mean = metrics.Mean()
    mean.update(torch.tensor([1.0, 2.0, 5.0]), weight=torch.tensor([1.0, 2.0, 0.5]))
    put("torcheval.c.mean", mean.compute())
    r2 = metrics.R2Score()
    r2.update(x[:, 0], y[:, 0])
    put("torcheval.c.r2", r2.compute())
    cm = metrics.MulticlassConfusionMatrix(5)
    cm.update(logits, target)
    put("torcheval.c.cm", cm.compute())
    prc = metrics.MulticlassPrecisionRecallCurve(num_classes=5)
    prc.update(logits.softmax(-1), target)
    for i, values in enumerate(zip(*prc.compute())):
        for j, value in enumerate(values):
            put(f"torcheval.c.mc_prc.{i}.{j}", value)
    wmse = metrics.WindowedMeanSquaredError(max_num_updates=2)
    for i in range(3):
        wmse.update(x[i * 10:(i + 1) * 10, 0], y[i * 10:(i + 1) * 10, 0])
    put("torcheval.c.windowed_mse", wmse.compute())
    cat = metrics.Cat()
    cat.update(torch.arange(3))
    cat.update(torch.arange(2))
    put("torcheval.c.cat", cat.compute())
    maximum = metrics.Max()
    maximum.update(x)
    put("torcheval.c.max", maximum.compute())


# ------------------------------------------------------------------------------------- loralib

@part("loralib", "loralib")
def loralib_part():
    import loralib as lora

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = lora.Embedding(20, 8, r=4)
            self.qkv = lora.MergedLinear(8, 24, r=2, enable_lora=[True, False, True])
            self.out = lora.Linear(24, 3, r=4, lora_alpha=8, lora_dropout=0.0)
            self.conv = lora.Conv2d(8, 8, kernel_size=3, r=2, padding=1)

        def forward(self, tokens):
            h = self.emb(tokens)  # (B, T, 8)
            h = h + self.conv(h.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
            return self.out(torch.relu(self.qkv(h))).mean(1)

    net = Net()
    # (LoRA's B matrices start at zero: give them values so that they matter)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if "lora_B" in name or "lora_A" in name:
                param.copy_(torch.randn(param.shape) * 0.1)
    lora.mark_only_lora_as_trainable(net, bias="lora_only")
    put("loralib.trainable", np.array(sorted(n for n, p in net.named_parameters()
                                             if p.requires_grad)))
    tokens = torch.randint(0, 20, (4, 5))
    target = torch.randint(0, 3, (4,))
    put("loralib.before", net(tokens))
    train(net, lambda: ((tokens,), target), torch.nn.functional.cross_entropy, "loralib.train",
          optimizer=torch.optim.AdamW([p for p in net.parameters() if p.requires_grad],
                                      lr=1e-2))
    state = lora.lora_state_dict(net)
    put("loralib.state_keys", np.array(sorted(state)))
    for key, value in state.items():
        put(f"loralib.state.{key}", value)
    net.eval()  # (merges the low-rank update into the weights)
    put("loralib.merged", net(tokens))
    put("loralib.merged_weight", net.out.weight)
    net.train()  # (un-merges)
    put("loralib.unmerged", net(tokens))
    put("loralib.unmerged_weight", net.out.weight)


# --------------------------------------------------------------------------- efficientnet-pytorch

@part("efficientnet", "efficientnet_pytorch")
def efficientnet_part():
    from efficientnet_pytorch import EfficientNet
    from efficientnet_pytorch.utils import MemoryEfficientSwish

    # (batch 4 at 48 pixels: the last blocks' batch norms see 16 values each; over 2 values,
    # as at batch 2 and 32 pixels, their backward amplifies float32 rounding 1e4-fold on
    # either library)
    model = EfficientNet.from_name("efficientnet-b0", num_classes=4, image_size=48,
                                   width_coefficient=0.25, depth_coefficient=0.3,
                                   dropout_rate=0.0, drop_connect_rate=0.0)
    put("efficientnet.params", sum(p.numel() for p in model.parameters()))
    images = torch.randn(4, 3, 48, 48)
    model.eval()
    put("efficientnet.eval", model(images))
    endpoints = model.extract_endpoints(images)
    for key, value in endpoints.items():
        put(f"efficientnet.endpoint.{key}", value)
    put("efficientnet.features", model.extract_features(images))
    model.set_swish(memory_efficient=False)
    put("efficientnet.plain_swish", model(images))
    model.set_swish(memory_efficient=True)
    model.train()
    target = torch.tensor([1, 3, 0, 2])
    train(model, lambda: ((images,), target), torch.nn.functional.cross_entropy,
          "efficientnet.train", steps=2, lr=1e-3)
    put("efficientnet.bn_mean", model._bn0.running_mean)
    x = torch.randn(5, requires_grad=True)
    MemoryEfficientSwish()(x).sum().backward()
    put("efficientnet.swish_grad", x.grad)


# ---------------------------------------------------------------------------------------- ttach

@part("ttach", "ttach")
def ttach_part():
    import ttach as tta

    classifier = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                     torch.nn.Linear(4, 3))
    images = torch.randn(2, 3, 12, 12)
    for mode in ("mean", "gmean", "max", "min", "sum", "tsharpen"):
        wrapped = tta.ClassificationTTAWrapper(classifier, tta.aliases.d4_transform(),
                                               merge_mode=mode)
        with torch.no_grad():
            put(f"ttach.cls.{mode}", wrapped(images.abs() if mode == "tsharpen" else images))
    segmenter = torch.nn.Conv2d(3, 2, 3, padding=1)
    transforms = tta.Compose([tta.HorizontalFlip(), tta.VerticalFlip(),
                              tta.Rotate90(angles=[0, 90, 180]),
                              tta.Multiply(factors=[0.9, 1.1])])
    wrapped = tta.SegmentationTTAWrapper(segmenter, transforms, merge_mode="mean")
    put("ttach.seg", wrapped(images))
    scaled = tta.SegmentationTTAWrapper(segmenter, tta.Compose([
        tta.Scale(scales=[1, 2]), tta.Add(values=[0, 0.5])]))
    put("ttach.seg_scaled", scaled(images))
    five = tta.ClassificationTTAWrapper(classifier, tta.aliases.five_crop_transform(8, 8))
    put("ttach.five_crop", five(images))
    keypoints = tta.KeypointsTTAWrapper(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 12 * 12, 6),
                            torch.nn.Sigmoid()),
        tta.Compose([tta.HorizontalFlip(), tta.VerticalFlip()]))
    put("ttach.keypoints", keypoints(images))
    # Gradients through the wrapper (test-time training idioms).
    wrapped = tta.ClassificationTTAWrapper(classifier, tta.aliases.flip_transform())
    wrapped(images).sum().backward()
    put("ttach.grad", classifier[0].weight.grad)


# -------------------------------------------------------------------------------- torch-complex

@part("torch_complex", "torch_complex")
def torch_complex_part():
    from torch_complex import functional as FC
    from torch_complex.tensor import ComplexTensor

    a = ComplexTensor(torch.randn(3, 3), torch.randn(3, 3))
    b = ComplexTensor(torch.randn(3, 2), torch.randn(3, 2))

    def put_c(name, value):
        put(name + ".real", value.real)
        put(name + ".imag", value.imag)

    put_c("torch_complex.matmul", FC.matmul(a, b))
    put_c("torch_complex.mul", a * a.conj())
    put_c("torch_complex.div", a / (a + 2.0))
    put("torch_complex.abs", a.abs())
    put("torch_complex.angle", a.angle())
    put_c("torch_complex.inverse", a.inverse2() if hasattr(a, "inverse2") else a.inverse())
    put_c("torch_complex.solve", FC.solve(b, a)[0] if isinstance(FC.solve(b, a), tuple)
          else FC.solve(b, a))
    put_c("torch_complex.einsum", FC.einsum("ij,jk->ik", a, b))
    put_c("torch_complex.cat", FC.cat([a, a], dim=0))
    put_c("torch_complex.stack", FC.stack([a, a], dim=1))
    put_c("torch_complex.trace", FC.trace(a))
    put_c("torch_complex.pad", FC.pad(a, (1, 1)))
    put_c("torch_complex.reverse", FC.reverse(a, dim=1))
    put_c("torch_complex.pow", a.pow(2))
    put_c("torch_complex.diag", a.diag())
    put_c("torch_complex.index_select", a.index_select(1, torch.tensor([2, 0])))
    put_c("torch_complex.unfold", a.unfold(1, 2, 1))
    put_c("torch_complex.sqrt", (a * a).sqrt())
    put_c("torch_complex.transpose", a.transpose(0, 1))
    put_c("torch_complex.sum", a.sum(dim=0))
    put_c("torch_complex.view", a.view(9))
    put_c("torch_complex.masked_fill", a.masked_fill(a.real > 0, 0.0))
    put("torch_complex.numpy", a.numpy())
    frames = FC.signal_frame(ComplexTensor(torch.randn(2, 10), torch.randn(2, 10)), 4, 2)
    put_c("torch_complex.frames", frames)
    # Gradients through complex arithmetic (a beamformer-style power).
    re = torch.randn(4, 3, requires_grad=True)
    im = torch.randn(4, 3, requires_grad=True)
    z = ComplexTensor(re, im)
    weights = ComplexTensor(torch.randn(3), torch.randn(3))
    power = (FC.einsum("tc,c->t", z, weights.conj()).abs() ** 2).sum()
    power.backward()
    put("torch_complex.power", power)
    put("torch_complex.grad_re", re.grad)
    put("torch_complex.grad_im", im.grad)


# ------------------------------------------------------------------------------ torch-runstats

@part("runstats", "torch_runstats")
def runstats_part():
    from torch_runstats import Reduction, RunningStats
    from torch_runstats.scatter import scatter, scatter_std

    data = torch.randn(30, 3)
    bins = torch.randint(0, 4, (30,))
    for reduction in (Reduction.MEAN, Reduction.RMS):
        stats = RunningStats(dim=(3,), reduction=reduction)
        for i in range(3):
            put(f"runstats.{reduction.value}.batch{i}", stats.accumulate_batch(
                data[i * 10:(i + 1) * 10]))
        put(f"runstats.{reduction.value}.current", stats.current_result())
    binned = RunningStats(dim=(3,), reduction=Reduction.MEAN)
    for i in range(3):
        binned.accumulate_batch(data[i * 10:(i + 1) * 10],
                                accumulate_by=bins[i * 10:(i + 1) * 10])
    put("runstats.binned", binned.current_result())
    ignored = RunningStats(dim=(3,), reduction=Reduction.MEAN, ignore_nan=True)
    with_nan = data.clone()
    with_nan[::4, 1] = float("nan")
    ignored.accumulate_batch(with_nan)
    put("runstats.ignore_nan", ignored.current_result())
    put("runstats.scatter_sum", scatter(data, bins, dim=0, reduce="sum"))
    put("runstats.scatter_std", scatter_std(data, bins, dim=0))


# ----------------------------------------------------------------------------- pytorch-revgrad

@part("revgrad", "pytorch_revgrad")
def revgrad_part():
    from pytorch_revgrad import RevGrad

    # A domain-adversarial network: a shared feature extractor, a label head and a domain head
    # behind the gradient-reversal layer.
    features = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU())
    label_head = torch.nn.Linear(8, 3)
    domain_head = torch.nn.Sequential(RevGrad(alpha=0.5), torch.nn.Linear(8, 2))
    params = [*features.parameters(), *label_head.parameters(), *domain_head.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    x = torch.randn(10, 6)
    y, domain = torch.randint(0, 3, (10,)), torch.randint(0, 2, (10,))
    losses = []
    for _ in range(3):
        opt.zero_grad()
        h = features(x)
        loss = (torch.nn.functional.cross_entropy(label_head(h), y)
                + torch.nn.functional.cross_entropy(domain_head(h), domain))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("revgrad.losses", np.array(losses))
    put("revgrad.grad", features[0].weight.grad)


# ------------------------------------------------------------------------------------ torchviz

@part("torchviz", "torchviz")
def torchviz_part():
    import torchviz

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8, 2))
    out = model(torch.randn(1, 1, 4, 4)).softmax(-1).sum()
    dot = torchviz.make_dot(out, params=dict(model.named_parameters()))
    labels = [line.split("[label=", 1)[1].rsplit(" fillcolor", 1)[0].rstrip("]\n")
              for line in dot.body if "[label=" in line]
    # (the parameter boxes and the op nodes; PyTorch's linear adds a TBackward0 node for the
    # transposed weight, which deltagrad's fused linear does not have)
    put("torchviz.labels", np.array(sorted(label for label in labels
                                           if label != "TBackward0")))
    put("torchviz.params", np.array(sorted(label for label in labels if "weight" in label
                                           or "bias" in label)))


# --------------------------------------------------------------------------------- sb3-contrib

def sb3_model_numbers(name, model, obs, leave_out=()):
    """Every policy parameter after learning (but ``leave_out``) and the deterministic actions
    on ``obs``."""
    for key, value in model.policy.state_dict().items():
        if key not in leave_out:
            put(f"{name}.param.{key}", value)
    action, _ = model.predict(obs, deterministic=True)
    put(f"{name}.predict", action)


@part("sb3_contrib", "sb3_contrib")
def sb3_contrib_part():
    from sb3_contrib import ARS, QRDQN, TQC, TRPO, CrossQ, MaskablePPO, RecurrentPPO
    from sb3_contrib.common.envs import InvalidActionEnvDiscrete

    cartpole = np.array([[0.01, 0.02, 0.03, 0.04], [-0.2, 0.5, 0.1, -0.7]], dtype=np.float32)
    pendulum = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -2.0]], dtype=np.float32)
    small = {"net_arch": [16]}
    model = QRDQN("MlpPolicy", "CartPole-v1", learning_starts=32, train_freq=4,
                  target_update_interval=50, policy_kwargs={**small, "n_quantiles": 5},
                  batch_size=16, seed=0)
    model.learn(120)
    sb3_model_numbers("sb3_contrib.qrdqn", model, cartpole)
    model = TRPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, cg_max_steps=5,
                 n_critic_updates=2, policy_kwargs=small, seed=0)
    model.learn(64)
    sb3_model_numbers("sb3_contrib.trpo", model, cartpole)
    model = ARS("LinearPolicy", "CartPole-v1", n_delta=2, n_top=1, seed=0)
    model.learn(200)
    sb3_model_numbers("sb3_contrib.ars", model, cartpole)
    model = RecurrentPPO("MlpLstmPolicy", "CartPole-v1", n_steps=32, batch_size=16, n_epochs=2,
                         policy_kwargs={**small, "lstm_hidden_size": 8}, seed=0)
    model.learn(32)
    sb3_model_numbers("sb3_contrib.recurrent_ppo", model, cartpole)
    env = InvalidActionEnvDiscrete(dim=6, n_invalid_actions=3)
    model = MaskablePPO("MlpPolicy", env, n_steps=32, batch_size=16, n_epochs=2,
                        policy_kwargs=small, seed=0)
    model.learn(32)
    for key, value in model.policy.state_dict().items():
        put(f"sb3_contrib.maskable.param.{key}", value)
    model = TQC("MlpPolicy", "Pendulum-v1", learning_starts=20, batch_size=16,
                policy_kwargs={"net_arch": [16], "n_quantiles": 5, "n_critics": 2},
                top_quantiles_to_drop_per_net=1, seed=0)
    model.learn(40)
    sb3_model_numbers("sb3_contrib.tqc", model, pendulum)
    model = CrossQ("MlpPolicy", "Pendulum-v1", learning_starts=20, batch_size=16,
                   policy_kwargs={"net_arch": {"pi": [16], "qf": [32]}}, seed=0)
    model.learn(40)
    # (not the biases of the linear layers that feed a BatchRenorm, nor that BatchRenorm's
    # running mean: batch statistics cancel such a bias, so its gradient is float32 rounding
    # noise of 1e-9 that Adam scales up to +-lr steps, on either library)
    sb3_model_numbers("sb3_contrib.crossq", model, pendulum, leave_out=(
        "actor.latent_pi.1.bias", "actor.latent_pi.3.ra_mean", "critic.qf0.1.bias",
        "critic.qf0.3.ra_mean", "critic.qf1.1.bias", "critic.qf1.3.ra_mean"))


# ------------------------------------------------------------------------------------- tensorly

@part("tensorly", "tensorly")
def tensorly_part():
    import tensorly as tl
    from tensorly import decomposition, tenalg

    tl.set_backend("pytorch")
    # (float64: the alternating least-squares loops amplify float32 rounding)
    x = tl.tensor(np.random.default_rng(0).standard_normal((5, 4, 3)), dtype=torch.float64)
    put("tensorly.unfold1", tl.unfold(x, 1))
    put("tensorly.fold", tl.fold(tl.unfold(x, 2), 2, x.shape))
    put("tensorly.khatri_rao", tenalg.khatri_rao([tl.unfold(x, 0)[:, :3], x[0, :, :]]))
    put("tensorly.mode_dot", tenalg.mode_dot(x, tl.ones((2, 4), dtype=torch.float64), 1))
    put("tensorly.multi_mode_dot", tenalg.multi_mode_dot(
        x, [tl.ones((2, 5), dtype=torch.float64), tl.ones((2, 3), dtype=torch.float64)],
        modes=[0, 2]))
    put("tensorly.norm", tl.norm(x, 2))
    u, singular, _ = tenalg.svd_interface(tl.unfold(x, 0), n_eigenvecs=2)  # (signs fixed)
    put("tensorly.svd.s", singular)
    put("tensorly.svd.u", u)
    cp = decomposition.parafac(x, rank=2, init="svd", n_iter_max=20, tol=0)
    put("tensorly.cp.weights", cp.weights)
    put("tensorly.cp.recon", tl.cp_to_tensor(cp))
    put("tensorly.cp.error", tl.norm(x - tl.cp_to_tensor(cp)))
    tucker = decomposition.tucker(x, rank=[2, 2, 2], init="svd", n_iter_max=10, tol=0)
    put("tensorly.tucker.recon", tl.tucker_to_tensor(tucker))
    tt = decomposition.tensor_train(x, rank=[1, 2, 2, 1])
    put("tensorly.tt.recon", tl.tt_to_tensor(tt))
    nn_cp = decomposition.non_negative_parafac(tl.abs(x), rank=2, init="svd", n_iter_max=10,
                                               tol=0)
    put("tensorly.nncp.recon", tl.cp_to_tensor(nn_cp))
    # Gradients through a CP reconstruction (a tensor-regression layer trained by autograd).
    factors = [torch.randn(n, 2, dtype=torch.float64, requires_grad=True) for n in x.shape]
    opt = torch.optim.Adam(factors, lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = tl.norm(tl.cp_to_tensor((None, factors)) - x) ** 2
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("tensorly.sgd.losses", np.array(losses))
    put("tensorly.sgd.grad", factors[0].grad)
    tl.set_backend("numpy")


if __name__ == "__main__":
    main()
