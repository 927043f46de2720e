"""Names third-party libraries read from ``torch`` (T6): the tensor class's module and
``torch.__version__`` under the alias (opt_einsum picks its backend from the first, skorch
refuses to import on the second), ``torch.nn.parameter``, ``Module._get_name`` and
``lr_scheduler._LRScheduler``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import deltagrad
from deltagrad import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_alias_names_in_a_fresh_process(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import pickle
        import deltagrad
        own_version = deltagrad.__version__
        deltagrad.install_as_torch()
        import torch
        from torch.nn.parameter import Buffer, Parameter, UninitializedParameter
        assert Parameter is torch.nn.Parameter and Buffer is torch.nn.Buffer
        assert UninitializedParameter is torch.nn.UninitializedParameter
        x = torch.arange(3.0)
        assert type(x).__module__ == "torch" and repr(type(x)) == "<class 'torch.Tensor'>"
        assert type(Parameter(torch.ones(2))).__module__ == "torch"
        assert torch.__version__ == "2.13.0+cpu" and torch.__version__ >= (2, 2)
        assert torch.__version__ > "2.9"
        back = pickle.loads(pickle.dumps(x))  # the class is found again under its alias name
        assert type(back) is deltagrad.Tensor and back.tolist() == [0.0, 1.0, 2.0]
        deltagrad.torch_alias.uninstall()
        assert deltagrad.Tensor.__module__ == "deltagrad._engine.tensor"
        assert deltagrad.__version__ == own_version
        print("ok")
    """))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"]


def test_get_name_is_what_repr_prints():
    torch = pytest.importorskip("torch")

    def build(m):
        class Renamed(m.nn.Linear):
            def _get_name(self):
                return "Dense"

        return m.nn.Sequential(Renamed(2, 3), m.nn.ReLU())

    assert repr(build(deltagrad)) == repr(build(torch))
    assert nn.Linear(1, 1)._get_name() == torch.nn.Linear(1, 1)._get_name() == "Linear"


def test_lr_scheduler_private_base():
    torch = pytest.importorskip("torch")
    from deltagrad.optim import lr_scheduler as ours

    theirs = torch.optim.lr_scheduler
    for m in (ours, theirs):
        assert issubclass(m._LRScheduler, m.LRScheduler)
        assert not issubclass(m.StepLR, m._LRScheduler)

    def run(m, lib):
        class Halving(m._LRScheduler):  # a library's schedule written against the old name
            def get_lr(self):
                return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

        w = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([w], lr=0.8)
        sched = Halving(opt)
        lrs = []
        for _ in range(3):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        return lrs + sched.get_last_lr()

    np.testing.assert_allclose(run(ours, deltagrad), run(theirs, torch))
