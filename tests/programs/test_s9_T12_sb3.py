"""stable-baselines3 on deltagrad (T12): PPO, A2C, DQN, SAC, TD3, DDPG and HER on gymnasium.

``prog_s9_T12_sb3.py`` trains each algorithm for a few hundred seeded steps the way SB3's README
and docs do (CartPole-v1, Pendulum-v1, MountainCarContinuous-v0, SB3's own test envs) and writes
every number to an .npz. It runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged). SB3 seeds torch itself and deltagrad draws
PyTorch's CPU random stream, so whole trajectories agree: the weights after learning, the logged
losses, the actions (deterministic and sampled), values, log-probs and entropies, the replay
buffers, evaluate_policy, VecNormalize's statistics, callbacks, save -> zip -> load and
get/set_parameters. An exception on either side is a failure.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T12_sb3.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few hundred steps

# Under soak since session 18 (its fixture: 11.6 CPU s with children): SB3's algorithm machinery
# (On/OffPolicyAlgorithm's learn loops, rollout and replay buffers, its policies, predict) stays
# checked by default in test_s13_LD_libs.py::test_sb3_contrib_algorithms (sb3-contrib's QR-DQN,
# TRPO, ARS, RecurrentPPO, MaskablePPO, TQC and CrossQ are built on those classes: their weights
# after learning and actions agree); reinforcement learning through another library in
# test_s10_T22_libs.py (tianshou).
pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s9_T12")
    # (SB3's default logger makes a folder under the system temp dir per model: keep them here)
    return run_both(PROGRAM, folder, env={"SB3_LOGDIR": str(folder / "sb3_logs")})


def compare(real: dict, ours: dict, prefix: str) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL)


def test_ppo_learn_predict_evaluate_save_load(results):
    # weights, logged losses, sampled actions, evaluate_policy, zip round trip, further learning
    assert compare(*results, "ppo") == 99
    assert results[1]["ppo.loaded.equal"]


def test_a2c_custom_net_arch_and_rmsprop(results):
    assert compare(*results, "a2c") == 40


def test_dqn_replay_buffer_and_target_network(results):
    assert compare(*results, "dqn") == 34


def test_sac_entropy_tuning_and_critics(results):
    assert compare(*results, "sac") == 80
    assert compare(*results, "sac_sde") == 69  # gSDE, fixed ent_coef, buffer/zip save-load


def test_td3_ddpg_action_noise(results):
    assert compare(*results, "td3") == 67
    assert compare(*results, "ddpg") == 51


def test_vec_normalize_gsde_callbacks(results):
    assert compare(*results, "vec") == 43


def test_multi_input_cnn_and_her(results):
    assert compare(*results, "dict") == 67
    assert compare(*results, "cnn") == 23
    assert compare(*results, "her") == 64


def test_multidiscrete_multibinary_schedules_framestack(results):
    assert compare(*results, "multidiscrete") == 32
    assert compare(*results, "multibinary") == 32
    assert compare(*results, "stack") == 18  # VecFrameStack, get_parameters/set_parameters


def test_policy_save_load(results):
    # BasePolicy.save puts gymnasium spaces, classes and schedules into torch.save (pickled by
    # PyTorch; JSON data and references here), and BasePolicy.load passes weights_only=False:
    # the loaded policy predicts as the saved one, on both sides.
    real, ours = results
    assert "ERR.policy_save" not in real and "ERR.policy_save" not in ours
    assert compare(real, ours, "policy_save") == 1
