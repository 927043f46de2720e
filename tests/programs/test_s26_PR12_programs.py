"""Scientific and engineering programs, session 26 (PR12): what people use PyTorch for outside
deep learning, run unchanged under ``import deltagrad as torch``.

Physics (prog_s26_PR12_physics.py): PINNs for the heat equation (Adam then L-BFGS with strong
Wolfe) and 2-d Poisson (hard boundary factor, float64 default dtype), a neural ODE through a
hand-written RK4 loop, Hamiltonian and Lagrangian mechanics from autograd, the wave equation by
a conv1d stencil with diff / gradient, a spectral Poisson solve, Crank-Nicolson, 1-d finite
elements by index_put_(accumulate=True), implicit Euler with Newton on a stiff system. Fitting
(prog_s26_PR12_fit.py): L-BFGS curve fitting with standard errors from the Jacobian, every
lstsq driver / pinv / QR / ridge, Gauss-Newton and Levenberg-Marquardt, Newton-CG with hvp /
vhp / vjp / jvp, projected gradient (NNLS, the simplex, a box), maximum likelihood with
distributions and a mixture, variational inference, IRLS, quantile regression, Bayesian linear
regression. Numerics (prog_s26_PR12_numerics.py): Monte Carlo with Generators and Sobol points,
Metropolis / HMC, k-means, PCA, image processing, stft / istft and windows, a sparse Laplacian
with Jacobi / CG, shortest paths and components, an HMM, an extended Kalman filter, dynamic
programming. More (prog_s26_PR12_more.py): see its docstring.

``prog_s26_PR12_*.py`` are written afresh (tiny sizes, seeded) and run unchanged on the real
PyTorch and under ``python -m deltagrad run``, one process per side for all sections. Each
section's whole stdout must agree character for character (printed at the precision such
programs print, float64 where an iteration amplifies rounding), its warnings by category and
first sentence, its recorded numbers to float tolerance.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s26_PR12_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps

# section -> its key prefix and how many keys it must record at least (dtype names included)
SECTIONS = {
    # prog_s26_PR12_physics.py
    "pinn_heat": ("pheat", 6), "pinn_poisson": ("ppois", 4), "neural_ode": ("node", 4),
    "hamiltonian": ("hnn", 4), "lagrangian": ("lagr", 4), "wave_stencil": ("wave", 8),
    "spectral_poisson": ("spec", 6), "crank_nicolson": ("cn", 4), "fem_1d": ("fem", 4),
    "stiff_implicit": ("stiff", 4),
    # prog_s26_PR12_fit.py
    "curve_fit": ("cfit", 4), "least_squares": ("lsq", 8), "gauss_newton": ("gn", 4),
    "newton_cg": ("ncg", 4), "projections": ("proj", 6), "mle": ("mle", 16), "vi": ("vi", 6),
    "irls": ("irls", 6), "quantile": ("qr", 6), "bayes_linreg": ("blr", 4),
    # prog_s26_PR12_numerics.py
    "monte_carlo": ("mc", 8), "mcmc": ("mcmc", 6), "kmeans": ("km", 4), "pca": ("pca", 4),
    "image": ("img", 8), "signal": ("sig", 4), "sparse_graph": ("spg", 4),
    "graph_paths": ("paths", 4), "hmm": ("hmm", 4), "ekf": ("ekf", 4), "knapsack": ("knap", 4),
    # prog_s26_PR12_more.py
    "matrix_exp": ("mexp", 6), "gp_ard": ("gp", 8), "func_newton": ("func", 3),
    "interpolation": ("interp", 6), "transformed_dists": ("tdist", 8), "lotka_volterra": ("lv", 4),
    "sinkhorn": ("ot", 4), "basis": ("basis", 4), "rlc": ("rlc", 6), "special": ("special", 4),
    # prog_s26_PR12_extra.py
    "automata": ("ca", 6), "time_series": ("ts", 6), "kaplan_meier": ("kmc", 4),
    "cubic_spline": ("spline", 4), "realnvp": ("nvp", 4), "custom_function": ("cfn", 3),
    "sparse_ops": ("sparse", 4), "poly_roots": ("roots", 4), "bootstrap": ("boot", 4),
    "linalg_misc": ("la", 6), "advection": ("adv", 6), "warp": ("warp", 4),
    "special_more": ("sp2", 4),
    # prog_s26_PR12_lab.py
    "schrodinger": ("qm", 4), "qubits": ("qubit", 4), "ensemble": ("ens", 4),
    "sensitivity": ("sens", 20), "second_order": ("so", 3), "rdf": ("rdf", 4),
    "einsum_physics": ("ein", 4), "nelder_mead": ("nm", 4), "laplace": ("lap", 4),
}
# L-BFGS after Adam in float32: a few ulps of difference in the line search's values move the
# PINN's point by up to ~1e-4 after its iterations (measured 8.8e-5)
ATOL_FOR = {"pheat": 5e-4}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s26_PR12")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefix, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, (prefix,), at_least=at_least, rtol=RTOL,
                               atol=ATOL_FOR.get(prefix, ATOL))


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides printed nothing; these would not.
    _, ours = results

    def text(key):
        return str(ours[f"{key}.log.stdout"])

    for key, lines in (("pheat", 5), ("node", 4), ("lagr", 5), ("wave", 7), ("cfit", 6),
                       ("lsq", 9), ("gn", 7), ("ncg", 11), ("mle", 8), ("mc", 10), ("km", 5),
                       ("img", 9), ("sig", 10), ("spg", 7), ("hmm", 5), ("knap", 4)):
        assert text(key).count("\n") >= lines, key
    assert "final loss below adam: True" in text("pheat")
    assert "boundary zero: True True" in text("ppois")
    assert "max error below 1e-12: True" in text("spec")
    assert "solve == lu_solve: True" in text("cn")
    assert "pinv == qr: True" in text("lsq")
    assert "deficient rank 2" in text("lsq")
    assert "vhp == hvp: True" in text("ncg")
    assert "replayed: True" in text("mc")
    assert "same subspace: True" in text("pca")
    assert "round trip True" in text("sig")
    assert "cg iterations" in text("spg") and "agrees: True" in text("spg")
    assert "floyd agrees: True" in text("paths")
    assert "best value 15.0" in text("knap") and "edit distance 3" in text("knap")
    assert ours["stiff.y"].sum() == pytest.approx(1.0, abs=1e-9)
    assert ours["pheat.losses"][-1] < ours["pheat.losses"][0]


# Known differences, kept out of the programs (each one line to reproduce):
# - return types are NamedTuples here, PyTorch's structseqs have no ``_fields``:
#   ``torch.linalg.lstsq(torch.eye(2), torch.ones(2, 1))._fields`` (PyTorch: AttributeError)
# - no gradient through a complex matrix_exp (values only, session 26): ``torch.linalg.matrix_exp(
#   (1j * torch.eye(2)).requires_grad_())`` raises NotImplementedError (PyTorch: a node)
# - PyTorch's "Sparse invariant checks are implicitly disabled" UserWarning at the first sparse
#   constructor without check_invariants= (a C++ memory-safety notice, as PR9 kept it out):
#   ``torch.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))``; sparse_ops passes check_invariants
# - PyTorch's 18 DeprecationWarnings "`torch.jit.script` is deprecated" when its first
#   forward-mode call imports torch._decomp.decompositions_for_jvp (an import of its internals):
#   ``torch.func.jacfwd(torch.sin)(torch.ones(2))``; func_newton, custom_function and
#   second_order record no warnings
KNOWN = {
    "return_type_fields": lambda t: t.linalg.lstsq(t.eye(2), t.ones(2, 1))._fields,
    "complex_matrix_exp_grad": lambda t: t.linalg.matrix_exp(
        (1j * t.eye(2)).requires_grad_()).grad_fn is not None,
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_differences(name):
    import deltagrad

    def outcome(lib):
        try:
            return KNOWN[name](lib)
        except Exception as error:  # noqa: BLE001 - the class is the outcome
            return type(error).__name__
    # still different; when one is fixed, move it into a program and drop it here
    assert outcome(deltagrad) != outcome(torch)
