"""Probe program (LC, session 12): audio, adversarial, scaling, pruning and lucidrains model
libraries on torch tensors (auraloss, asteroid-filterbanks, nnAudio, kymatio, torchattacks, mup,
torch-pruning, perceiver-pytorch, reformer-pytorch, tab-transformer-pytorch, siren-pytorch,
mlp-mixer-pytorch, g-mlp-pytorch, egnn-pytorch, conformer, mixture-of-experts, PaLM-pytorch,
lambda-networks, halonet-pytorch, bottleneck-transformer-pytorch, slot-attention), used the way
their READMEs do, seeded and small. Every number goes to an .npz.

Run as ``python prog_s12_LC_libs.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s12_LC_libs.py`` compares the two. PARTS is a
comma-separated subset of the part names (all by default). An exception in a part is recorded
as ``ERR.<part>`` (the other parts still run).
"""
import numpy as np
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


# ------------------------------------------------------------------------------------ auraloss

@part("auraloss", "auraloss")
def auraloss_part():
    import auraloss

    target = torch.randn(2, 1, 2048)
    estimate = (target + 0.3 * torch.randn(2, 1, 2048)).requires_grad_()
    time_losses = {"esr": auraloss.time.ESRLoss(), "dc": auraloss.time.DCLoss(),
                   "logcosh": auraloss.time.LogCoshLoss(), "snr": auraloss.time.SNRLoss(),
                   "sisdr": auraloss.time.SISDRLoss(), "sdsdr": auraloss.time.SDSDRLoss()}
    total = 0
    for name, fn in time_losses.items():
        value = fn(estimate, target)
        put(f"auraloss.time.{name}", value)
        total = total + value
    stft = auraloss.freq.STFTLoss(fft_size=256, hop_size=64, win_length=256)
    put("auraloss.stft", stft(estimate, target))
    multi = auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=[128, 256], hop_sizes=[32, 64],
                                                  win_lengths=[128, 256])
    put("auraloss.mrstft", multi(estimate, target))
    put("auraloss.stft.linlog", auraloss.freq.STFTLoss(
        fft_size=128, hop_size=32, win_length=128, window="hamming_window", w_lin_mag=1.0,
        )(estimate, target))
    # (not the phase term: torch's float32 FFT returns an exact 0 imaginary part on the
    # mirror-symmetric first frame where pocketfft leaves -6e-8, so angle() sits on the other
    # side of the -pi / pi cut; both are float32 rounding of the same spectrum)
    stereo_t, stereo_e = torch.randn(2, 2, 1024), torch.randn(2, 2, 1024)
    sd = auraloss.freq.SumAndDifferenceSTFTLoss(fft_sizes=[128, 256], hop_sizes=[32, 64],
                                                win_lengths=[128, 256])
    put("auraloss.sumdiff", sd(stereo_e, stereo_t))
    fir = auraloss.perceptual.FIRFilter(filter_type="aw", fs=16000)
    put("auraloss.fir", fir(estimate, target)[0])
    (total + stft(estimate, target) + multi(estimate, target)).backward()
    put("auraloss.grad", estimate.grad)


# --------------------------------------------------------------------------- asteroid-filterbanks

@part("asteroid", "asteroid_filterbanks")
def asteroid_part():
    from asteroid_filterbanks import make_enc_dec, transforms
    from asteroid_filterbanks.pcen import PCEN

    wav = torch.randn(2, 1, 800)
    for kind in ("free", "stft", "param_sinc", "analytic_free"):
        torch.manual_seed(1)
        enc, dec = make_enc_dec(kind, n_filters=32, kernel_size=32, stride=16,
                                sample_rate=8000)
        spec = enc(wav)
        put(f"asteroid.{kind}.spec", spec)
        put(f"asteroid.{kind}.back", dec(spec))
        put(f"asteroid.{kind}.mag", transforms.mag(spec))
    torch.manual_seed(2)
    # (a random filterbank: the STFT one has a zero sine row, whose pseudo-inverse amplifies
    # float32 noise by 1e7 on either library)
    enc, dec = make_enc_dec("free", n_filters=64, kernel_size=32, stride=16,
                            who_is_pinv="dec")
    put("asteroid.pinv.back", dec(enc(wav)))
    enc = make_enc_dec("stft", n_filters=64, kernel_size=64, stride=16)[0]
    spec = enc(wav)
    put("asteroid.magreim", transforms.magreim(spec))
    mask = torch.sigmoid(torch.randn(2, spec.shape[1] // 2, spec.shape[-1]))
    put("asteroid.realmask", transforms.apply_mag_mask(spec, mask))
    put("asteroid.angle", transforms.angle(spec))
    pcen = PCEN(n_channels=32)
    put("asteroid.pcen", pcen(transforms.mag(spec).unsqueeze(1)))

    # A small masking network trained on the free filterbank.
    torch.manual_seed(3)
    enc, dec = make_enc_dec("free", n_filters=16, kernel_size=16, stride=8)
    masker = torch.nn.Sequential(torch.nn.Conv1d(16, 16, 3, padding=1), torch.nn.Sigmoid())

    class Separator(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.masker, self.dec = enc, masker, dec

        def forward(self, x):
            tf = self.enc(x)
            return self.dec(tf * self.masker(tf))

    clean = torch.randn(4, 1, 400)
    noisy = clean + 0.2 * torch.randn(4, 1, 400)
    train(Separator(), lambda: ((noisy,), clean), torch.nn.functional.mse_loss,
          "asteroid.train")


# ------------------------------------------------------------------------------------- nnAudio

@part("nnaudio", "nnAudio")
def nnaudio_part():
    from nnAudio import features

    wav = torch.randn(2, 4000)
    stft = features.STFT(n_fft=256, hop_length=64, sr=8000, output_format="Magnitude",
                         verbose=False)
    put("nnaudio.stft", stft(wav))
    cplx = features.STFT(n_fft=128, hop_length=32, sr=8000, output_format="Complex",
                         iSTFT=True, verbose=False)
    spec = cplx(wav)
    put("nnaudio.stft.complex", spec)
    put("nnaudio.istft", cplx.inverse(spec, onesided=True, length=4000))
    mel = features.MelSpectrogram(sr=8000, n_fft=256, n_mels=32, hop_length=64,
                                  verbose=False)
    put("nnaudio.mel", mel(wav))
    mfcc = features.MFCC(sr=8000, n_mfcc=13, n_fft=256, n_mels=32, hop_length=64,
                         verbose=False)
    put("nnaudio.mfcc", mfcc(wav))
    cqt = features.CQT1992v2(sr=8000, hop_length=128, fmin=100, n_bins=24, verbose=False)
    put("nnaudio.cqt", cqt(wav))
    gamma = features.Gammatonegram(sr=8000, n_fft=256, n_bins=24, hop_length=64,
                                   verbose=False)
    put("nnaudio.gammatone", gamma(wav))
    # Trainable kernels: the spectrogram layer learns with the classifier.
    trainable = features.MelSpectrogram(sr=8000, n_fft=128, n_mels=16, hop_length=64,
                                        trainable_mel=True, trainable_STFT=True,
                                        verbose=False)
    head = torch.nn.Linear(16, 3)
    model = torch.nn.Sequential(trainable, _Lambda(lambda s: torch.log1p(s).mean(-1)), head)
    labels = torch.tensor([0, 2])
    train(model, lambda: ((wav,), labels), torch.nn.functional.cross_entropy,
          "nnaudio.train", lr=1e-3)


# --------------------------------------------------------------------------------- torchattacks

@part("torchattacks", "torchattacks")
def torchattacks_part():
    import torchattacks

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 4 * 4, 3)).eval()
    images = torch.rand(4, 3, 8, 8)
    labels = torch.tensor([0, 1, 2, 1])
    attacks = {
        "fgsm": torchattacks.FGSM(model, eps=0.05),
        "bim": torchattacks.BIM(model, eps=0.05, alpha=0.01, steps=3),
        "pgd": torchattacks.PGD(model, eps=0.05, alpha=0.01, steps=3),
        "pgdl2": torchattacks.PGDL2(model, eps=0.3, alpha=0.1, steps=3),
        "mifgsm": torchattacks.MIFGSM(model, eps=0.05, steps=3),
        "rfgsm": torchattacks.RFGSM(model, eps=0.05, alpha=0.02, steps=2),
        "tpgd": torchattacks.TPGD(model, eps=0.05, alpha=0.01, steps=2),
        "eotpgd": torchattacks.EOTPGD(model, eps=0.05, alpha=0.01, steps=2, eot_iter=2),
        "cw": torchattacks.CW(model, c=1, steps=4, lr=0.05),
        "deepfool": torchattacks.DeepFool(model, steps=3),
        "tifgsm": torchattacks.TIFGSM(model, eps=0.05, alpha=0.01, steps=2, kernel_name="gaussian",
                                      len_kernel=3, resize_rate=1.25, diversity_prob=1.0),
        "difgsm": torchattacks.DIFGSM(model, eps=0.05, alpha=0.01, steps=2, resize_rate=1.25,
                                      diversity_prob=1.0),
        # (scale 1, not 10: a saturated softmax leaves 1e-10 gradients whose sign is rounding)
        "jitter": torchattacks.Jitter(model, eps=0.05, alpha=0.01, steps=2, scale=1),
        "apgd": torchattacks.APGD(model, eps=0.05, steps=4, n_restarts=1, seed=0),
    }
    for name, attack in attacks.items():
        torch.manual_seed(5)
        adversarial = attack(images, labels)
        put(f"torchattacks.{name}", adversarial)
        put(f"torchattacks.{name}.pred", model(adversarial).argmax(1))
    targeted = torchattacks.PGD(model, eps=0.05, alpha=0.01, steps=3, random_start=False)
    targeted.set_mode_targeted_by_label(quiet=True)
    put("torchattacks.targeted", targeted(images, (labels + 1) % 3))


# ------------------------------------------------------------------------------------------ mup

@part("mup", "mup")
def mup_part():
    import mup

    class Net(torch.nn.Module):
        def __init__(self, width):
            super().__init__()
            self.inp = torch.nn.Linear(6, width)
            self.hidden = torch.nn.Linear(width, width)
            self.out = mup.MuReadout(width, 3)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(torch.relu(self.inp(x)))))

    base, delta, model = Net(8), Net(16), Net(32)
    mup.set_base_shapes(model, base, delta=delta)
    for p in model.parameters():
        if p.dim() > 1:
            mup.init.kaiming_uniform_(p, a=5 ** 0.5)
    put("mup.width_mult", np.array([p.infshape.width_mult() for p in model.parameters()]))
    x = torch.randn(10, 6)
    y = torch.randint(0, 3, (10,))
    for name, make in (("adam", lambda ps: mup.MuAdam(ps, lr=0.01)),
                       ("sgd", lambda ps: mup.MuSGD(ps, lr=0.1, momentum=0.9)),
                       ("adamw", lambda ps: mup.MuAdamW(ps, lr=0.01, weight_decay=0.1))):
        torch.manual_seed(1)
        net = Net(32)
        mup.set_base_shapes(net, base, delta=delta)
        train(net, lambda: ((x,), y), torch.nn.functional.cross_entropy, f"mup.{name}",
              optimizer=make(net.parameters()))
        put(f"mup.{name}.out", net(x))
    put("mup.readout", model(x))


# -------------------------------------------------------------------------------- torch-pruning

@part("torch_pruning", "torch_pruning")
def torch_pruning_part():
    import torch_pruning as tp

    def make():
        torch.manual_seed(4)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 5))
        for norm in (model[1], model[4]):  # (not all ones: BN-scale ranks would all tie)
            torch.nn.init.uniform_(norm.weight, 0.5, 1.5)
        return model

    example = torch.randn(2, 3, 8, 8)
    model = make()
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=example)
    group = graph.get_pruning_group(model[0], tp.prune_conv_out_channels, idxs=[1, 3, 5])
    # The modules the group prunes (deltagrad's graph has more element-wise nodes between them:
    # its batch norm is several recorded ops where PyTorch's is one).
    put("torch_pruning.group.modules", np.array(sorted({
        f"{dep.target.module.__class__.__name__}.{dep.handler.__name__}" for dep, _ in group
        if not type(dep.target.module).__name__.startswith("_")})))
    group.prune()
    put("torch_pruning.group.shapes", np.concatenate([p.shape for p in model.parameters()]))
    put("torch_pruning.group.out", model(example))
    for name, importance in (("l1", tp.importance.MagnitudeImportance(p=1)),
                             ("l2", tp.importance.MagnitudeImportance(p=2)),
                             ("bn", tp.importance.BNScaleImportance()),
                             ("taylor", tp.importance.TaylorImportance())):
        model = make()
        if name == "taylor":
            model(example).sum().backward()
        pruner = tp.pruner.MetaPruner(model, example, importance=importance,
                                      pruning_ratio=0.5, ignored_layers=[model[-1]])
        pruner.step()
        macs, params = tp.utils.count_ops_and_params(model, example)
        put(f"torch_pruning.{name}.counts", np.array([macs, params]))
        put(f"torch_pruning.{name}.out", model(example))
        put(f"torch_pruning.{name}.w0", model[0].weight)


# ---------------------------------------------------------------------------- lucidrains models

def _lm_batches(vocab, batch, length):
    tokens = torch.randint(0, vocab, (batch, length + 1))
    return lambda: ((tokens[:, :-1],), tokens[:, 1:])


def _lm_loss(logits, target):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             target.reshape(-1))


@part("perceiver", "perceiver_pytorch")
def perceiver_part():
    from perceiver_pytorch import Perceiver, PerceiverIO, PerceiverLM

    model = Perceiver(input_channels=3, input_axis=2, num_freq_bands=4, max_freq=10.,
                      depth=2, num_latents=8, latent_dim=16, cross_heads=1, latent_heads=2,
                      cross_dim_head=8, latent_dim_head=8, num_classes=4, weight_tie_layers=True)
    images = torch.randn(2, 6, 6, 3)
    put("perceiver.out", model(images))
    train(model, lambda: ((images,), torch.tensor([1, 3])),
          torch.nn.functional.cross_entropy, "perceiver.train")
    io = PerceiverIO(dim=12, queries_dim=10, logits_dim=5, depth=2, num_latents=6,
                     latent_dim=16, cross_heads=1, latent_heads=2, cross_dim_head=8,
                     latent_dim_head=8)
    seq, queries = torch.randn(2, 9, 12), torch.randn(2, 7, 10)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 6:] = False
    put("perceiver.io", io(seq, mask=mask, queries=queries))
    lm = PerceiverLM(num_tokens=20, dim=16, depth=1, max_seq_len=12, num_latents=6,
                     latent_dim=16, cross_heads=1, latent_heads=2, cross_dim_head=8,
                     latent_dim_head=8)
    train(lm, _lm_batches(20, 2, 12), _lm_loss, "perceiver.lm")


@part("reformer", "reformer_pytorch")
def reformer_part():
    from reformer_pytorch import LSHSelfAttention, ReformerLM

    attention = LSHSelfAttention(dim=16, heads=2, bucket_size=4, n_hashes=2, causal=False)
    x = torch.randn(2, 16, 16)
    put("reformer.lsh", attention(x))
    lm = ReformerLM(num_tokens=20, dim=16, depth=2, max_seq_len=16, heads=2, bucket_size=4,
                    n_hashes=2, lsh_dropout=0., causal=True, ff_chunks=2)
    train(lm, _lm_batches(20, 2, 16), _lm_loss, "reformer.lm")
    reversible = ReformerLM(num_tokens=20, dim=16, depth=2, max_seq_len=16, heads=2,
                            bucket_size=4, n_hashes=1, causal=True, use_full_attn=True)
    train(reversible, _lm_batches(20, 2, 16), _lm_loss, "reformer.full")


@part("tab_transformer", "tab_transformer_pytorch")
def tab_transformer_part():
    from tab_transformer_pytorch import FTTransformer, TabTransformer

    categ = torch.stack([torch.randint(0, n, (8,)) for n in (4, 3, 5)], dim=1)
    cont = torch.randn(8, 2)
    target = torch.randn(8, 1)
    tab = TabTransformer(categories=(4, 3, 5), num_continuous=2, dim=16, depth=2, heads=2,
                         dim_out=1, mlp_hidden_mults=(2, 1), mlp_act=torch.nn.ReLU(),
                         continuous_mean_std=torch.stack([torch.zeros(2), torch.ones(2)], -1),
                         num_residual_streams=1)
    put("tab_transformer.tab", tab(categ, cont))
    train(tab, lambda: ((categ, cont), target), torch.nn.functional.mse_loss,
          "tab_transformer.tab.train")
    ft = FTTransformer(categories=(4, 3, 5), num_continuous=2, dim=16, depth=2, heads=2,
                       dim_out=1, num_residual_streams=1)
    out, attns = ft(categ, cont, return_attn=True)
    put("tab_transformer.ft", out)
    put("tab_transformer.ft.attn", attns)
    train(ft, lambda: ((categ, cont), target), torch.nn.functional.mse_loss,
          "tab_transformer.ft.train")


@part("siren", "siren_pytorch")
def siren_part():
    from siren_pytorch import SirenNet, SirenWrapper

    net = SirenNet(dim_in=2, dim_hidden=16, dim_out=3, num_layers=3, w0_initial=30.)
    coords = torch.rand(32, 2) * 2 - 1
    put("siren.net", net(coords))
    wrapper = SirenWrapper(net, image_width=8, image_height=8, latent_dim=4)
    image, latent = torch.rand(3, 8, 8), torch.randn(4)
    put("siren.image", wrapper(latent=latent))
    losses = []
    opt = torch.optim.Adam(wrapper.parameters(), lr=1e-3)
    for _ in range(3):
        loss = wrapper(image, latent=latent)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("siren.losses", np.array(losses))


@part("mlp_mixer", "mlp_mixer_pytorch")
def mlp_mixer_part():
    from mlp_mixer_pytorch import MLPMixer, Permutator

    mixer = MLPMixer(image_size=8, channels=3, patch_size=4, dim=16, depth=2, num_classes=4)
    images = torch.randn(2, 3, 8, 8)
    put("mlp_mixer.out", mixer(images))
    train(mixer, lambda: ((images,), torch.tensor([0, 3])), torch.nn.functional.cross_entropy,
          "mlp_mixer.train")
    perm = Permutator(image_size=8, patch_size=4, dim=16, depth=1, num_classes=4, segments=4)
    put("mlp_mixer.permutator", perm(images))


@part("g_mlp", "g_mlp_pytorch")
def g_mlp_part():
    from g_mlp_pytorch import gMLP, gMLPVision

    lm = gMLP(num_tokens=20, dim=16, depth=2, seq_len=12, causal=True, circulant_matrix=True,
              attn_dim=8, heads=2)
    train(lm, _lm_batches(20, 2, 12), _lm_loss, "g_mlp.lm")
    vision = gMLPVision(image_size=8, patch_size=4, num_classes=3, dim=16, depth=2)
    images = torch.randn(2, 3, 8, 8)
    put("g_mlp.vision", vision(images))
    train(vision, lambda: ((images,), torch.tensor([2, 0])),
          torch.nn.functional.cross_entropy, "g_mlp.vision.train")


@part("egnn", "egnn_pytorch")
def egnn_part():
    import sys

    # (egnn_pytorch imports torch_geometric, when installed, for its sparse layers, which are
    # not run here: blocking it saves ~10 s on either side)
    sys.modules.setdefault("torch_geometric", None)
    from egnn_pytorch import EGNN, EGNN_Network

    layer = EGNN(dim=8, edge_dim=2, m_dim=8, num_nearest_neighbors=3, norm_coors=True)
    feats, coors = torch.randn(2, 6, 8), torch.randn(2, 6, 3)
    edges = torch.randn(2, 6, 6, 2)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    f_out, c_out = layer(feats, coors, edges, mask=mask)
    put("egnn.feats", f_out)
    put("egnn.coors", c_out)
    # Equivariance: rotating the input coordinates rotates the output ones.
    q, _ = torch.linalg.qr(torch.randn(3, 3))
    f_rot, c_rot = layer(feats, coors @ q, edges, mask=mask)
    put("egnn.rot_feats_diff", (f_rot - f_out).abs().max())
    put("egnn.rot_coors_diff", (c_rot - c_out @ q).abs().max() < 1e-4)
    # A chain: its second-degree neighbours plus the node itself are at most 5, so the 5 nearest
    # are never chosen among tied ranks (topk's order among ties is unspecified in PyTorch).
    net = EGNN_Network(num_tokens=10, dim=8, depth=2, num_nearest_neighbors=5, m_dim=8,
                       num_adj_degrees=2, adj_dim=2)
    tokens = torch.randint(0, 10, (2, 6))
    chain = torch.zeros(6, 6, dtype=torch.bool)
    chain[torch.arange(5), torch.arange(1, 6)] = True
    adjacency = (chain | chain.t()).unsqueeze(0).expand(2, -1, -1)
    f_net, c_net = net(tokens, coors, adj_mat=adjacency)
    put("egnn.net.feats", f_net)
    put("egnn.net.coors", c_net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        f_net, c_net = net(tokens, coors, adj_mat=adjacency)
        loss = f_net.pow(2).mean() + (c_net - coors).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("egnn.net.losses", np.array(losses))


@part("conformer", "conformer")
def conformer_part():
    from conformer import Conformer, ConformerBlock

    block = ConformerBlock(dim=16, dim_head=8, heads=2, ff_mult=2, conv_expansion_factor=2,
                           conv_kernel_size=7)
    x = torch.randn(2, 10, 16)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[0, 7:] = False
    put("conformer.block", block(x, mask=mask))
    model = Conformer(dim=16, depth=2, dim_head=8, heads=2, ff_mult=2, conv_kernel_size=5,
                      conv_causal=True)
    model.train()
    target = torch.randn(2, 10, 16)
    train(model, lambda: ((x,), target), torch.nn.functional.mse_loss, "conformer.train")
    model.eval()
    put("conformer.eval", model(x))


@part("moe", "mixture_of_experts")
def moe_part():
    from mixture_of_experts import HeirarchicalMoE, MoE

    moe = MoE(dim=8, num_experts=4, hidden_dim=16, second_policy_train="all",
              second_policy_eval="all")
    x = torch.randn(2, 6, 8)
    out, aux = moe(x)
    put("moe.out", out)
    put("moe.aux", aux)
    (out.sum() + aux).backward()
    put("moe.grad", moe.experts.w1.grad)
    moe.eval()
    put("moe.eval", moe(x)[0])
    torch.manual_seed(2)
    sampled = MoE(dim=8, num_experts=4, second_policy_train="random")
    put("moe.random", sampled(x)[0])
    hier = HeirarchicalMoE(dim=8, num_experts=(2, 2), second_policy_train="all",
                           second_policy_eval="all")
    out, aux = hier(x)
    put("moe.hier", out)
    put("moe.hier.aux", aux)


@part("lucid_more", "palm_pytorch")
def lucid_more_part():
    import importlib.util

    from palm_pytorch import PaLM

    palm = PaLM(num_tokens=20, dim=16, depth=2, dim_head=8, heads=2)
    train(palm, _lm_batches(20, 2, 12), _lm_loss, "lucid_more.palm")
    images = torch.randn(2, 8, 8, 8)
    if importlib.util.find_spec("lambda_networks"):
        from lambda_networks import LambdaLayer

        for name, kwargs in (("global", {"n": 8}), ("local", {"r": 3}), ("u", {"r": 3,
                                                                                "dim_u": 2})):
            layer = LambdaLayer(dim=8, dim_out=16, dim_k=4, heads=4, **kwargs)
            put(f"lucid_more.lambda.{name}", layer(images))
    if importlib.util.find_spec("halonet_pytorch"):
        from halonet_pytorch import HaloAttention

        halo = HaloAttention(dim=8, block_size=4, halo_size=1, dim_head=4, heads=2)
        put("lucid_more.halo", halo(images))
    if importlib.util.find_spec("bottleneck_transformer_pytorch"):
        from bottleneck_transformer_pytorch import BottleStack

        for rel in (False, True):
            stack = BottleStack(dim=8, fmap_size=8, dim_out=16, proj_factor=2, num_layers=2,
                                heads=2, dim_head=4, downsample=True, rel_pos_emb=rel)
            train(stack, lambda: ((images,), None), lambda out, _: out.pow(2).mean(),
                  f"lucid_more.bottleneck.{'rel' if rel else 'abs'}")
    if importlib.util.find_spec("slot_attention"):
        from slot_attention import MultiHeadSlotAttention, SlotAttention

        inputs = torch.randn(2, 10, 16)
        torch.manual_seed(6)  # (the slots start from a draw in forward)
        slots = SlotAttention(num_slots=3, dim=16, iters=2, hidden_dim=16)
        put("lucid_more.slots", slots(inputs))
        torch.manual_seed(7)
        multi = MultiHeadSlotAttention(num_slots=3, dim=16, heads=2, dim_head=8, iters=2,
                                       hidden_dim=16)
        torch.manual_seed(8)
        train(multi, lambda: ((inputs,), None), lambda out, _: out.pow(2).mean(),
              "lucid_more.multislots")


# ------------------------------------------------------------------------------------- kymatio

@part("kymatio", "kymatio")
def kymatio_part():
    import scipy.special
    if not hasattr(scipy.special, "sph_harm"):
        # (kymatio 0.3 imports sph_harm, which SciPy 1.17 renamed: the same stand-in on both
        # sides; the 3-D scattering that uses it is not run here)
        scipy.special.sph_harm = (
            lambda m, n, theta, phi: scipy.special.sph_harm_y(n, m, phi, theta))
    from kymatio.torch import Scattering1D, Scattering2D

    signal = torch.randn(2, 128, requires_grad=True)
    scattering = Scattering1D(J=3, shape=128, Q=4)
    coefficients = scattering(signal)
    put("kymatio.1d", coefficients)
    coefficients.pow(2).sum().backward()
    put("kymatio.1d.grad", signal.grad)
    images = torch.randn(1, 2, 16, 16)
    put("kymatio.2d", Scattering2D(J=2, shape=(16, 16), L=4)(images))


class _Lambda(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


if __name__ == "__main__":
    main()
