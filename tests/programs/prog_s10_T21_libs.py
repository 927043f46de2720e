"""T21's third-party programs, run unchanged on PyTorch and under ``python -m deltagrad run``:
schedulefree (AdamW / SGD / RAdam schedule-free, train/eval switching), pytorch-warmup (warmup
schedules around LR schedulers), torch-lr-finder (range tests), pytorch-msssim and piq (image
metrics and losses, values and gradients), blitz-bayesian-pytorch (Bayesian layers, ELBO),
torchquad (deterministic and seeded Monte-Carlo / VEGAS integration, gradients), torchode
(solve_ivp, adaptive controllers, batched problems) and pytorch-tcn (TCN forward / backward,
streaming inference).

Usage: ``prog_s10_T21_libs.py OUT.npz SECTIONS`` (comma-separated section names, see
``SECTIONS``). Every number goes to OUT.npz; a section that raises records its traceback as
``ERR.<section>``.
"""

import sys
import traceback
import types
import warnings

import numpy as np
import torch
from torch import nn

OUT: dict = {}


def put(prefix: str, value) -> None:
    """Records tensors, numbers and (nested) lists / tuples / dicts of them."""
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, (list, tuple)) and _numbers(value):
        OUT[prefix] = np.asarray(value)  # (losses, learning rates per step: one array)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            put(f"{prefix}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            put(f"{prefix}.{key}", item)
    elif value is None:
        OUT[prefix] = np.asarray("None")
    else:
        OUT[prefix] = np.asarray(value)


def _numbers(value) -> bool:
    """Whether ``value`` is a non-empty (nested) list of Python numbers."""
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_numbers(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mlp(seed: int = 0, width: int = 8) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, width), nn.Tanh(), nn.Linear(width, 1))


def regression_data(n: int = 32):
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(n, 4, generator=generator)
    y = (x @ torch.tensor([[0.5], [-1.0], [2.0], [0.25]]) + 0.1).sin()
    return x, y


# --- schedulefree ---------------------------------------------------------------------------

def run_schedulefree():
    import schedulefree

    x, y = regression_data()
    makers = {
        "adamw": lambda p: schedulefree.AdamWScheduleFree(p, lr=0.02, warmup_steps=3,
                                                          weight_decay=0.01),
        "sgd": lambda p: schedulefree.SGDScheduleFree(p, lr=0.05, momentum=0.9, warmup_steps=2),
        "radam": lambda p: schedulefree.RAdamScheduleFree(p, lr=0.02),
        "adamw_ref": lambda p: schedulefree.AdamWScheduleFreeReference(p, lr=0.02,
                                                                       warmup_steps=3),
        "sgd_ref": lambda p: schedulefree.SGDScheduleFreeReference(p, lr=0.05),
        "wrap": lambda p: schedulefree.ScheduleFreeWrapper(
            torch.optim.SGD(p, lr=0.05, momentum=0.0), momentum=0.9),
    }
    for name, make in makers.items():
        model = mlp()
        optimizer = make(model.parameters())
        losses, evals = [], []
        for step in range(8):
            model.train()
            optimizer.train()
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step % 3 == 2:  # evaluation at the averaged point x, then back to y
                model.eval()
                optimizer.eval()
                with torch.no_grad():
                    evals.append(nn.functional.mse_loss(model(x), y).item())
        put(f"schedulefree.{name}.losses", losses)
        put(f"schedulefree.{name}.evals", evals)
        optimizer.eval()
        put(f"schedulefree.{name}.params", list(model.parameters()))
        state = optimizer.state_dict()
        put(f"schedulefree.{name}.state_keys",
            sorted(str(k) for k in state["state"].get(0, {}).keys()))
    # The closure variants (step(closure) with train mode on).
    for name, cls in (("adamw_closure", schedulefree.AdamWScheduleFreeClosure),
                      ("sgd_closure", schedulefree.SGDScheduleFreeClosure),
                      ("radam_closure", schedulefree.RAdamScheduleFreeClosure)):
        model = mlp(1)
        optimizer = cls(model.parameters(), lr=0.02)
        losses = []
        for _ in range(5):
            def closure(model=model, optimizer=optimizer):
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                return loss
            losses.append(optimizer.step(closure).item())
        put(f"schedulefree.{name}.losses", losses)
        put(f"schedulefree.{name}.params", list(model.parameters()))


# --- pytorch-warmup -------------------------------------------------------------------------

def run_warmup():
    import pytorch_warmup as warmup

    x, y = regression_data()
    cases = {
        "linear_cos": (lambda o: warmup.LinearWarmup(o, warmup_period=4),
                       lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12)),
        "exp_step": (lambda o: warmup.ExponentialWarmup(o, warmup_period=3),
                     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
        "untuned_linear": (warmup.UntunedLinearWarmup,
                           lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        "untuned_exp": (warmup.UntunedExponentialWarmup,
                        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e))),
        "radam": (warmup.RAdamWarmup,
                  lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [5, 9], gamma=0.3)),
    }
    for name, (make_warmup, make_scheduler) in cases.items():
        model = mlp(2)
        optimizer = torch.optim.AdamW([{"params": model[0].parameters()},
                                       {"params": model[2].parameters(), "lr": 5e-3}],
                                      lr=1e-2, betas=(0.9, 0.99))
        scheduler = make_scheduler(optimizer)
        warmup_scheduler = make_warmup(optimizer)
        lrs, losses = [], []
        for _ in range(12):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            with warmup_scheduler.dampening():
                scheduler.step()
            lrs.append([group["lr"] for group in optimizer.param_groups])
            losses.append(loss.item())
        put(f"warmup.{name}.lrs", lrs)
        put(f"warmup.{name}.losses", losses)
        put(f"warmup.{name}.state", {k: v for k, v in warmup_scheduler.state_dict().items()
                                     if isinstance(v, (int, float, list))})
    put("warmup.rho_inf", warmup.rho_inf_fn(0.999))
    put("warmup.rho", [warmup.rho_fn(t, 0.999, warmup.rho_inf_fn(0.999)) for t in (1, 5, 50)])
    put("warmup.offset", warmup.get_offset(0.999, warmup.rho_inf_fn(0.999)))


# --- torch-lr-finder ------------------------------------------------------------------------

def run_lr_finder():
    from torch.utils.data import DataLoader, TensorDataset
    from torch_lr_finder import LRFinder

    x, y = regression_data(48)
    for name, mode, optimizer_cls, extra in (
            ("exp_sgd", "exp", torch.optim.SGD, {"momentum": 0.9}),
            ("linear_adam", "linear", torch.optim.Adam, {}),
            ("exp_val", "exp", torch.optim.SGD, {})):
        model = mlp(3)
        optimizer = optimizer_cls(model.parameters(), lr=1e-4, **extra)
        loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True,
                            generator=torch.Generator().manual_seed(4))
        finder = LRFinder(model, optimizer, nn.MSELoss(), device="cpu")
        val_loader = (DataLoader(TensorDataset(x[:16], y[:16]), batch_size=8)
                      if name == "exp_val" else None)
        finder.range_test(loader, val_loader=val_loader, end_lr=1.0, num_iter=14,
                          step_mode=mode, smooth_f=0.05, diverge_th=50,
                          accumulation_steps=2 if name == "linear_adam" else 1)
        put(f"lr_finder.{name}.lr", finder.history["lr"])
        put(f"lr_finder.{name}.loss", finder.history["loss"])
        put(f"lr_finder.{name}.best", finder.best_loss)
        finder.reset()  # the model and optimizer go back to their initial state
        put(f"lr_finder.{name}.reset_params", list(model.parameters()))
        put(f"lr_finder.{name}.reset_lr", optimizer.param_groups[0]["lr"])


# --- pytorch-msssim and piq ---------------------------------------------------------------

def images(shape=(2, 3, 48, 48), seed=6):
    """Two correlated images in [0, 1] (a clean one and a noisy, blurred copy)."""
    generator = torch.Generator().manual_seed(seed)
    clean = torch.rand(shape, generator=generator)
    clean = nn.functional.avg_pool2d(clean, 3, 1, 1)  # smoother, like a real image
    noisy = (0.8 * clean + 0.2 * torch.rand(shape, generator=generator)).clamp(0, 1)
    return clean, noisy


def run_msssim():
    from pytorch_msssim import MS_SSIM, SSIM, ms_ssim, ssim

    x, y = images((2, 3, 180, 180))  # ms_ssim's default 5 scales need > 160 pixels
    for name, fn in (("ssim", lambda a, b: ssim(a, b, data_range=1.0, size_average=False)),
                     ("ssim_k", lambda a, b: ssim(a, b, data_range=1.0, win_size=7,
                                                  K=(0.02, 0.04), nonnegative_ssim=True)),
                     ("ms_ssim", lambda a, b: ms_ssim(a, b, data_range=1.0,
                                                      size_average=False)),
                     ("ms_ssim_w", lambda a, b: ms_ssim(a, b, data_range=1.0, win_size=7,
                                                        weights=[0.3, 0.3, 0.4]))):
        a = x.clone().requires_grad_()
        value = fn(a, y)
        value.sum().backward()
        put(f"msssim.{name}", value)
        put(f"msssim.{name}.grad", a.grad)
    module = SSIM(data_range=255, size_average=True, channel=3)
    put("msssim.module_ssim", module(x * 255, y * 255))
    put("msssim.module_ms", MS_SSIM(data_range=1.0, channel=3)(x, y))
    volume = torch.rand(1, 1, 16, 16, 16, generator=torch.Generator().manual_seed(2))
    put("msssim.ssim3d", ssim(volume, volume.flip(-1), data_range=1.0, win_size=5))
    put("msssim.f64", ssim(x.double()[:, :, :40, :40], y.double()[:, :, :40, :40],
                           data_range=1.0))


def _stub_torchvision() -> None:
    """piq's package imports torchvision (for its pretrained LPIPS / DISTS / Inception, which
    these programs do not use); deltagrad cannot load torchvision's compiled operators, so both
    sides get the same empty stand-in (a user of piq's metrics never reaches it)."""
    vision = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")

    def refuse(*args, **kwargs):
        raise NotImplementedError("torchvision stand-in: no pretrained models here")

    models.vgg16 = models.vgg19 = models.inception_v3 = refuse
    models.inception = types.SimpleNamespace(**{  # (piq subclasses these at import)
        name: type(name, (nn.Module,), {}) for name in ("InceptionA", "InceptionC",
                                                          "InceptionE")})
    vision.models = models
    sys.modules["torchvision"] = vision
    sys.modules["torchvision.models"] = models


def run_piq():
    _stub_torchvision()
    import piq

    x, y = images()
    gray_x, gray_y = x.mean(1, keepdim=True), y.mean(1, keepdim=True)
    full = {
        "ssim": lambda a, b: piq.ssim(a, b, data_range=1.0, reduction="none"),
        "ssim_full": lambda a, b: piq.ssim(a, b, data_range=1.0, full=True)[1],
        "ssim_down": lambda a, b: piq.ssim(a, b, kernel_size=5, downsample=True),
        "ms_ssim": lambda a, b: piq.multi_scale_ssim(a, b, data_range=1.0, kernel_size=3,
                                                     reduction="none"),
        "psnr": lambda a, b: piq.psnr(a, b, data_range=1.0, reduction="none"),
        "psnr_y": lambda a, b: piq.psnr(a, b, convert_to_greyscale=True),
        "gmsd": lambda a, b: piq.gmsd(a, b, reduction="none"),
        "ms_gmsd": lambda a, b: piq.multi_scale_gmsd(a, b, chromatic=True, scale_weights=None,
                                                     reduction="none"),
        "vif_p": lambda a, b: piq.vif_p(a, b, sigma_n_sq=2.0, reduction="none"),
        "fsim": lambda a, b: piq.fsim(a, b, reduction="none"),
        "vsi": lambda a, b: piq.vsi(a, b, reduction="none"),
        "mdsi": lambda a, b: piq.mdsi(a, b, reduction="none"),
        "haarpsi": lambda a, b: piq.haarpsi(a, b, scales=2, reduction="none"),
        "srsim": lambda a, b: piq.srsim(a, b, reduction="none"),
        "dss": lambda a, b: piq.dss(a, b, dct_size=8, reduction="none"),
        "iw_ssim": lambda a, b: piq.information_weighted_ssim(
            nn.functional.interpolate(a, size=(170, 170), mode="bilinear"),
            nn.functional.interpolate(b, size=(170, 170), mode="bilinear"),
            reduction="none"),
    }
    for name, fn in full.items():
        try:
            a = x.clone().requires_grad_()
            value = fn(a, y)
            put(f"piq.{name}", value)
            value.sum().backward()
            put(f"piq.{name}.grad", a.grad)
        except Exception as error:  # noqa: BLE001 - recorded per metric
            put(f"piq.{name}.error", f"{type(error).__name__}: {error}"[:400])
    for name, fn in (("ssim_gray", lambda a, b: piq.ssim(a, b, data_range=1.0)),
                     ("gmsd_gray", lambda a, b: piq.gmsd(a, b)),
                     ("tv_l1", lambda a, b: piq.total_variation(a, norm_type="l1")),
                     ("tv_l2", lambda a, b: piq.total_variation(a, norm_type="l2")),
                     ("tv_l2_squared", lambda a, b: piq.total_variation(
                         a, norm_type="l2_squared", reduction="none"))):
        a = gray_x.clone().requires_grad_()
        value = fn(a, gray_y)
        value.sum().backward()
        put(f"piq.{name}", value)
        put(f"piq.{name}.grad", a.grad)
    for name, loss in (("SSIMLoss", piq.SSIMLoss(data_range=1.0)),
                       ("MultiScaleSSIMLoss", piq.MultiScaleSSIMLoss(kernel_size=3)),
                       ("GMSDLoss", piq.GMSDLoss()), ("TVLoss", piq.TVLoss()),
                       ("VIFLoss", piq.VIFLoss()), ("HaarPSILoss", piq.HaarPSILoss())):
        a = x.clone().requires_grad_()
        value = loss(a, y) if name != "TVLoss" else loss(a)
        value.backward()
        put(f"piq.loss.{name}", value)
        put(f"piq.loss.{name}.grad", a.grad)
    # VIF subtracts squared local means from local second moments (cancellation): in float32
    # the two libraries differ by ~1e-5 there, so it is also compared in float64.
    a = x.double().requires_grad_()
    value = piq.vif_p(a, y.double(), reduction="none")
    value.sum().backward()
    put("piq.vif_p64", value)
    put("piq.vif_p64.grad", a.grad)
    # Feature-based metrics from given features (no pretrained network).
    generator = torch.Generator().manual_seed(8)
    real = torch.randn(120, 16, generator=generator, dtype=torch.float64)
    fake = 0.9 * torch.randn(120, 16, generator=generator, dtype=torch.float64) + 0.2
    put("piq.fid", piq.FID()(real, fake))
    put("piq.kid", piq.KID(subset_size=50)(real, fake))  # (subsets drawn by numpy's rng)
    put("piq.pr", piq.PR(nearest_k=3)(real.float(), fake.float()))
    put("piq.fid_self", piq.FID()(real, real))
    logits = torch.randn(60, 10, generator=generator)
    put("piq.inception_score", piq.inception_score(logits, num_splits=3))
    put("piq.is_metric", piq.IS(num_splits=2)(logits[:30], logits[30:]))
    np.random.seed(9)  # (MSID draws its Lanczos start vectors from NumPy's global RNG)
    put("piq.msid", piq.MSID()(real.float(), fake.float()))


# --- blitz-bayesian-pytorch -----------------------------------------------------------------

def run_blitz():
    # In float64: the posterior's log-density divides by sigma^2 with sigma ~ 1e-3 (rho = -7),
    # which turns float32 rounding into 1e-4 relative differences of its gradients, and Adam
    # turns those into different trajectories (both libraries alike).
    torch.set_default_dtype(torch.float64)
    try:
        _blitz()
    finally:
        torch.set_default_dtype(torch.float32)


def _blitz():
    from blitz.losses import kl_divergence_from_nn
    from blitz.modules import (
        BayesianConv2d,
        BayesianEmbedding,
        BayesianGRU,
        BayesianLinear,
        BayesianLSTM,
    )
    from blitz.utils import variational_estimator

    @variational_estimator
    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.blinear1 = BayesianLinear(4, 8, prior_sigma_1=1.0, prior_pi=0.5)
            self.blinear2 = BayesianLinear(8, 1, posterior_rho_init=-3.0)

        def forward(self, x):
            return self.blinear2(torch.relu(self.blinear1(x)))

    x, y = (t.double() for t in regression_data())
    torch.manual_seed(11)
    model = Regressor()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    elbos = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = model.sample_elbo(inputs=x, labels=y, criterion=nn.MSELoss(), sample_nbr=3,
                                 complexity_cost_weight=1 / 32)
        loss.backward()
        optimizer.step()
        elbos.append(loss.item())
    put("blitz.elbo", elbos)
    put("blitz.params", list(model.parameters()))
    put("blitz.kl", model.nn_kl_divergence())
    put("blitz.kl_fn", kl_divergence_from_nn(model))
    torch.manual_seed(12)
    put("blitz.predict", [model(x[:4]) for _ in range(3)])
    for module in model.modules():  # frozen layers use their means: the same output twice
        if hasattr(module, "freeze"):
            module.freeze = True
    put("blitz.frozen", [model(x[:4]) for _ in range(2)])
    for module in model.modules():
        if hasattr(module, "freeze"):
            module.freeze = False
    detailed = model.sample_elbo_detailed_loss(inputs=x, labels=y, criterion=nn.MSELoss(),
                                               sample_nbr=2, complexity_cost_weight=0.1)
    put("blitz.detailed", [d if isinstance(d, torch.Tensor) else torch.as_tensor(d)
                           for d in detailed])

    torch.manual_seed(13)
    conv = BayesianConv2d(2, 3, (3, 3), stride=1, padding=1)
    image = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(1))
    out = conv(image)
    out.pow(2).mean().add(conv.log_variational_posterior - conv.log_prior).backward()
    put("blitz.conv", out)
    put("blitz.conv.grads", [p.grad for p in conv.parameters()])
    for name, cls in (("lstm", BayesianLSTM), ("gru", BayesianGRU)):
        torch.manual_seed(14)
        layer = cls(3, 5, prior_sigma_1=0.5)
        sequence = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(2))
        result = layer(sequence)
        output = result[0]
        output.sum().backward()
        put(f"blitz.{name}", output)
        put(f"blitz.{name}.kl", layer.log_variational_posterior - layer.log_prior)
        put(f"blitz.{name}.grads", [p.grad for p in layer.parameters()])
    torch.manual_seed(15)
    embedding = BayesianEmbedding(10, 4)
    put("blitz.embedding", embedding(torch.tensor([[1, 3, 9], [0, 0, 2]])))


# --- bayesian-torch -------------------------------------------------------------------------

def _quantization_stand_ins() -> None:
    """bayesian-torch's layer modules import torch.quantization.observer / .qconfig and
    torch.nn.quantized at import time (for its int8 conversion, unused here). deltagrad has no
    such modules (its quantization refuses clearly, see deltagrad.ao.quantization): where the
    import fails, empty stand-ins take their place so that the float layers can be checked."""
    needed = {"torch.quantization.observer": ("HistogramObserver", "MinMaxObserver",
                                              "PerChannelMinMaxObserver"),
              "torch.quantization.qconfig": ("QConfig",),
              "torch.nn.quantized": ("BatchNorm2d",)}
    for name, attributes in needed.items():
        try:
            __import__(name)
        except ImportError:
            module = types.ModuleType(name)
            for attribute in attributes:
                setattr(module, attribute, type(attribute, (), {}))
            sys.modules[name] = module


def run_bayesian():
    _quantization_stand_ins()
    from bayesian_torch.layers import (
        Conv2dFlipout,
        Conv2dReparameterization,
        LinearFlipout,
        LinearReparameterization,
        LSTMReparameterization,
    )
    from bayesian_torch.models.dnn_to_bnn import dnn_to_bnn, get_kl_loss

    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    image = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(2))
    for seed, (name, layer, inputs) in enumerate((
            ("linear_reparam", lambda: LinearReparameterization(4, 3), x),
            ("linear_flipout", lambda: LinearFlipout(4, 3, posterior_rho_init=-2.0), x),
            ("conv_reparam", lambda: Conv2dReparameterization(2, 3, 3, padding=1), image),
            ("conv_flipout", lambda: Conv2dFlipout(2, 3, 3), image),
            ("lstm_reparam", lambda: LSTMReparameterization(4, 5), x[None]))):
        torch.manual_seed(40 + seed)
        module = layer()
        result = module(inputs)
        out, kl = result[0], result[-1]  # (the LSTM: output, (h, c), kl)
        (out.pow(2).mean() + kl / 10).backward()
        put(f"bayesian.{name}.out", out)
        put(f"bayesian.{name}.kl", kl)
        put(f"bayesian.{name}.grads", [p.grad for p in module.parameters()])
    torch.manual_seed(46)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 1))
    for kind in ("Reparameterization", "Flipout"):
        torch.manual_seed(47)
        bnn = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 1))
        bnn.load_state_dict(model.state_dict())
        dnn_to_bnn(bnn, {"prior_mu": 0.0, "prior_sigma": 1.0, "posterior_mu_init": 0.0,
                         "posterior_rho_init": -3.0, "type": kind, "moped_enable": True,
                         "moped_delta": 0.2})
        optimizer = torch.optim.SGD(bnn.parameters(), lr=0.05)
        losses = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = bnn(image).pow(2).mean() + get_kl_loss(bnn) / 100
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"bayesian.dnn_to_bnn.{kind}.losses", losses)
        put(f"bayesian.dnn_to_bnn.{kind}.params", list(bnn.parameters()))


# --- torchquad ------------------------------------------------------------------------------

def run_torchquad():
    import torchquad
    from torchquad import VEGAS, Boole, GaussLegendre, MonteCarlo, Simpson, Trapezoid

    torchquad.set_log_level("ERROR")
    torchquad.set_up_backend("torch", data_type="float64")

    def fn(points):
        return torch.exp(-(points ** 2).sum(-1)) * torch.cos(points[:, 0])

    domain = [[-1.0, 1.0], [0.0, 2.0]]
    for name, integrator, n in (("trapezoid", Trapezoid(), 101 ** 2), ("simpson", Simpson(), 51),
                                ("boole", Boole(), 41 ** 2), ("gauss", GaussLegendre(), 16 ** 2)):
        put(f"torchquad.{name}", integrator.integrate(fn, dim=2, N=n, integration_domain=domain,
                                                      backend="torch"))
    put("torchquad.mc", MonteCarlo().integrate(fn, dim=2, N=4000, integration_domain=domain,
                                               seed=7, backend="torch"))
    put("torchquad.vegas", VEGAS().integrate(fn, dim=2, N=6000, integration_domain=domain,
                                             seed=7, backend="torch", max_iterations=5))
    # Gradients with respect to the integration domain and a parameter of the integrand.
    scale = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    bounds = torch.tensor([[0.0, 1.0], [-0.5, 1.5]], dtype=torch.float64, requires_grad=True)
    value = Simpson().integrate(lambda p: torch.sin(scale * p[:, 0]) * p[:, 1] ** 2, dim=2,
                                N=31 ** 2, integration_domain=bounds, backend="torch")
    value.backward()
    put("torchquad.grad.value", value)
    put("torchquad.grad.scale", scale.grad)
    put("torchquad.grad.bounds", bounds.grad)
    torchquad.set_up_backend("torch", data_type="float32")
    put("torchquad.f32", Trapezoid().integrate(lambda p: p[:, 0] ** 3, dim=1, N=1001,
                                               integration_domain=[[0.0, 2.0]], backend="torch"))


# --- torchode -------------------------------------------------------------------------------

def run_torchode():
    import torchode as to

    def decay(t, y):
        return -0.5 * y * (1 + torch.sin(t)[:, None])

    # solve_ivp's default tolerances (1e-7) are below float32's resolution: there the error
    # estimates are rounding noise and the accepted steps differ between any two float32
    # implementations, so the default-controller runs are float64 (float32 ones follow).
    y0 = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.1]])
    t_eval = torch.linspace(0, 3, 7).repeat(3, 1)
    for method in ("tsit5", "dopri5", "heun"):
        controller = (to.IntegralController(atol=1e-6, rtol=1e-5) if method == "heun"
                      else None)  # (Heun is 2nd order: at 1e-7 it takes ~3,000 steps)
        solution = to.solve_ivp(decay, y0.double(), t_eval.double(), method=method,
                                controller=controller)
        put(f"torchode.{method}.ys", solution.ys)
        put(f"torchode.{method}.ts", solution.ts)
        put(f"torchode.{method}.status", solution.status)
        put(f"torchode.{method}.steps", solution.stats["n_steps"])
    f32 = to.solve_ivp(decay, y0, t_eval, method="tsit5",
                       controller=to.IntegralController(atol=1e-5, rtol=1e-3))
    put("torchode.f32.ys", f32.ys)
    put("torchode.f32.steps", f32.stats["n_steps"])
    # A learnable vector field through AutoDiffAdjoint with PID / integral controllers (float64:
    # its gradients through five float32 Dopri5 steps differ by ~1e-4 relative at small entries).
    torch.manual_seed(21)
    field = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    y0, t_eval = y0.double(), t_eval.double()
    term = to.ODETerm(lambda t, y: field(y))
    for name, controller in (
            ("integral", to.IntegralController(atol=1e-6, rtol=1e-4, term=term)),
            ("pid", to.PIDController(atol=1e-6, rtol=1e-4, pcoeff=0.2, icoeff=0.5, dcoeff=0.0,
                                     term=term))):
        solver = to.AutoDiffAdjoint(to.Dopri5(term=term), controller)
        problem = to.InitialValueProblem(y0=y0, t_eval=t_eval)
        solution = solver.solve(problem)
        field.zero_grad()
        solution.ys[:, -1].pow(2).sum().backward()
        put(f"torchode.{name}.ys", solution.ys)
        put(f"torchode.{name}.steps", solution.stats["n_steps"])
        put(f"torchode.{name}.accepted", solution.stats["n_accepted"])
        put(f"torchode.{name}.grads", [p.grad for p in field.parameters()])
    # Different time spans per batch element (torchode's batched-problem feature), float64.
    t_batch = torch.stack([torch.linspace(0, 1, 5), torch.linspace(0.5, 4, 5),
                           torch.linspace(0, 2, 5)]).double()
    solution = to.solve_ivp(lambda t, y: -y, y0.double(), t_batch, method="dopri5")
    put("torchode.batched.ys", solution.ys)
    put("torchode.batched.exact", y0.double()[:, None, :]
        * torch.exp(-(t_batch - t_batch[:, :1]))[:, :, None])


# --- pytorch-tcn ----------------------------------------------------------------------------

def run_tcn():
    from pytorch_tcn import TCN

    x = torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(3))
    configs = {
        "weight_norm": {"use_norm": "weight_norm", "causal": True},
        "batch_norm": {"use_norm": "batch_norm", "causal": False, "activation": "gelu"},
        "layer_norm_skip": {"use_norm": "layer_norm", "use_skip_connections": True,
                            "kernel_initializer": "kaiming_normal"},
        "gated_nlc": {"use_norm": None, "use_gate": True, "input_shape": "NLC",
                      "output_projection": 2, "output_activation": "tanh"},
    }
    for name, options in configs.items():
        torch.manual_seed(31)
        model = TCN(3, [6, 6, 4], kernel_size=3, dilations=[1, 2, 4], dropout=0.1, **options)
        model.train()
        inputs = x.transpose(1, 2) if options.get("input_shape") == "NLC" else x
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = model(inputs).pow(2).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        put(f"tcn.{name}.losses", losses)
        put(f"tcn.{name}.out", model(inputs))
        put(f"tcn.{name}.grads", [p.grad for p in model.parameters()])
    # Streaming inference of a causal TCN in blocks equals the whole-sequence forward.
    torch.manual_seed(32)
    model = TCN(3, [5, 5], kernel_size=3, dilations=[1, 2], causal=True, use_norm=None,
                dropout=0.0).eval()
    whole = model(x[:1])
    model.reset_buffers()
    with torch.no_grad():
        blocks = [model.inference(x[:1, :, i:i + 5]) for i in range(0, 20, 5)]
    put("tcn.stream.whole", whole)
    put("tcn.stream.blocks", torch.cat(blocks, dim=-1))
    put("tcn.stream.buffers", model.get_buffers())
    # Embeddings added per time step (embedding_shapes) on a skip-connected, layer-normed TCN,
    # in float64 (the gradients through three layer norms of 4 channels cancel to ~1e-5 noise
    # of float32 in places).
    torch.manual_seed(33)
    model = TCN(3, [4, 4], kernel_size=2, use_norm="layer_norm", use_skip_connections=True,
                embedding_shapes=[(5,)], embedding_mode="concat", dropout=0.0).double()
    embedding = torch.randn(2, 5, generator=torch.Generator().manual_seed(4)).double()
    out = model(x.double(), embeddings=[embedding])
    out.sum().backward()
    put("tcn.embedding.out", out)
    put("tcn.embedding.grads", [p.grad for p in model.parameters()])


SECTIONS = {"schedulefree": run_schedulefree, "warmup": run_warmup, "lr_finder": run_lr_finder,
            "msssim": run_msssim, "piq": run_piq, "blitz": run_blitz, "bayesian": run_bayesian,
            "torchquad": run_torchquad, "torchode": run_torchode, "tcn": run_tcn}


def main() -> None:
    out_path, sections = sys.argv[1], sys.argv[2].split(",")
    warnings.filterwarnings("ignore")
    for section in sections:
        try:
            SECTIONS[section]()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{section}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    main()
