"""Probe program (T5): gpytorch (with linear_operator), torchsde and torch-ema used the way their
READMEs and tutorials do, seeded and small; every number goes to an .npz.

Run as ``python prog_s8_T5_gp_sde_ema.py OUT.npz SECTIONS`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s8_T5_third_party.py`` compares the two. An
exception in a part is recorded as ``ERR.<part>`` (the other parts still run). The harness and
the torchsde and torch-ema parts live in ``prog_s8_T5_sde_ema.py``.

Parts whose float32 numbers are chaotically sensitive to summation order (L-BFGS on a GP with
priors, unwhitened variational inference with nearly singular inducing covariances) run in
float64, where the two libraries agree to 1e-7; float32 is what the rest checks.
"""
import io
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prog_s8_T5_sde_ema import ERR, OUT, flat, part, put  # noqa: E402
from prog_s8_T5_sde_ema import SECTIONS as SDE_EMA_SECTIONS  # noqa: E402

# ---------------------------------------------------------------------------------- gpytorch

def exact_gp_class():
    import gpytorch

    class ExactGPModel(gpytorch.models.ExactGP):
        def __init__(self, train_x, train_y, likelihood, covar, mean=None):
            super().__init__(train_x, train_y, likelihood)
            self.mean_module = mean if mean is not None else gpytorch.means.ConstantMean()
            self.covar_module = covar

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x),
                                                             self.covar_module(x))
    return ExactGPModel


def train_exact(model, likelihood, x, y, steps, lr=0.1):
    import gpytorch
    model.train()
    likelihood.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(likelihood, model)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -mll(model(x), y)
        if loss.dim():
            loss = loss.sum()
        loss.backward()
        losses.append(loss.item())
        optimizer.step()
    return np.array(losses)


@part("gp.exact")
def gp_exact():
    """The README's exact GP regression: RBF and Matern, Adam on the exact MLL, predictions
    with fast_pred_var off and on."""
    import gpytorch
    model_class = exact_gp_class()
    train_x = torch.linspace(0, 1, 30)
    train_y = torch.sin(train_x * (2 * math.pi)) + torch.randn(train_x.size()) * math.sqrt(0.04)
    kernels = {"rbf": gpytorch.kernels.RBFKernel(),
               "matern": gpytorch.kernels.MaternKernel(nu=2.5)}
    for name, kernel in kernels.items():
        likelihood = gpytorch.likelihoods.GaussianLikelihood()
        model = model_class(train_x, train_y, likelihood, gpytorch.kernels.ScaleKernel(kernel))
        put(f"gp.exact.{name}.losses", train_exact(model, likelihood, train_x, train_y, 8))
        put(f"gp.exact.{name}.params", flat(model.parameters()))
        model.eval()
        likelihood.eval()
        test_x = torch.linspace(0, 1, 11)
        for fast in (False, True):
            with torch.no_grad(), gpytorch.settings.fast_pred_var(fast):
                pred = likelihood(model(test_x))
                put(f"gp.exact.{name}.{fast}.mean", pred.mean)
                put(f"gp.exact.{name}.{fast}.var", pred.variance)
                put(f"gp.exact.{name}.{fast}.lower", pred.confidence_region()[0])


@part("gp.cg")
def gp_cg():
    """The same model through linear_operator's iterative paths: CG solves, Lanczos, stochastic
    trace estimates with torch-random probe vectors (max_cholesky_size(0))."""
    import gpytorch
    model_class = exact_gp_class()
    train_x = torch.linspace(0, 1, 30)
    train_y = torch.cos(train_x * 5) + 0.1 * torch.randn(30)
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    model = model_class(train_x, train_y, likelihood,
                        gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel()))
    with gpytorch.settings.max_cholesky_size(0), gpytorch.settings.cg_tolerance(1e-4):
        put("gp.cg.losses", train_exact(model, likelihood, train_x, train_y, 5))
        put("gp.cg.grads", flat(p.grad for p in model.parameters()))
        model.eval()
        likelihood.eval()
        for fast in (False, True):
            with torch.no_grad(), gpytorch.settings.fast_pred_var(fast):
                pred = likelihood(model(torch.linspace(0, 1, 9)))
                put(f"gp.cg.{fast}.mean", pred.mean)
                put(f"gp.cg.{fast}.var", pred.variance)


@part("gp.multitask")
def gp_multitask():
    import gpytorch
    x = torch.linspace(0, 1, 20)
    y = torch.stack([torch.sin(x * 6.28) + 0.1 * torch.randn(20),
                     torch.cos(x * 6.28) + 0.1 * torch.randn(20)], -1)

    class MultitaskGP(gpytorch.models.ExactGP):
        def __init__(self, likelihood):
            super().__init__(x, y, likelihood)
            self.mean_module = gpytorch.means.MultitaskMean(gpytorch.means.ConstantMean(),
                                                            num_tasks=2)
            self.covar_module = gpytorch.kernels.MultitaskKernel(gpytorch.kernels.RBFKernel(),
                                                                 num_tasks=2, rank=1)

        def forward(self, v):
            return gpytorch.distributions.MultitaskMultivariateNormal(self.mean_module(v),
                                                                      self.covar_module(v))

    likelihood = gpytorch.likelihoods.MultitaskGaussianLikelihood(num_tasks=2)
    model = MultitaskGP(likelihood)
    put("gp.multitask.losses", train_exact(model, likelihood, x, y, 6))
    model.eval()
    likelihood.eval()
    with torch.no_grad(), gpytorch.settings.fast_pred_var():
        pred = likelihood(model(torch.linspace(0, 1, 7)))
        put("gp.multitask.mean", pred.mean)
        put("gp.multitask.var", pred.variance)


def approximate_gp_class(strategy_class, distribution_class, kernel):
    import gpytorch

    class Approximate(gpytorch.models.ApproximateGP):
        def __init__(self, inducing, learn=True):
            distribution = distribution_class(inducing.size(0))
            super().__init__(strategy_class(self, inducing, distribution,
                                            learn_inducing_locations=learn))
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(kernel)

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x),
                                                             self.covar_module(x))
    return Approximate


@part("gp.svgp")
def gp_svgp():
    """Stochastic variational GP with minibatches and the VariationalELBO; the prediction right
    after training reads the Cholesky cache that ``model.eval()`` must clear (through the
    strategy's own ``train(False)``)."""
    import gpytorch
    from gpytorch.variational import CholeskyVariationalDistribution, VariationalStrategy
    x = torch.rand(50)
    y = torch.sin(x * 6) + 0.1 * torch.randn(50)
    model = approximate_gp_class(VariationalStrategy, CholeskyVariationalDistribution,
                                 gpytorch.kernels.MaternKernel(nu=1.5))(torch.linspace(0, 1, 8))
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    model.train()
    likelihood.train()
    optimizer = torch.optim.Adam(list(model.parameters()) + list(likelihood.parameters()),
                                 lr=0.05)
    elbo = gpytorch.mlls.VariationalELBO(likelihood, model, num_data=y.size(0))
    losses = []
    for _ in range(5):
        for xb, yb in zip(x.split(25), y.split(25)):
            optimizer.zero_grad()
            loss = -elbo(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("gp.svgp.losses", np.array(losses))
    model.eval()
    likelihood.eval()
    with torch.no_grad():
        pred = likelihood(model(torch.linspace(0, 1, 9)))
        put("gp.svgp.mean", pred.mean)
        put("gp.svgp.var", pred.variance)
        put("gp.svgp.sample", pred.sample(torch.Size([3])))


@part("gp.classification", float64=True)
def gp_classification():
    """Bernoulli likelihood (Gauss-Hermite quadrature) with whitened Cholesky and unwhitened
    mean-field variational distributions."""
    import gpytorch
    from gpytorch.variational import (
        CholeskyVariationalDistribution,
        MeanFieldVariationalDistribution,
        UnwhitenedVariationalStrategy,
        VariationalStrategy,
    )
    x = torch.rand(40, 1)
    labels = (torch.sin(6 * x[:, 0]) > 0).to(torch.get_default_dtype())
    kinds = {"chol": (VariationalStrategy, CholeskyVariationalDistribution),
             "meanfield": (UnwhitenedVariationalStrategy, MeanFieldVariationalDistribution)}
    for name, (strategy, distribution) in kinds.items():
        torch.manual_seed(1)
        model = approximate_gp_class(strategy, distribution, gpytorch.kernels.RBFKernel())(
            torch.linspace(0, 1, 6).unsqueeze(-1), learn=False)
        likelihood = gpytorch.likelihoods.BernoulliLikelihood()
        model.train()
        likelihood.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        mll = gpytorch.mlls.VariationalELBO(likelihood, model, num_data=40)
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = -mll(model(x), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"gp.classification.{name}.losses", np.array(losses))
        model.eval()
        likelihood.eval()
        with torch.no_grad():
            probs = likelihood(model(torch.linspace(0, 1, 5).unsqueeze(-1))).probs
            put(f"gp.classification.{name}.probs", probs)


@part("gp.kernels")
def gp_kernels():
    import gpytorch
    kernels = gpytorch.kernels
    x = torch.rand(20, 2)
    y = torch.sin(x.sum(-1) * 3) + 0.05 * torch.randn(20)
    test_x = torch.rand(5, 2)
    chosen = {
        "periodic": lambda: kernels.PeriodicKernel(),
        "linear": lambda: kernels.LinearKernel(),
        "poly": lambda: kernels.PolynomialKernel(power=2),
        "rq": lambda: kernels.RQKernel(),
        "ard_prior": lambda: kernels.RBFKernel(
            ard_num_dims=2, lengthscale_prior=gpytorch.priors.GammaPrior(3.0, 6.0)),
        "sum": lambda: (kernels.ScaleKernel(kernels.RBFKernel())
                        + kernels.ScaleKernel(kernels.MaternKernel(nu=0.5))),
        "product": lambda: (kernels.RBFKernel(active_dims=[0])
                            * kernels.PeriodicKernel(active_dims=[1])),
        "spectral": lambda: kernels.SpectralMixtureKernel(num_mixtures=2, ard_num_dims=2),
        "additive": lambda: kernels.AdditiveStructureKernel(kernels.RBFKernel(), num_dims=2),
        "piecewise": lambda: kernels.PiecewisePolynomialKernel(q=2),
    }
    model_class = exact_gp_class()
    for name, make in chosen.items():
        torch.manual_seed(0)
        kernel = make()
        if name == "spectral":
            kernel.initialize_from_data(x, y)
        likelihood = gpytorch.likelihoods.GaussianLikelihood(
            noise_constraint=gpytorch.constraints.GreaterThan(1e-3))
        model = model_class(x, y, likelihood, kernel)
        put(f"gp.kernels.{name}.losses", train_exact(model, likelihood, x, y, 4))
        model.eval()
        likelihood.eval()
        with torch.no_grad():
            put(f"gp.kernels.{name}.pred", likelihood(model(test_x)).mean)


@part("gp.operators")
def gp_operators():
    """linear_operator directly: solves, log-determinants, roots, CG and Lanczos, structured
    (Kronecker, diagonal, low-rank, concatenated, batched) operators."""
    import linear_operator
    from linear_operator import to_linear_operator
    from linear_operator.functions import pivoted_cholesky
    from linear_operator.operators import (
        CatLinearOperator,
        DiagLinearOperator,
        KroneckerProductLinearOperator,
        LowRankRootLinearOperator,
    )
    from linear_operator.utils import linear_cg
    from linear_operator.utils.cholesky import psd_safe_cholesky
    from linear_operator.utils.lanczos import lanczos_tridiag

    def spd(n, batch=()):
        a = torch.randn(*batch, n, n)
        return a @ a.mT + n * torch.eye(n)

    a, rhs = spd(6), torch.randn(6, 2)
    op = to_linear_operator(a)
    put("gp.operators.solve", op.solve(rhs))
    put("gp.operators.logdet", op.logdet())
    inv_quad, logdet = op.inv_quad_logdet(inv_quad_rhs=rhs, logdet=True)
    put("gp.operators.inv_quad_logdet", torch.stack([inv_quad, logdet]))
    put("gp.operators.diagonal", op.diagonal())
    root = op.root_decomposition().root.to_dense()
    put("gp.operators.root", root @ root.mT)
    put("gp.operators.cholesky", op.cholesky().to_dense())
    put("gp.operators.psd_cholesky", psd_safe_cholesky(spd(5)))
    put("gp.operators.pivoted", pivoted_cholesky(spd(5), 3))

    big, rhs = spd(10), torch.randn(10, 3)
    put("gp.operators.linear_cg", linear_cg(big.matmul, rhs, max_iter=50, tolerance=1e-6))
    _, tridiag = lanczos_tridiag(big.matmul, 5, dtype=big.dtype, device=big.device,
                                 matrix_shape=big.shape, init_vecs=torch.ones(10, 1))
    put("gp.operators.lanczos", tridiag)
    with linear_operator.settings.max_cholesky_size(0):
        put("gp.operators.cg_solve", to_linear_operator(big).solve(rhs))
        leaf = big.clone().requires_grad_(True)
        with linear_operator.settings.num_trace_samples(20):
            inv_quad, logdet = to_linear_operator(leaf).inv_quad_logdet(inv_quad_rhs=rhs,
                                                                        logdet=True)
        (inv_quad + logdet).backward()
        put("gp.operators.cg_inv_quad_logdet", torch.stack([inv_quad, logdet]).detach())
        put("gp.operators.cg_grad", leaf.grad)
        root = to_linear_operator(big).root_decomposition(method="lanczos").root.to_dense()
        put("gp.operators.lanczos_root", root @ root.mT)
        inverse = to_linear_operator(big).root_inv_decomposition().root.to_dense()
        put("gp.operators.lanczos_root_inv", inverse @ inverse.mT)

    kron = KroneckerProductLinearOperator(to_linear_operator(spd(2)), to_linear_operator(spd(3)))
    rhs = torch.randn(6, 2)
    diag = DiagLinearOperator(torch.rand(6) + 0.5)
    low_rank = LowRankRootLinearOperator(torch.randn(6, 2))
    put("gp.operators.kron_dense", kron.to_dense())
    put("gp.operators.kron_solve", kron.solve(rhs))
    put("gp.operators.kron_logdet", kron.logdet())
    put("gp.operators.sum_solve", (kron + diag).solve(rhs))
    put("gp.operators.low_rank_solve", (low_rank + diag).solve(rhs))
    put("gp.operators.low_rank_logdet", (low_rank + diag).logdet())
    cat = CatLinearOperator(to_linear_operator(torch.randn(2, 4)),
                            to_linear_operator(torch.randn(3, 4)), dim=-2)
    put("gp.operators.cat", cat.to_dense())
    batch = to_linear_operator(spd(4, (2,)))
    put("gp.operators.batch_solve", batch.solve(torch.randn(2, 4, 1)))
    put("gp.operators.batch_index", batch[1, :2, 1:].to_dense())


@part("gp.distributions")
def gp_distributions():
    import gpytorch
    from linear_operator import to_linear_operator
    a = torch.randn(4, 4)
    covariance = a @ a.T + 4 * torch.eye(4)
    mvn = gpytorch.distributions.MultivariateNormal(torch.zeros(4), covariance)
    put("gp.distributions.log_prob", mvn.log_prob(torch.randn(4)))
    put("gp.distributions.rsample", mvn.rsample(torch.Size([3])))
    put("gp.distributions.entropy", mvn.entropy())
    other = gpytorch.distributions.MultivariateNormal(torch.ones(4),
                                                      to_linear_operator(covariance * 2))
    put("gp.distributions.kl", torch.distributions.kl_divergence(mvn, other))
    b = torch.randn(6, 6)
    multitask = gpytorch.distributions.MultitaskMultivariateNormal(
        torch.zeros(3, 2), b @ b.T + 6 * torch.eye(6))
    put("gp.distributions.multitask_log_prob", multitask.log_prob(torch.randn(3, 2)))
    put("gp.distributions.multitask_rsample", multitask.rsample())


@part("gp.priors", float64=True)
def gp_priors():
    """Priors on hyperparameters, ``initialize``, L-BFGS, a state_dict round trip, gradients of
    the predictive mean with respect to the inputs, kernel diagonals, a fantasy model and fast
    predictive samples; then SGPR (InducingPointKernel) and a two-layer deep GP."""
    import gpytorch
    from gpytorch.models.deep_gps import DeepGP, DeepGPLayer
    from gpytorch.variational import CholeskyVariationalDistribution, VariationalStrategy
    kernels = gpytorch.kernels
    x = torch.rand(25, 1)
    y = torch.sin(5 * x[:, 0]) + 0.05 * torch.randn(25)

    def make():
        covar = kernels.ScaleKernel(
            kernels.RBFKernel(lengthscale_prior=gpytorch.priors.LogNormalPrior(0.0, 1.0)),
            outputscale_prior=gpytorch.priors.GammaPrior(2.0, 0.5))
        likelihood = gpytorch.likelihoods.GaussianLikelihood(
            noise_prior=gpytorch.priors.HalfCauchyPrior(0.1))
        return exact_gp_class()(x, y, likelihood, covar, gpytorch.means.LinearMean(1))

    model = make()
    model.initialize(**{"likelihood.noise": 0.05, "covar_module.outputscale": 1.5,
                        "covar_module.base_kernel.lengthscale": 0.3})
    put("gp.priors.initialized", flat(model.parameters()))
    put("gp.priors.names", np.array([name for name, *_ in model.named_priors()]))
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(model.likelihood, model)
    model.train()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.1, max_iter=5)

    def closure():
        optimizer.zero_grad()
        loss = -mll(model(x), y)
        loss.backward()
        return loss
    put("gp.priors.lbfgs", np.array([optimizer.step(closure).item() for _ in range(3)]))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = make()
    restored.load_state_dict(torch.load(buffer))
    restored.eval()
    test_x = torch.linspace(0, 1, 6).unsqueeze(-1).requires_grad_(True)
    put("gp.priors.dmean_dx", torch.autograd.grad(restored(test_x).mean.sum(), test_x)[0])
    with torch.no_grad():
        put("gp.priors.kernel_diag", restored.covar_module(test_x, test_x, diag=True))
        put("gp.priors.kernel_cross", restored.covar_module(test_x, x[:4]).to_dense())
        fantasy = restored.get_fantasy_model(torch.rand(3, 1), torch.randn(3))
        put("gp.priors.fantasy", fantasy(test_x).mean)
    with torch.no_grad(), gpytorch.settings.fast_pred_samples(), \
            gpytorch.settings.fast_pred_var():
        torch.manual_seed(5)
        put("gp.priors.fast_samples",
            restored.likelihood(restored(test_x)).rsample(torch.Size([2])))

    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    sgpr = exact_gp_class()(x, y, likelihood, kernels.InducingPointKernel(
        kernels.ScaleKernel(kernels.RBFKernel()), inducing_points=x[:6].clone(),
        likelihood=likelihood))
    put("gp.priors.sgpr_losses", train_exact(sgpr, likelihood, x, y, 4, lr=0.05))
    sgpr.eval()
    likelihood.eval()
    with torch.no_grad():
        pred = likelihood(sgpr(torch.linspace(0, 1, 5).unsqueeze(-1)))
        put("gp.priors.sgpr_mean", pred.mean)
        put("gp.priors.sgpr_var", pred.variance)

    class Layer(DeepGPLayer):
        def __init__(self, dims_in, dims_out):
            batch = torch.Size([dims_out]) if dims_out else torch.Size([])
            inducing = torch.randn(*batch, 4, dims_in)
            distribution = CholeskyVariationalDistribution(4, batch_shape=batch)
            super().__init__(VariationalStrategy(self, inducing, distribution,
                                                 learn_inducing_locations=True),
                             dims_in, dims_out)
            self.mean_module = gpytorch.means.ConstantMean(batch_shape=batch)
            self.covar_module = kernels.ScaleKernel(kernels.RBFKernel(batch_shape=batch),
                                                    batch_shape=batch)

        def forward(self, v):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(v),
                                                             self.covar_module(v))

    class TwoLayers(DeepGP):
        def __init__(self):
            super().__init__()
            self.hidden = Layer(1, 2)
            self.last = Layer(2, None)
            self.likelihood = gpytorch.likelihoods.GaussianLikelihood()

        def forward(self, v):
            return self.last(self.hidden(v))

    deep = TwoLayers()
    optimizer = torch.optim.Adam(deep.parameters(), lr=0.05)
    mll = gpytorch.mlls.DeepApproximateMLL(
        gpytorch.mlls.VariationalELBO(deep.likelihood, deep, 25))
    losses = []
    with gpytorch.settings.num_likelihood_samples(3):
        for _ in range(3):
            optimizer.zero_grad()
            loss = -mll(deep(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("gp.priors.deep_gp", np.array(losses))


@part("gp.more", float64=True)
def gp_more():
    """Hyperparameter setters through constraints, gpytorch.metrics, Dirichlet classification
    (a batch of regressions on transformed labels), fixed plus learned noise, ArcKernel and
    random Fourier features (torch-random frequencies)."""
    import gpytorch
    kernels = gpytorch.kernels
    x = torch.rand(30, 1)
    y = torch.sin(6 * x[:, 0]) + 0.1 * torch.randn(30)
    test_x = torch.rand(8, 1)
    test_y = torch.sin(6 * test_x[:, 0])
    model_class = exact_gp_class()
    kernel = kernels.ScaleKernel(kernels.RBFKernel(
        lengthscale_constraint=gpytorch.constraints.Interval(0.05, 2.0)))
    kernel.base_kernel.lengthscale = 0.5
    kernel.outputscale = torch.tensor(2.0)
    put("gp.more.raw_values", torch.stack([kernel.base_kernel.raw_lengthscale.reshape(()),
                                           kernel.raw_outputscale]).detach())
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    model = model_class(x, y, likelihood, kernel, gpytorch.means.ZeroMean())
    model.eval()
    likelihood.eval()
    with torch.no_grad():
        pred = likelihood(model(test_x))
        metrics = gpytorch.metrics
        put("gp.more.nlpd", metrics.negative_log_predictive_density(pred, test_y))
        put("gp.more.msll", metrics.mean_standardized_log_loss(pred, test_y))
        put("gp.more.mse", metrics.mean_squared_error(pred, test_y))
        put("gp.more.coverage", metrics.quantile_coverage_error(pred, test_y))

    labels = (x[:, 0] > 0.5).long()
    dirichlet = gpytorch.likelihoods.DirichletClassificationLikelihood(
        labels, learn_additional_noise=True)
    batch = torch.Size((2,))
    classifier = model_class(
        x, dirichlet.transformed_targets, dirichlet,
        kernels.ScaleKernel(kernels.RBFKernel(batch_shape=batch), batch_shape=batch),
        gpytorch.means.ConstantMean(batch_shape=batch))
    put("gp.more.dirichlet_losses",
        train_exact(classifier, dirichlet, x, dirichlet.transformed_targets, 4))
    classifier.eval()
    with torch.no_grad():  # (not samples: this predictive covariance has eigenvalues ~1e-17,
        # and whether its Cholesky needs jitter varies between runs of PyTorch itself)
        put("gp.more.dirichlet_mean", classifier(test_x).mean)

    noisy = gpytorch.likelihoods.FixedNoiseGaussianLikelihood(
        noise=torch.full((30,), 0.01), learn_additional_noise=True)
    model = model_class(x, y, noisy, kernels.ScaleKernel(kernels.MaternKernel(nu=0.5)))
    put("gp.more.fixed_noise_losses", train_exact(model, noisy, x, y, 4))
    model.eval()
    noisy.eval()
    with torch.no_grad():
        put("gp.more.fixed_noise_var",
            noisy(model(test_x), noise=torch.full((8,), 0.01)).variance)
        arc = kernels.ArcKernel(kernels.MaternKernel(nu=2.5),
                                angle_prior=gpytorch.priors.GammaPrior(0.5, 1),
                                radius_prior=gpytorch.priors.GammaPrior(3, 2), ard_num_dims=1)
        put("gp.more.arc", arc(torch.rand(5, 1)).to_dense())
        put("gp.more.rff", kernels.RFFKernel(num_samples=10)(torch.rand(4, 1)).to_dense())


@part("gp.lists")
def gp_lists():
    """IndependentModelList with LikelihoodList and SumMarginalLogLikelihood; a batch of
    independent outputs as a MultitaskMultivariateNormal.from_batch_mvn; the dense paths
    (fast_computations off) and a small Lanczos root for fast_pred_var."""
    import gpytorch
    kernels = gpytorch.kernels
    model_class = exact_gp_class()
    x1, x2 = torch.rand(15, 1), torch.rand(12, 1)
    y1, y2 = torch.sin(5 * x1[:, 0]), torch.cos(5 * x2[:, 0])
    first, second = gpytorch.likelihoods.GaussianLikelihood(), \
        gpytorch.likelihoods.GaussianLikelihood()
    models = gpytorch.models.IndependentModelList(
        model_class(x1, y1, first, kernels.ScaleKernel(kernels.RBFKernel())),
        model_class(x2, y2, second, kernels.ScaleKernel(kernels.MaternKernel())))
    likelihoods = gpytorch.likelihoods.LikelihoodList(first, second)
    mll = gpytorch.mlls.SumMarginalLogLikelihood(likelihoods, models)
    models.train()
    likelihoods.train()
    optimizer = torch.optim.Adam(models.parameters(), lr=0.1)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = -mll(models(*models.train_inputs), models.train_targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("gp.lists.model_list_losses", np.array(losses))
    models.eval()
    likelihoods.eval()
    test_x = torch.linspace(0, 1, 6).unsqueeze(-1)
    with torch.no_grad():
        predictions = likelihoods(*models(test_x, test_x))
        put("gp.lists.model_list_means", torch.stack([p.mean for p in predictions]))

    x = torch.linspace(0, 1, 20)
    y = torch.stack([torch.sin(6 * x), torch.cos(6 * x)], -1)
    likelihood = gpytorch.likelihoods.MultitaskGaussianLikelihood(num_tasks=2)
    batch = torch.Size([2])

    class BatchIndependent(gpytorch.models.ExactGP):
        def __init__(self):
            super().__init__(x, y, likelihood)
            self.mean_module = gpytorch.means.ConstantMean(batch_shape=batch)
            self.covar_module = kernels.ScaleKernel(kernels.RBFKernel(batch_shape=batch),
                                                    batch_shape=batch)

        def forward(self, v):
            return gpytorch.distributions.MultitaskMultivariateNormal.from_batch_mvn(
                gpytorch.distributions.MultivariateNormal(self.mean_module(v),
                                                          self.covar_module(v)))

    model = BatchIndependent()
    put("gp.lists.batch_losses", train_exact(model, likelihood, x, y, 4))
    model.eval()
    likelihood.eval()
    with torch.no_grad():
        pred = likelihood(model(torch.linspace(0, 1, 6)))
        put("gp.lists.batch_mean", pred.mean)
        put("gp.lists.batch_upper", pred.confidence_region()[1])

    y = torch.sin(6 * x) + 0.1 * torch.randn(20)
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    model = model_class(x, y, likelihood, kernels.ScaleKernel(kernels.RBFKernel()))
    with gpytorch.settings.fast_computations(covar_root_decomposition=False, log_prob=False,
                                             solves=False):
        put("gp.lists.dense_losses", train_exact(model, likelihood, x, y, 4))
        model.eval()
        likelihood.eval()
        with torch.no_grad():
            pred = likelihood(model(torch.linspace(0, 1, 6)))
            put("gp.lists.dense_var", pred.variance)
            torch.manual_seed(3)
            put("gp.lists.dense_sample", pred.sample(torch.Size([2])))
    with torch.no_grad(), gpytorch.settings.fast_pred_var(), \
            gpytorch.settings.max_root_decomposition_size(10):
        model.prediction_strategy = None
        put("gp.lists.lanczos_var", likelihood(model(torch.linspace(0, 1, 6))).variance)


@part("gp.lmc", float64=True)
def gp_lmc():
    """Multitask variational GPs (LMC and independent), whose backward runs linear_operator's
    Matmul Function: its backward takes an inner autograd.grad through part of the graph."""
    import gpytorch
    from gpytorch.variational import (
        CholeskyVariationalDistribution,
        IndependentMultitaskVariationalStrategy,
        LMCVariationalStrategy,
        VariationalStrategy,
    )
    x = torch.linspace(0, 1, 30)
    y = torch.stack([torch.sin(x * 6), torch.cos(x * 6), x], -1)

    class Multitask(gpytorch.models.ApproximateGP):
        def __init__(self, lmc):
            batch = torch.Size([2 if lmc else 3])
            distribution = CholeskyVariationalDistribution(5, batch_shape=batch)
            inner = VariationalStrategy(self, torch.rand(*batch, 5, 1), distribution,
                                        learn_inducing_locations=True)
            if lmc:
                strategy = LMCVariationalStrategy(inner, num_tasks=3, num_latents=2,
                                                  latent_dim=-1)
            else:
                strategy = IndependentMultitaskVariationalStrategy(inner, num_tasks=3)
            super().__init__(strategy)
            self.mean_module = gpytorch.means.ConstantMean(batch_shape=batch)
            self.covar_module = gpytorch.kernels.ScaleKernel(
                gpytorch.kernels.RBFKernel(batch_shape=batch), batch_shape=batch)

        def forward(self, v):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(v),
                                                             self.covar_module(v))

    for lmc in (True, False):
        torch.manual_seed(1)
        model = Multitask(lmc)
        likelihood = gpytorch.likelihoods.MultitaskGaussianLikelihood(num_tasks=3)
        model.train()
        likelihood.train()
        optimizer = torch.optim.Adam(list(model.parameters()) + list(likelihood.parameters()),
                                     lr=0.1)
        mll = gpytorch.mlls.VariationalELBO(likelihood, model, num_data=30)
        losses = []
        for _ in range(4):
            optimizer.zero_grad()
            loss = -mll(model(x.unsqueeze(-1)), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"gp.lmc.{lmc}.losses", np.array(losses))
        model.eval()
        likelihood.eval()
        with torch.no_grad():
            put(f"gp.lmc.{lmc}.mean", likelihood(model(torch.linspace(0, 1, 4).unsqueeze(-1))).mean)


@part("gp.ski")
def gp_ski():
    """KISS-GP (GridInterpolationKernel): its interpolation passes a sparse COO tensor into a
    custom autograd Function."""
    import gpytorch
    x = torch.linspace(0, 1, 50)
    y = torch.sin(6 * x) + 0.1 * torch.randn(50)
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    covar = gpytorch.kernels.ScaleKernel(gpytorch.kernels.GridInterpolationKernel(
        gpytorch.kernels.RBFKernel(), grid_size=30, num_dims=1))
    model = exact_gp_class()(x, y, likelihood, covar)
    put("gp.ski.losses", train_exact(model, likelihood, x, y, 3))
    model.eval()
    likelihood.eval()
    with torch.no_grad(), gpytorch.settings.fast_pred_var():
        put("gp.ski.mean", likelihood(model(torch.linspace(0, 1, 7))).mean)


SECTIONS = {"gpytorch": [gp_exact, gp_cg, gp_multitask, gp_svgp, gp_classification, gp_kernels,
                         gp_operators, gp_distributions, gp_priors, gp_more, gp_lists,
                         gp_lmc, gp_ski],
            **SDE_EMA_SECTIONS}


if __name__ == "__main__":
    out_path = sys.argv[1]
    chosen = sys.argv[2].split(",") if len(sys.argv) > 2 else list(SECTIONS)
    for section in chosen:
        for run in SECTIONS[section]:
            run()
    np.savez(out_path, **OUT, **{k: np.array(v) for k, v in ERR.items()})
