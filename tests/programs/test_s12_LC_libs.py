"""auraloss, asteroid-filterbanks, nnAudio, kymatio, torchattacks, mup, torch-pruning and
lucidrains' perceiver / reformer / tab-transformer / siren / mlp-mixer / g-mlp / egnn /
conformer / mixture-of-experts / PaLM / lambda-networks / halonet / bottleneck-transformer /
slot-attention on deltagrad (LC, session 12).

``prog_s12_LC_libs.py`` runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged); the two must agree (values to float32
tolerance, dtypes, shapes, gradients, losses over a few optimizer steps).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s12_LC_libs.py")
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences
PARTS = {"auraloss": "auraloss", "asteroid": "asteroid_filterbanks", "nnaudio": "nnAudio",
         "torchattacks": "torchattacks", "mup": "mup", "torch_pruning": "torch_pruning",
         "perceiver": "perceiver_pytorch", "reformer": "reformer_pytorch",
         "tab_transformer": "tab_transformer_pytorch", "siren": "siren_pytorch",
         "mlp_mixer": "mlp_mixer_pytorch", "g_mlp": "g_mlp_pytorch", "egnn": "egnn_pytorch",
         "conformer": "conformer", "moe": "mixture_of_experts", "kymatio": "kymatio",
         "lucid_more": "palm_pytorch"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers): one process per side for every installed
    library."""
    chosen = [name for name, module in PARTS.items() if importlib.util.find_spec(module)]
    if not chosen:
        pytest.skip("none of session 12 LC's libraries is installed")
    return run_both(PROGRAM, tmp_path_factory.mktemp("s12_LC"), ",".join(chosen))


def compare(real: dict, ours: dict, prefix: str, **kwargs) -> int:
    return alias_runs.compare(real, ours, prefix, rtol=kwargs.pop("rtol", RTOL),
                              atol=kwargs.pop("atol", ATOL), **kwargs)


def _needs(module: str) -> None:
    """Skip unless the library is installed, found as the fixture finds it (find_spec): an
    import here would load it into the test process for nothing (the torch side's subprocess
    runs it): the tests' calls took 2.0 s on a quiet machine (egnn_pytorch's and
    torchattacks' imports), 5.7 s in a loaded full run."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


def test_auraloss_time_and_spectral_losses(results):
    _needs("auraloss")
    # (STFT magnitudes: pocketfft and PyTorch's FFT round differently in float32)
    assert compare(*results, "auraloss", rtol=1e-4, atol=1e-5) >= 20


def test_asteroid_filterbanks_encoders_decoders_and_training(results):
    _needs("asteroid_filterbanks")
    # (Encoder.forward asks torch._C._is_tracing(): added in session 12)
    assert compare(*results, "asteroid", rtol=1e-4, atol=1e-5) >= 30


def test_nnaudio_spectrograms_and_trainable_kernels(results):
    _needs("nnAudio")
    assert compare(*results, "nnaudio", rtol=1e-4, atol=1e-4) >= 15


def test_torchattacks_attacks(results):
    _needs("torchattacks")
    # (DI / TI-FGSM size and pad with one-element integer tensors; APGD seeds through
    # torch.cuda.random: both fixed in session 12)
    assert compare(*results, "torchattacks", rtol=1e-5, atol=1e-6) >= 50


def test_mup_readout_shapes_and_optimizers(results):
    _needs("mup")
    # (mup.init imports torch.nn.init's private _no_grad_* helpers: added in session 12)
    assert compare(*results, "mup") >= 15


def test_torch_pruning_groups_and_pruners(results):
    _needs("torch_pruning")
    assert compare(*results, "torch_pruning") >= 20


def test_perceiver(results):
    _needs("perceiver_pytorch")
    assert compare(*results, "perceiver", rtol=1e-4, atol=1e-5) >= 8


def test_reformer_lsh_and_reversible_layers(results):
    _needs("reformer_pytorch")
    # (its reversible layers read torch.cuda._initialized: added in session 12)
    assert compare(*results, "reformer", rtol=1e-4, atol=1e-5) >= 6


def test_tab_transformer_and_ft_transformer(results):
    _needs("tab_transformer_pytorch")
    assert compare(*results, "tab_transformer", rtol=1e-4, atol=1e-5) >= 10


def test_siren_mlp_mixer_g_mlp(results):
    for module in ("siren_pytorch", "mlp_mixer_pytorch", "g_mlp_pytorch"):
        _needs(module)
    assert compare(*results, "siren", rtol=1e-4, atol=1e-5) >= 5
    assert compare(*results, "mlp_mixer", rtol=1e-4, atol=1e-5) >= 6
    assert compare(*results, "g_mlp", rtol=1e-4, atol=1e-5) >= 6


def test_egnn_layers_and_network(results):
    _needs("egnn_pytorch")
    assert compare(*results, "egnn", rtol=1e-4, atol=1e-5) >= 10


def test_conformer_and_mixture_of_experts(results):
    for module in ("conformer", "mixture_of_experts"):
        _needs(module)
    assert compare(*results, "conformer", rtol=1e-4, atol=1e-5) >= 6
    assert compare(*results, "moe", rtol=1e-4, atol=1e-5) >= 12


def test_kymatio_scattering(results):
    _needs("kymatio")
    assert compare(*results, "kymatio", rtol=1e-4, atol=1e-5) >= 5


def test_palm_lambda_halo_bottleneck_slot_attention(results):
    _needs("palm_pytorch")
    # (lambda-networks, halonet, bottleneck-transformer and slot-attention join when installed)
    assert compare(*results, "lucid_more", rtol=1e-4, atol=1e-5) >= 4
