"""botorch 0.18.1 through its public API, beyond session 9's SingleTaskGP / EI / UCB part
(``prog_s9_T14_sci.py``), under PyTorch and under the alias (LE8, session 22): botorch's sdist
and wheel ship no tests (its ``test/`` folder stays in its repository).

Every model has fixed hyperparameters (fitting through scipy's L-BFGS is session 9's part):
the comparisons are of botorch's own algebra on deltagrad's tensors. float64 throughout, as
botorch asks.

Usage: ``prog_s22_LE8_botorch.py OUT.npz [SECTIONS]`` (comma-separated; all when absent).
"""

import warnings

import torch
from prog_s17_PG_harness import put, run

warnings.filterwarnings("ignore")
D64 = torch.float64


def _data(n=8, d=2, m=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, dtype=D64, generator=generator)
    Y = torch.cat([torch.sin((3 + i) * X[:, :1]) + X[:, 1:].pow(2).sum(-1, keepdim=True) * (i + 1)
                   for i in range(m)], dim=-1)
    return X, Y + 0.05 * torch.randn(n, m, dtype=D64, generator=generator)


def _fixed(model, lengthscale=0.4, noise=1e-3):
    """Set the usual hyperparameters of a SingleTaskGP-like model; eval mode."""
    model.covar_module.lengthscale = torch.full_like(model.covar_module.lengthscale, lengthscale)
    if hasattr(model.likelihood, "noise") and model.likelihood.noise.requires_grad is not None:
        try:
            model.likelihood.noise = torch.full_like(model.likelihood.noise, noise)
        except (AttributeError, RuntimeError):  # (fixed-noise likelihoods)
            pass
    return model.eval()


# Batches of q = 2 points apart from each other and from the baseline. (botorch's noisy
# acquisitions sample the new points through the Schur complement of their covariance given
# the baseline's; for random points it can be near-singular (~1e-17, or ~1e-20 over 8 baseline
# points of this smooth kernel), and whether its Cholesky then needs jitter, or what it gives,
# turns on its last bits, which two correct computations round apart: 1e-4 on one side only.)
_SPREAD = torch.tensor([[[0.1, 0.2], [0.7, 0.9]], [[0.4, 0.55], [0.95, 0.1]],
                        [[0.25, 0.8], [0.6, 0.35]]], dtype=D64)


def _posterior(key, model, test):
    posterior = model.posterior(test)
    put(f"{key}.mean", posterior.mean)
    put(f"{key}.variance", posterior.variance)
    test = test.clone().requires_grad_(True)
    value = model.posterior(test).mean.sum()
    put(f"{key}.grad", torch.autograd.grad(value, test)[0])


def models():
    """Posteriors (mean, variance, gradient of the mean) of several model classes."""
    from botorch.models import (
        ModelListGP,
        MultiTaskGP,
        SingleTaskGP,
        SingleTaskMultiFidelityGP,
    )
    from botorch.models.transforms import Normalize, Standardize

    X, Y = _data(m=2)
    test = torch.rand(5, 2, dtype=D64)
    gp = _fixed(SingleTaskGP(X, Y, outcome_transform=Standardize(m=2),
                             input_transform=Normalize(d=2)))
    _posterior("models.stgp2", gp, test)
    noisy = _fixed(SingleTaskGP(X, Y[:, :1], train_Yvar=torch.full_like(Y[:, :1], 0.01)))
    _posterior("models.fixednoise", noisy, test)
    listed = ModelListGP(_fixed(SingleTaskGP(X, Y[:, :1])), _fixed(SingleTaskGP(X, Y[:, 1:])))
    _posterior("models.list", listed, test)
    task = torch.cat([X, (torch.arange(8) % 2).to(D64).unsqueeze(-1)], dim=-1)
    multi = MultiTaskGP(task, Y[:, :1], task_feature=-1)
    multi.eval()
    _posterior("models.multitask", multi, test)
    fidelity = torch.cat([X, torch.linspace(0.2, 1, 8, dtype=D64).unsqueeze(-1)], dim=-1)
    mf = SingleTaskMultiFidelityGP(fidelity, Y[:, :1], data_fidelities=[2])
    mf.eval()
    _posterior("models.multifidelity", mf, torch.rand(4, 3, dtype=D64))
    condition = gp.condition_on_observations(test[:2], torch.rand(2, 2, dtype=D64))
    put("models.conditioned.mean", condition.posterior(test).mean)


def acquisitions():
    """Analytic and Monte-Carlo acquisition values and their input gradients."""
    from botorch.acquisition import (
        LogExpectedImprovement,
        PosteriorMean,
        ProbabilityOfImprovement,
        qExpectedImprovement,
        qKnowledgeGradient,
        qLogNoisyExpectedImprovement,
        qNoisyExpectedImprovement,
        qProbabilityOfImprovement,
        qSimpleRegret,
    )
    from botorch.acquisition.analytic import (
        LogProbabilityOfImprovement,
        PosteriorStandardDeviation,
    )
    from botorch.models import SingleTaskGP
    from botorch.sampling import SobolQMCNormalSampler

    X, Y = _data()
    gp = _fixed(SingleTaskGP(X, Y))
    # (improvements over the median and the three worst points: not all zero)
    best = Y.median()
    worst = X[Y.squeeze(-1).argsort()[:3]]
    test = torch.rand(4, 1, 2, dtype=D64, requires_grad=True)
    for name, acqf in (("logei", LogExpectedImprovement(gp, best_f=best)),
                       ("pi", ProbabilityOfImprovement(gp, best_f=best)),
                       ("logpi", LogProbabilityOfImprovement(gp, best_f=best)),
                       ("pmean", PosteriorMean(gp)),
                       ("pstd", PosteriorStandardDeviation(gp))):
        value = acqf(test)
        put(f"acq.{name}.value", value)
        put(f"acq.{name}.grad", torch.autograd.grad(value.sum(), test)[0])
    batch = _SPREAD[:3].clone().requires_grad_(True)
    for name, make in (("qei", lambda s: qExpectedImprovement(gp, best_f=best, sampler=s)),
                       ("qpi", lambda s: qProbabilityOfImprovement(gp, best_f=best, sampler=s)),
                       ("qsr", lambda s: qSimpleRegret(gp, sampler=s)),
                       ("qnei", lambda s: qNoisyExpectedImprovement(
                           gp, X_baseline=worst, sampler=s, prune_baseline=False)),
                       ("qlognei", lambda s: qLogNoisyExpectedImprovement(
                           gp, X_baseline=worst, sampler=s, prune_baseline=False))):
        acqf = make(SobolQMCNormalSampler(sample_shape=torch.Size([32]), seed=1))
        value = acqf(batch)
        put(f"acq.{name}.value", value)
        put(f"acq.{name}.grad", torch.autograd.grad(value.sum(), batch)[0])
    # (the one-shot knowledge gradient: 1 candidate and 4 fantasies per batch element)
    kg = qKnowledgeGradient(gp, num_fantasies=4)
    joint = torch.rand(3, 5, 2, dtype=D64, requires_grad=True)
    value = kg(joint)
    put("acq.qkg.value", value)
    put("acq.qkg.grad", torch.autograd.grad(value.sum(), joint)[0])


def multi_objective():
    """Pareto fronts, hypervolumes, box decompositions, and qEHVI / qLogNEHVI on a two-output
    model."""
    from botorch.acquisition.multi_objective import (
        qExpectedHypervolumeImprovement,
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.models import SingleTaskGP
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.multi_objective import is_non_dominated
    from botorch.utils.multi_objective.box_decompositions import (
        DominatedPartitioning,
        FastNondominatedPartitioning,
    )
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    Y = torch.rand(20, 2, dtype=D64)
    put("mo.pareto", is_non_dominated(Y))
    reference = torch.zeros(2, dtype=D64)
    put("mo.hv", Hypervolume(reference).compute(Y[is_non_dominated(Y)]))
    put("mo.hv3", Hypervolume(torch.zeros(3, dtype=D64)).compute(
        torch.rand(12, 3, dtype=D64)))
    partitioning = FastNondominatedPartitioning(ref_point=reference, Y=Y)
    put("mo.fast.bounds", partitioning.get_hypercell_bounds())
    dominated = DominatedPartitioning(ref_point=reference, Y=Y)
    put("mo.dominated.hv", dominated.compute_hypervolume())
    X, Yt = _data(m=2)
    gp = _fixed(SingleTaskGP(X, Yt))
    batch = _SPREAD[1:].clone().requires_grad_(True)
    reference = Yt.min(0).values - 0.1
    worst = Yt.sum(-1).argsort()[:3]  # (a front the new points can improve on)
    ehvi = qExpectedHypervolumeImprovement(
        gp, ref_point=reference.tolist(),
        partitioning=FastNondominatedPartitioning(ref_point=reference, Y=Yt[worst]),
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([16]), seed=2))
    value = ehvi(batch)
    put("mo.qehvi.value", value)
    put("mo.qehvi.grad", torch.autograd.grad(value.sum(), batch)[0])
    # botorch 0.18's qLogNEHVI JIT-compiles a fused C++ kernel on first use
    # (torch.utils.cpp_extension.load into ~/.cache/torch_extensions): 25-42 CPU s on the
    # PyTorch side whenever that cache is cold or rebuilt, and a different code path from
    # deltagrad's (which builds no C++ and falls back to botorch's pure-Python areas). Marked
    # as tried: both sides run the same pure-Python path, and no run pays the compile.
    import botorch.acquisition.multi_objective.logei as logei_module
    logei_module._load_attempted = True
    nehvi = qLogNoisyExpectedHypervolumeImprovement(
        gp, ref_point=reference.tolist(), X_baseline=X[worst], prune_baseline=False,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([16]), seed=3))
    value = nehvi(batch)
    put("mo.qlognehvi.value", value)
    put("mo.qlognehvi.grad", torch.autograd.grad(value.sum(), batch)[0])


def utilities():
    """Test functions, transforms, samplers and constraints of botorch.utils."""
    from botorch.test_functions import DTLZ2, ZDT1, Ackley, Branin, Hartmann, Rosenbrock
    from botorch.utils.sampling import draw_sobol_samples, sample_hypersphere, sample_simplex
    from botorch.utils.transforms import normalize, standardize, unnormalize

    x = torch.rand(6, 6, dtype=D64)
    for name, function in (("hartmann", Hartmann(dim=6)), ("ackley", Ackley(dim=6)),
                           ("rosenbrock", Rosenbrock(dim=6))):
        put(f"util.{name}", function(x))
        put(f"util.{name}.noiseless", function.evaluate_true(x))
    put("util.branin", Branin()(torch.rand(5, 2, dtype=D64) * 10))
    put("util.dtlz2", DTLZ2(dim=4, num_objectives=2)(torch.rand(5, 4, dtype=D64)))
    put("util.zdt1", ZDT1(dim=3)(torch.rand(5, 3, dtype=D64)))
    bounds = torch.tensor([[-1.0, 0.0], [1.0, 5.0]], dtype=D64)
    y = torch.rand(5, 2, dtype=D64)
    put("util.normalize", normalize(unnormalize(y, bounds), bounds))
    put("util.unnormalize", unnormalize(y, bounds))
    put("util.standardize", standardize(torch.randn(7, 2, dtype=D64)))
    put("util.sobol", draw_sobol_samples(bounds=bounds, n=4, q=2, seed=5))
    put("util.simplex", sample_simplex(3, n=4, dtype=D64, seed=6))
    put("util.hypersphere", sample_hypersphere(3, n=4, dtype=D64, seed=7))


def optimize():
    """optimize_acqf with a fixed seed: the initial conditions and the scipy L-BFGS-B steps."""
    from botorch.acquisition import qExpectedImprovement
    from botorch.models import SingleTaskGP
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler

    X, Y = _data()
    gp = _fixed(SingleTaskGP(X, Y))
    acqf = qExpectedImprovement(gp, best_f=Y.max(),
                                sampler=SobolQMCNormalSampler(torch.Size([32]), seed=0))
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=D64)
    candidate, value = optimize_acqf(acqf, bounds=bounds, q=2, num_restarts=2, raw_samples=16,
                                     options={"seed": 0, "maxiter": 20})
    put("optim.qei.candidate", candidate)
    put("optim.qei.value", value)


SECTIONS = {"models": models, "acquisitions": acquisitions, "multi_objective": multi_objective,
            "utilities": utilities, "optimize": optimize}

if __name__ == "__main__":
    run(SECTIONS)
