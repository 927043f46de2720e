"""Libraries whose source distributions ship no tests, run through their own test
configurations and public API under PyTorch and under the alias (LE3, session 20).

captum 0.9.0 ships the configuration its own target / JIT / DataParallel tests are generated
from (``captum.testing.attr.helpers.test_config.config``: 78 models and argument sets, each for
several attribution algorithms): every (config, algorithm) pair runs here. kornia 0.9.0: every
augmentation class that builds from its defaults (seeded draws), and ``histogram_matching``.
torchjd 0.18.0: its aggregators on fixed matrices and the README's Jacobian-descent loop.
laplace-torch 0.3: Laplace approximations of small nets (each curvature backend and Hessian
structure). geoopt 0.5.1: its manifolds' maps and the Riemannian optimizers. torchmetrics
1.9.0: its functional metrics (each task / average / option of the classification ones; the
regression, image, audio, clustering, nominal, retrieval, pairwise and text ones), a call that
raises recorded as its exception's class.

Usage: ``prog_s20_LE3_libs.py OUT.npz [SECTIONS]`` (comma-separated; all when absent).
"""

import inspect
import random
import warnings

import numpy as np
import torch
from prog_s17_PG_harness import put, run

warnings.filterwarnings("ignore")


def _put_nested(key: str, value) -> None:
    """``put`` for a tensor or number, or for tuples / lists / dicts of them nested any way."""
    if isinstance(value, dict):
        for name, item in value.items():
            _put_nested(f"{key}.{name}", item)
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            _put_nested(f"{key}.{index}", item)
    else:
        put(key, value)


def _case(key: str, function, *args, **kwargs) -> None:
    """Records what ``function(*args, **kwargs)`` returns, or the builtin class of what it
    raises (the sweeps call some functions with arguments they refuse: both sides must)."""
    torch.manual_seed(0)
    try:
        result = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - its class is what is compared
        put(f"{key}.error", next(c.__name__ for c in type(error).__mro__
                                 if c.__module__ == "builtins"))
    else:
        _put_nested(key, result)


def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


def _error(key: str, call) -> None:
    """Records the builtin class of the exception ``call`` raises ("none" if it raises none)."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - its class is what is compared
        put(key, next(c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"))
    else:
        put(key, "none")


# --- captum ---------------------------------------------------------------------------------

def _captum(names=None, algorithms=None) -> None:
    from captum.attr import NoiseTunnel
    from captum.testing.attr.helpers.gen_test_utils import get_target_layer, parse_test_config
    from captum.testing.attr.helpers.test_config import config

    for index, case in enumerate(config):
        if names is not None and case["name"] not in names:
            continue
        chosen, model, args, layer, noise_tunnel, _ = parse_test_config(case)
        for algorithm in chosen:
            if algorithms is not None and algorithm.__name__ not in algorithms:
                continue
            _seed()
            method = (algorithm(model, get_target_layer(model, layer)) if layer is not None
                      else algorithm(model))
            if noise_tunnel:
                method = NoiseTunnel(method)
            result = method.attribute(**args)
            key = f"captum.{index}.{algorithm.__name__}"
            _put_nested(key, result)


def captum_lime() -> None:
    # Lime and KernelShap fit scikit-learn's Lasso and read its coef_ back through
    # torch.FloatTensor(ndarray), a legacy constructor deltagrad read as sizes (s20)
    _captum(names={"basic_single_target", "basic_multi_input", "basic_multi_target"},
            algorithms={"Lime", "KernelShap", "IntegratedGradients", "DeepLift",
                        "FeatureAblation", "ShapleyValueSampling", "Occlusion"})


def captum_configs() -> None:
    _captum()


# --- kornia ---------------------------------------------------------------------------------

_SIZES = {"size": (8, 8), "output_size": (8, 8), "crop_size": (8, 8), "degrees": 30.0,
          "kernel_size": 3, "sigma": (0.1, 1.0), "angle": 30.0, "direction": 0.5}
# (classes that fail on PyTorch too with these arguments, or that are bases / containers)
_SKIP = {"AugmentationBase2D", "AugmentationBase3D", "GeometricAugmentationBase2D",
         "GeometricAugmentationBase3D", "IntensityAugmentationBase2D",
         "IntensityAugmentationBase3D", "RigidAffineAugmentationBase2D",
         "RigidAffineAugmentationBase3D", "MixAugmentationBaseV2",
         "ManyToManyAugmentationDispather", "ManyToOneAugmentationDispather", "PatchSequential",
         "VideoSequential", "CenterCrop3D",
         "RandomCrop3D", "RandomDissolving", "RandomRain", "RandomTransplantation",
         "RandomTransplantation3D"}


def kornia_augmentations() -> None:
    import kornia.augmentation as augmentation

    for name in sorted(dir(augmentation)):
        cls = getattr(augmentation, name)
        if name.startswith("_") or name in _SKIP or not inspect.isclass(cls):
            continue
        parameters = inspect.signature(cls.__init__).parameters
        required = [p.name for p in list(parameters.values())[1:]
                    if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if any(p not in _SIZES for p in required):
            continue
        _seed()
        kwargs = {p: _SIZES[p] for p in required}
        layer = cls(p=1.0, **kwargs) if "p" in parameters else cls(**kwargs)
        x = torch.rand(2, 3, 16, 16, requires_grad=True)
        y = layer(x)
        y = y[0] if isinstance(y, (tuple, list)) else y
        put(f"aug.{name}", y)
        if y.requires_grad:
            y.sum().backward()
            put(f"aug.{name}.grad", x.grad)


def kornia_histogram() -> None:
    from kornia.contrib import histogram_matching

    _seed()
    source = torch.rand(1, 3, 8, 8, requires_grad=True)
    template = torch.rand(1, 3, 8, 8, requires_grad=True)
    matched = histogram_matching(source, template)
    put("hist.matched", matched)
    put("hist.requires_grad", matched.requires_grad)
    # (not differentiable: the template's values come through unique, whose backward raises
    # NotImplementedError in PyTorch; deltagrad's unique was a leaf, and the backward ran)
    _error("hist.backward", lambda: (matched.sum() + source.sum()).backward())
    _error("hist.source_only", lambda: histogram_matching(source, template.detach()).sum()
           .backward())


# --- torchjd --------------------------------------------------------------------------------

def torchjd_aggregators() -> None:
    import torchjd.aggregation as aggregation

    _seed()
    matrices = {"wide": torch.randn(3, 5), "conflict": torch.tensor([[1.0, 0.0], [-0.5, 1.0]]),
                "double": torch.randn(4, 3, dtype=torch.float64)}
    for name in ("UPGrad", "MGDA", "Mean", "Sum", "DualProj", "PCGrad", "IMTLG", "AlignedMTL",
                 "ConFIG", "GradDrop", "GradVac", "Random", "PCD"):
        for label, matrix in matrices.items():
            _seed()
            put(f"jd.{name}.{label}", getattr(aggregation, name)()(matrix))


def torchjd_training() -> None:
    from torch.nn import Linear, MSELoss, ReLU, Sequential
    from torchjd.aggregation import MGDA, UPGrad
    from torchjd.autojac import backward, jac_to_grad, mtl_backward

    for label, make in (("upgrad", UPGrad), ("mgda", MGDA)):
        for mode in ("mtl", "backward"):
            _seed()
            shared = Sequential(Linear(10, 5), ReLU(), Linear(5, 3), ReLU())
            head1, head2 = Linear(3, 1), Linear(3, 1)
            params = [*shared.parameters(), *head1.parameters(), *head2.parameters()]
            optimizer = torch.optim.SGD(params, lr=0.1)
            aggregator = make()
            inputs, y1, y2 = torch.randn(3, 16, 10), torch.randn(3, 16, 1), torch.randn(3, 16, 1)
            for x, a, b in zip(inputs, y1, y2):
                features = shared(x)
                loss1, loss2 = MSELoss()(head1(features), a), MSELoss()(head2(features), b)
                if mode == "mtl":
                    mtl_backward([loss1, loss2], features=features)
                    jac_to_grad(shared.parameters(), aggregator)
                else:
                    backward([loss1, loss2])
                    jac_to_grad(params, aggregator)
                optimizer.step()
                optimizer.zero_grad()
            put(f"jdtrain.{label}.{mode}", [p.detach() for p in params])


# --- laplace --------------------------------------------------------------------------------

def laplace_fits() -> None:
    from laplace import Laplace
    from laplace.curvature import AsdlGGN, BackPackGGN, CurvlinopsEF, CurvlinopsGGN
    from torch.utils.data import DataLoader, TensorDataset

    _seed()
    x = torch.randn(24, 3)
    targets = {"regression": (x @ torch.tensor([1.0, -2.0, 0.5])).unsqueeze(1),
               "classification": (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()}
    backends = {"bpggn": BackPackGGN, "clggn": CurvlinopsGGN, "clef": CurvlinopsEF,
                "asdlggn": AsdlGGN}
    for likelihood, y in targets.items():
        loader = DataLoader(TensorDataset(x, y), batch_size=8)
        for subset in ("all", "last_layer"):
            for structure in ("full", "kron", "diag"):
                for label, backend in backends.items():
                    _seed()
                    torch.manual_seed(1)
                    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                                              torch.nn.Linear(5, 1 if likelihood[0] == "r" else 3))
                    la = Laplace(net, likelihood, subset_of_weights=subset,
                                 hessian_structure=structure, backend=backend)
                    la.fit(loader)
                    key = f"laplace.{likelihood}.{subset}.{structure}.{label}"
                    put(f"{key}.lml", la.log_marginal_likelihood())
                    la.optimize_prior_precision(method="marglik", n_steps=5)
                    put(f"{key}.prior", torch.as_tensor(la.prior_precision))
                    link = "probit" if likelihood == "classification" else "mc"
                    put(f"{key}.pred", la(x[:4], pred_type="glm", link_approx=link))


# --- geoopt ---------------------------------------------------------------------------------

def geoopt_manifolds() -> None:
    import geoopt
    from geoopt import manifolds

    torch.set_default_dtype(torch.float64)
    try:
        spaces = {"sphere": (manifolds.Sphere(), (3, 4)),
                  "ball": (manifolds.PoincareBall(c=1.3), (3, 4)),
                  "stereo": (manifolds.Stereographic(k=0.6), (3, 4)),
                  "lorentz": (manifolds.Lorentz(k=1.5), (3, 4)),
                  "spd": (manifolds.SymmetricPositiveDefinite(), (2, 3, 3)),
                  "birkhoff": (manifolds.BirkhoffPolytope(), (2, 4, 4))}
        for label, (space, shape) in spaces.items():
            _seed()
            draw = space.random_normal if label == "lorentz" else space.random
            x, y = draw(*shape), draw(*shape)
            u = space.proju(x, torch.randn(*shape))
            xx = x.clone().requires_grad_(True)
            put(f"geo.{label}.points", [x, y, u])
            for method in ("retr", "expmap", "transp"):
                if hasattr(space, method):
                    args = (xx, u) if method != "transp" else (xx, y, u)
                    put(f"geo.{label}.{method}", getattr(space, method)(*args))
            if type(space).dist is not manifolds.base.Manifold.dist:  # (else unimplemented)
                distance = space.dist(xx, y)
                distance.sum().backward()
                put(f"geo.{label}.dist", [distance, xx.grad])
        for name in ("RiemannianAdam", "RiemannianSGD"):
            _seed()
            sphere, poincare = manifolds.Sphere(), manifolds.PoincareBall()
            point = geoopt.ManifoldParameter(sphere.random(4, 5), manifold=sphere)
            ball = geoopt.ManifoldParameter(poincare.random(3, 2) * 0.5, manifold=poincare)
            extra = {"momentum": 0.9} if "SGD" in name else {}
            optimizer = getattr(geoopt.optim, name)([point, ball], lr=0.05, stabilize=2, **extra)
            target = torch.randn(4, 5)
            for _ in range(5):
                loss = ((point - target) ** 2).sum() + ball.norm()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            put(f"geoopt.{name}", [point.detach(), ball.detach()])
    finally:
        torch.set_default_dtype(torch.float32)


# --- torchmetrics ---------------------------------------------------------------------------

_REGRESSION = ("mean_squared_error", "mean_absolute_error", "r2_score", "pearson_corrcoef",
               "spearman_corrcoef", "kendall_rank_corrcoef", "concordance_corrcoef",
               "explained_variance", "log_cosh_error", "mean_absolute_percentage_error",
               "symmetric_mean_absolute_percentage_error",
               "weighted_mean_absolute_percentage_error", "tweedie_deviance_score",
               "relative_squared_error", "normalized_root_mean_squared_error",
               "mean_squared_log_error")
_IMAGE = ("peak_signal_noise_ratio", "structural_similarity_index_measure",
          "universal_image_quality_index", "spectral_angle_mapper",
          "error_relative_global_dimensionless_synthesis", "relative_average_spectral_error",
          "root_mean_squared_error_using_sliding_window", "spatial_correlation_coefficient",
          "spectral_distortion_index", "visual_information_fidelity",
          "peak_signal_noise_ratio_with_blocked_effect")
_AUDIO = ("signal_noise_ratio", "scale_invariant_signal_noise_ratio",
          "scale_invariant_signal_distortion_ratio", "signal_distortion_ratio")
_NOMINAL = ("cramers_v", "pearsons_contingency_coefficient", "theils_u", "tschuprows_t")
_TEXT = ("bleu_score", "sacre_bleu_score", "chrf_score", "translation_edit_rate",
         "extended_edit_distance")
_ERROR_RATES = ("char_error_rate", "word_error_rate", "match_error_rate",
                "word_information_lost", "word_information_preserved", "edit_distance")


def torchmetrics_classification() -> None:
    """Every functional metric taking ``task``, for each task, average, ignore_index, top_k."""
    import torchmetrics.functional as metrics

    _seed()
    inputs = {"binary": (torch.rand(30), torch.randint(0, 2, (30,)), {}),
              "multiclass": (torch.randn(30, 4).softmax(-1), torch.randint(0, 4, (30,)),
                             {"num_classes": 4}),
              "multilabel": (torch.rand(30, 3), torch.randint(0, 2, (30, 3)),
                             {"num_labels": 3})}
    for name in sorted(dir(metrics)):
        function = getattr(metrics, name)
        if name.startswith("_") or not inspect.isfunction(function):
            continue
        parameters = inspect.signature(function).parameters
        if "task" not in parameters:
            continue
        for task, (preds, target, extra) in inputs.items():
            key = f"tm.{name}.{task}"
            _case(key, function, preds, target, task=task, **extra)
            if "average" in parameters:
                for average in ("macro", "none", "weighted"):
                    _case(f"{key}.{average}", function, preds, target, task=task,
                          average=average, **extra)
            if "ignore_index" in parameters:
                ignored = target.clone()
                ignored.view(-1)[:3] = -1
                _case(f"{key}.ignore", function, preds, ignored, task=task, ignore_index=-1,
                      **extra)
            if task == "multiclass" and "top_k" in parameters:
                _case(f"{key}.top2", function, preds, target, task=task, top_k=2, **extra)


def torchmetrics_others() -> None:
    """Regression, image, audio, clustering, nominal, retrieval, pairwise and text metrics."""
    import torchmetrics.functional as metrics
    import torchmetrics.functional.clustering as clustering
    import torchmetrics.functional.image as image
    import torchmetrics.functional.text as text

    _seed()
    pairs = {"1d": (torch.randn(40), torch.randn(40)),
             "2d": (torch.randn(40, 3), torch.randn(40, 3))}
    pairs["pos"] = (pairs["1d"][0].abs() + 0.1, pairs["1d"][1].abs() + 0.1)
    for name in _REGRESSION:
        for label, (preds, target) in pairs.items():
            _case(f"tmo.{name}.{label}", getattr(metrics, name), preds, target)
    preds, target = pairs["2d"]
    _case("tmo.cosine", metrics.cosine_similarity, preds, target)
    _case("tmo.kl", metrics.kl_divergence, preds.softmax(-1), target.softmax(-1))
    _case("tmo.minkowski", metrics.minkowski_distance, preds, target, p=3)
    images = (torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    for name in _IMAGE:
        _case(f"tmo.{name}", getattr(image, name), *images)
    _case("tmo.tv", metrics.total_variation, images[0])
    _case("tmo.gradients", metrics.image_gradients, images[0])
    _case("tmo.msssim", metrics.multiscale_structural_similarity_index_measure,
          torch.rand(1, 1, 180, 180), torch.rand(1, 1, 180, 180))
    _case("tmo.ssim_full", metrics.structural_similarity_index_measure, *images,
          return_full_image=True, gaussian_kernel=False, kernel_size=5)
    clean, noise = torch.randn(2, 800), torch.randn(2, 800)
    for name in _AUDIO:
        _case(f"tmo.{name}", getattr(metrics, name), clean + noise, clean)
    _case("tmo.pit", metrics.permutation_invariant_training, torch.randn(3, 2, 300),
          torch.randn(3, 2, 300), metrics.scale_invariant_signal_distortion_ratio)
    labels, other = torch.randint(0, 4, (50,)), torch.randint(0, 3, (50,))
    for name in sorted(n for n in dir(clustering) if not n.startswith("_")):
        if inspect.isfunction(getattr(clustering, name)):
            _case(f"tmo.cluster.{name}", getattr(clustering, name), labels, other)
    for name in _NOMINAL:
        _case(f"tmo.{name}", getattr(metrics, name), labels, other)
        _case(f"tmo.{name}_matrix", getattr(metrics, name + "_matrix"),
              torch.randint(0, 3, (40, 4)))
    _case("tmo.fleiss", metrics.fleiss_kappa, torch.randint(0, 5, (20, 3)), "counts")
    scores = torch.rand(7)
    relevant = torch.tensor([False, True, False, True, False, False, True])
    for name in sorted(n for n in dir(metrics) if n.startswith("retrieval_")):
        _case(f"tmo.{name}", getattr(metrics, name), scores, relevant)
    x, y = torch.randn(6, 4), torch.randn(5, 4)
    for name in sorted(n for n in dir(metrics) if n.startswith("pairwise_")):
        extra = {"exponent": 3} if "minkowski" in name else {}
        _case(f"tmo.{name}", getattr(metrics, name), x, y, **extra)
        _case(f"tmo.{name}.self", getattr(metrics, name), x, zero_diagonal=True, **extra)
    hypotheses = ["the cat is on the mat", "hello there general kenobi"]
    references = [["there is a cat on the mat", "a cat is on the mat"],
                  ["hello there general kenobi"]]
    for name in _TEXT:
        _case(f"tmo.{name}", getattr(metrics, name), hypotheses, references)
    for name in _ERROR_RATES:
        _case(f"tmo.{name}", getattr(text, name), hypotheses, [r[0] for r in references])
    _case("tmo.perplexity", metrics.perplexity, torch.randn(2, 8, 5),
          torch.randint(0, 5, (2, 8)))

SECTIONS = {"captum_lime": captum_lime, "captum_configs": captum_configs,
            "kornia_augmentations": kornia_augmentations, "kornia_histogram": kornia_histogram,
            "torchjd_aggregators": torchjd_aggregators, "torchjd_training": torchjd_training,
            "laplace_fits": laplace_fits, "geoopt_manifolds": geoopt_manifolds,
            "torchmetrics_classification": torchmetrics_classification,
            "torchmetrics_others": torchmetrics_others}

if __name__ == "__main__":
    run(SECTIONS)
