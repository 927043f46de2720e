"""e3nn's FX-generated modules under ``import deltagrad as torch`` (FX, session 14):
prog_s14_FX_e3nn.py builds FullyConnectedTensorProduct, Linear, ElementwiseTensorProduct,
Legendre, NormActivation, Gate and spherical_harmonics_alpha_beta (whose forwards e3nn
generates by calling torch functions on Proxies it makes itself, then GraphModule code
generation) on the real PyTorch and under ``python -m deltagrad run``; forward values and
gradients (inputs and weights) must agree.

The generated graphs' node counts are not compared: opt_einsum_fx rewrites einsum nodes into
tensordot / permute only when a node's target is the ``torch.einsum`` it captured at import,
and under deltagrad the target is the dispatching wrapper that a hand-made Proxy puts in
place (deltagrad.fx's docstring); the graphs compute the same values either way.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
if importlib.util.find_spec("e3nn") is None:
    pytest.skip("e3nn is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ["fctp", "linear", "elementwise", "legendre", "norm_activation", "gate",
           "harmonics_alpha_beta"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s14_FX_e3nn")
    return run_both(os.path.join(HERE, "prog_s14_FX_e3nn.py"), folder)


@pytest.mark.parametrize("name", MODULES)
def test_fx_generated_module_matches_torch(runs, name):
    real, ours = runs
    assert f"ERR.{name}" not in real, str(real.get(f"ERR.{name}"))
    assert f"ERR.{name}" not in ours, str(ours.get(f"ERR.{name}"))
    skip = (f"{name}.graph_nodes",)
    assert compare(real, ours, name, rtol=1e-5, atol=2e-6, skip=skip) >= 2
    if name != "harmonics_alpha_beta":
        assert int(ours[f"{name}.graph_nodes"]) > 10  # (a generated graph really ran)
