"""`deltagrad.install_as_torch()` and `python -m deltagrad run`: PyTorch scripts run unchanged.

The alias must give deltagrad's own module objects under every `torch.*` name, refuse when the
real PyTorch is already imported, and name deltagrad when a submodule is missing. The scripts run
in subprocesses (this test process has the real PyTorch imported); one script also runs on the
real PyTorch from the same seed and must print the same numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import deltagrad

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN_SCRIPT = textwrap.dedent("""
    import sys
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader, TensorDataset

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

    if __name__ == "__main__":
        torch.manual_seed(int(sys.argv[1]))
        x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
        model = Net()
        opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        sched = StepLR(opt, step_size=1, gamma=0.5)
        for data, target in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True):
            opt.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            opt.step()
            sched.step()
            print(f"{loss.item():.5f}")
""")


def _run(args, cwd, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def test_run_gives_pytorchs_numbers(tmp_path):
    pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    ours = _run(["-m", "deltagrad", "run", str(script), "3"], tmp_path)
    assert ours.returncode == 0, ours.stderr
    real = _run([str(script), "3"], tmp_path)
    assert real.returncode == 0, real.stderr
    losses = [float(line) for line in ours.stdout.split()]
    expected = [float(line) for line in real.stdout.split()]
    assert len(losses) == 4
    assert losses == pytest.approx(expected, abs=2e-5)


def test_alias_gives_deltagrads_modules(tmp_path):
    (tmp_path / "helper_mod.py").write_text("VALUE = 7\n")  # the script's folder is on sys.path
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import sys
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.optim.lr_scheduler
        from torch import optim
        from torch.utils.data import DataLoader
        import deltagrad, deltagrad.nn.functional, deltagrad.utils.data
        import helper_mod
        assert torch is deltagrad and nn is deltagrad.nn
        assert F is deltagrad.nn.functional and optim is deltagrad.optim
        assert torch.optim.lr_scheduler is deltagrad.optim.lr_scheduler
        assert DataLoader is deltagrad.utils.data.DataLoader
        assert sys.modules["torch.nn"] is deltagrad.nn
        # deltagrad keeps its own identity under both names
        assert torch.__spec__.name == "deltagrad" and nn.__spec__.name == "deltagrad.nn"
        assert isinstance(nn.Linear(2, 2).weight, torch.Tensor)
        assert isinstance(torch.zeros(1), deltagrad.Tensor)
        try:
            import torch.no_such_submodule
        except ModuleNotFoundError as error:
            assert error.name == "torch.no_such_submodule", error.name
            assert "deltagrad" in str(error), str(error)
        else:
            raise AssertionError("missing submodule imported")
        print(__name__, sys.argv[1:], helper_mod.VALUE)
        sys.exit(5)
    """))
    result = _run(["-m", "deltagrad", "run", str(script), "--lr", "0.1"], tmp_path)
    assert result.returncode == 5, result.stderr
    assert result.stdout.split("\n")[0] == "__main__ ['--lr', '0.1'] 7"


def test_run_errors(tmp_path):
    missing = _run(["-m", "deltagrad", "run", str(tmp_path / "nope.py")], tmp_path)
    assert missing.returncode == 2 and "no such script" in missing.stderr
    script = tmp_path / "boom.py"
    script.write_text("import torch\nraise ValueError('from the script')\n")
    boom = _run(["-m", "deltagrad", "run", str(script)], tmp_path)
    assert boom.returncode == 1 and "ValueError: from the script" in boom.stderr


def test_install_refuses_when_real_torch_is_imported():
    pytest.importorskip("torch")  # the real PyTorch is now in sys.modules
    with pytest.raises(RuntimeError, match="real PyTorch is already imported"):
        deltagrad.install_as_torch()
    assert not deltagrad.torch_alias.installed()
