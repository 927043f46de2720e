"""Idioms of public PyTorch programs (minGPT, pytorch-tutorial, pytorch-cifar, labml) that
deltagrad got wrong, each written here from the idiom alone and compared with PyTorch."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap

import pytest

import deltagrad

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _indices(lib, count, **options):
    generator = lib.Generator().manual_seed(7)
    sampler = lib.utils.data.RandomSampler(range(10), replacement=True, generator=generator,
                                           **options)
    return list(itertools.islice(iter(sampler), count)), generator.initial_seed()


@pytest.mark.parametrize("num_samples", [1, 32, 70])
def test_random_sampler_with_replacement_draws_pytorchs_indices(num_samples):
    ours, _ = _indices(deltagrad, num_samples + 5, num_samples=num_samples)
    theirs, _ = _indices(torch, num_samples + 5, num_samples=num_samples)
    assert ours == theirs and len(ours) == num_samples


def test_random_sampler_with_replacement_is_lazy_for_an_endless_pass():
    # minGPT's trainer: RandomSampler(data, replacement=True, num_samples=int(1e10)) and next()
    # on the loader's iterator; the whole pass must not be drawn (it once asked for 75 GiB).
    ours, _ = _indices(deltagrad, 40, num_samples=int(1e10))
    theirs, _ = _indices(torch, 40, num_samples=int(1e10))
    assert ours == theirs


def test_random_sampler_with_replacement_leaves_the_stream_as_pytorch_does():
    # Chunks of 32: after a pass of 40 the generator is where PyTorch's is.
    for lib in (deltagrad, torch):
        lib.manual_seed(3)
        list(lib.utils.data.RandomSampler(range(6), replacement=True, num_samples=40))
    assert deltagrad.rand(3).tolist() == pytest.approx(torch.rand(3).tolist(), abs=0)


ALIAS_SCRIPT = textwrap.dedent("""
    import torch
    import torch.nn.utils.rnn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
    from torch.nn.utils.parametrizations import weight_norm
    import torch.nn.utils.prune as prune
    assert torch.nn.utils.rnn.pad_sequence is pad_sequence
    x = pad_sequence([torch.ones(3, 2), torch.ones(1, 2)], batch_first=True)
    packed = pack_padded_sequence(x, [3, 1], batch_first=True)
    print(type(packed).__name__, tuple(packed.data.shape), packed.batch_sizes.tolist())
""")


def test_nn_utils_submodules_import_under_the_torch_alias(tmp_path):
    # yunjey's image captioning: `from torch.nn.utils.rnn import pack_padded_sequence` under
    # `python -m deltagrad run` failed with "'torch.nn.utils' is not a package".
    script = tmp_path / "caption.py"
    script.write_text(ALIAS_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    ours = subprocess.run([sys.executable, "-m", "deltagrad", "run", str(script)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    theirs = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout == "PackedSequence (4, 2) [2, 1, 1]\n"


def test_nn_utils_submodules_import_by_their_deltagrad_names():
    import deltagrad.nn.utils.parametrizations as parametrizations
    import deltagrad.nn.utils.rnn as rnn

    assert rnn is deltagrad.nn.utils.rnn
    assert parametrizations is deltagrad.nn.utils.parametrizations


def _layout(lib, **to):
    model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.Linear(2, 2))
    weight = model[0].weight
    model[0].weight.grad = lib.ones(4, 3, 3, 3)
    assert model.to(**to) is model and model[0].weight is weight
    return [(tuple(p.stride()), p.is_contiguous()) for p in model.parameters()] + [
        tuple(model[0].weight.grad.stride()), str(model[0].weight.dtype).split(".")[-1]]


@pytest.mark.parametrize("to", [{"memory_format": "channels_last"},
                                {"dtype": "float64", "memory_format": "channels_last"},
                                {"memory_format": "contiguous_format"},
                                {"memory_format": "preserve_format"}],
                         ids=["channels_last", "with_dtype", "contiguous", "preserve"])
def test_module_to_memory_format_lays_out_4d_parameters(to):
    # Performance recipes: `model = model.to(memory_format=torch.channels_last)`; it was
    # accepted and silently ignored.
    def options(lib):
        return {key: getattr(lib, value) for key, value in to.items()}

    assert _layout(deltagrad, **options(deltagrad)) == _layout(torch, **options(torch))


def test_module_to_memory_format_checks_rank_and_type():
    for lib in (deltagrad, torch):
        with pytest.raises(RuntimeError):
            lib.nn.Conv3d(2, 2, 1).to(memory_format=lib.channels_last)
        with pytest.raises(TypeError):
            lib.nn.Conv2d(2, 2, 1).to(memory_format="channels_last")
