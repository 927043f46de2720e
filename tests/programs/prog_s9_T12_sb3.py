"""Probe program (T12): stable-baselines3 on gymnasium, used the way its README and docs do,
seeded and small; every number goes to an .npz.

Run as ``python prog_s9_T12_sb3.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s9_T12_sb3.py`` compares the two. An exception in
a part is recorded as ``ERR.<part>`` (the other parts still run). SB3 seeds torch itself
(set_random_seed), so the trajectories, losses and weights agree to float rounding.
"""
import os
import sys
import tempfile
import traceback

import numpy as np
import torch

OUT = {}
ERR = {}
CARTPOLE_OBS = np.array([[0.01, 0.02, 0.03, 0.04], [-0.2, 0.5, 0.1, -0.7],
                         [0.3, -1.0, -0.15, 1.2]], dtype=np.float32)
PENDULUM_OBS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -2.0], [-0.6, 0.8, 5.0]],
                        dtype=np.float32)


def put(name, value):
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy()
    OUT[name] = np.asarray(value)


def part(name):
    """Decorator: run the part, recording an exception as ERR.<name>."""
    def wrap(fn):
        def run(*args):
            try:
                fn(*args)
            except Exception as error:  # noqa: BLE001 - recorded and compared
                ERR["ERR." + name] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
        run.__name__ = name
        return run
    return wrap


def recording_logger():
    """An SB3 Logger whose only output keeps every dumped value (losses, rollout stats)."""
    from stable_baselines3.common.logger import KVWriter, Logger

    class Record(KVWriter):
        def __init__(self):
            self.rows = []

        def write(self, key_values, key_excluded, step=0):
            self.rows.append({k: v for k, v in key_values.items()
                              if isinstance(v, (int, float, np.floating, np.integer))})

    record = Record()
    return Logger(folder=None, output_formats=[record]), record


def put_logged(name, record, keys):
    for key in keys:
        values = [row[key] for row in record.rows if key in row]
        put(f"{name}.log.{key.replace('/', '_')}", np.array(values, dtype=np.float64))


def put_model(name, model, obs, state=True):
    """Parameters (by name), deterministic actions and the policy's outputs on fixed ``obs``."""
    if state:
        for key, value in model.policy.state_dict().items():
            put(f"{name}.param.{key}", value)
    action, _ = model.predict(obs, deterministic=True)
    put(f"{name}.predict", action)


def put_values(name, model, obs):
    """Value / log-prob / entropy of on-policy models on fixed observations and actions."""
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with torch.no_grad():
        actions, values, log_prob = model.policy(obs_t, deterministic=True)
        v, lp, ent = model.policy.evaluate_actions(obs_t, actions)
    put(f"{name}.fwd.actions", actions)
    put(f"{name}.fwd.values", values)
    put(f"{name}.fwd.log_prob", log_prob)
    put(f"{name}.eval.values", v)
    put(f"{name}.eval.log_prob", lp)
    if ent is not None:
        put(f"{name}.eval.entropy", ent)


@part("ppo")
def ppo_cartpole():
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy
    logger, record = recording_logger()
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=3, seed=0,
                device="cpu")
    model.set_logger(logger)
    model.learn(192)
    put_model("ppo", model, CARTPOLE_OBS)
    put_values("ppo", model, CARTPOLE_OBS)
    put_logged("ppo", record, ["train/loss", "train/policy_gradient_loss", "train/value_loss",
                               "train/entropy_loss", "train/approx_kl", "train/clip_fraction",
                               "train/explained_variance", "train/n_updates"])
    # Stochastic predictions draw from torch's stream.
    torch.manual_seed(7)
    put("ppo.predict_stochastic", model.predict(np.repeat(CARTPOLE_OBS, 4, 0))[0])
    mean, std = evaluate_policy(model, model.get_env(), n_eval_episodes=2, deterministic=True)
    put("ppo.evaluate", np.array([mean, std]))
    # save -> zip -> load -> same weights and predictions
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ppo_cartpole")
        model.save(path)
        loaded = PPO.load(path, device="cpu")
    put_model("ppo.loaded", loaded, CARTPOLE_OBS)
    same = all(torch.equal(a, b) for a, b in zip(model.policy.state_dict().values(),
                                                   loaded.policy.state_dict().values()))
    put("ppo.loaded.equal", np.array(same))
    put("ppo.loaded.lr", np.array(loaded.learning_rate))
    # Continue learning the loaded model (optimizer state restored from the zip).
    loaded.set_env(model.get_env())
    loaded.learn(64, reset_num_timesteps=False)
    put_model("ppo.continued", loaded, CARTPOLE_OBS)


@part("a2c")
def a2c_custom_policy():
    from stable_baselines3 import A2C
    logger, record = recording_logger()
    kwargs = dict(net_arch=dict(pi=[16, 16], vf=[32]), activation_fn=torch.nn.ReLU,
                  ortho_init=False)
    model = A2C("MlpPolicy", "CartPole-v1", n_steps=8, seed=0, device="cpu",
                policy_kwargs=kwargs, normalize_advantage=True)
    model.set_logger(logger)
    model.learn(160)
    put_model("a2c", model, CARTPOLE_OBS)
    put_values("a2c", model, CARTPOLE_OBS)
    put_logged("a2c", record, ["train/policy_loss", "train/value_loss", "train/entropy_loss",
                               "train/explained_variance"])
    # RMSprop with A2C's defaults (alpha=0.99, eps=1e-5): the optimizer's state.
    state = model.policy.optimizer.state_dict()["state"]
    put("a2c.opt.square_avg0", state[0]["square_avg"])
    put("a2c.opt.step0", np.array(float(state[0]["step"])))


@part("dqn")
def dqn_cartpole():
    from stable_baselines3 import DQN
    logger, record = recording_logger()
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, buffer_size=500, batch_size=16,
                train_freq=4, target_update_interval=40, exploration_fraction=0.5, seed=0,
                device="cpu", policy_kwargs=dict(net_arch=[32, 32]))
    model.set_logger(logger)
    model.learn(250, log_interval=1)
    put_model("dqn", model, CARTPOLE_OBS)
    put_logged("dqn", record, ["train/loss", "rollout/exploration_rate", "train/n_updates"])
    with torch.no_grad():
        put("dqn.q", model.q_net(torch.as_tensor(CARTPOLE_OBS)))
        put("dqn.q_target", model.q_net_target(torch.as_tensor(CARTPOLE_OBS)))
    put("dqn.buffer.actions", model.replay_buffer.actions[:60].ravel())
    put("dqn.buffer.rewards", model.replay_buffer.rewards[:60].ravel())


@part("sac")
def sac_pendulum():
    from stable_baselines3 import SAC
    logger, record = recording_logger()
    model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=40, buffer_size=300, batch_size=32,
                seed=0, device="cpu", policy_kwargs=dict(net_arch=[32, 32]))
    model.set_logger(logger)
    model.learn(120, log_interval=1)
    put_model("sac", model, PENDULUM_OBS)
    put_logged("sac", record, ["train/actor_loss", "train/critic_loss", "train/ent_coef",
                               "train/ent_coef_loss"])
    put("sac.log_ent_coef", model.log_ent_coef)
    torch.manual_seed(3)
    put("sac.predict_stochastic", model.predict(PENDULUM_OBS)[0])
    obs_t = torch.as_tensor(PENDULUM_OBS)
    with torch.no_grad():
        torch.manual_seed(4)
        actions, log_prob = model.actor.action_log_prob(obs_t)
        q1, q2 = model.critic(obs_t, actions)
    put("sac.action_log_prob.actions", actions)
    put("sac.action_log_prob.log_prob", log_prob)
    put("sac.q1", q1)
    put("sac.q2", q2)


@part("td3")
def td3_ddpg():
    from stable_baselines3 import DDPG, TD3
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
    logger, record = recording_logger()
    noise = NormalActionNoise(mean=np.zeros(1), sigma=0.1 * np.ones(1))
    model = TD3("MlpPolicy", "Pendulum-v1", learning_starts=40, buffer_size=300, batch_size=32,
                seed=0, device="cpu", action_noise=noise, policy_delay=2,
                policy_kwargs=dict(net_arch=dict(pi=[32], qf=[32, 32])))
    model.set_logger(logger)
    model.learn(110, log_interval=1)
    put_model("td3", model, PENDULUM_OBS)
    put_logged("td3", record, ["train/actor_loss", "train/critic_loss"])
    logger, record = recording_logger()
    noise = OrnsteinUhlenbeckActionNoise(mean=np.zeros(1), sigma=0.2 * np.ones(1))
    model = DDPG("MlpPolicy", "MountainCarContinuous-v0", learning_starts=30, buffer_size=300,
                 batch_size=16, seed=0, device="cpu", action_noise=noise,
                 policy_kwargs=dict(net_arch=[24, 24], activation_fn=torch.nn.Tanh))
    model.set_logger(logger)
    model.learn(90, log_interval=1)
    put_model("ddpg", model, np.array([[-0.5, 0.0], [0.3, 0.05]], dtype=np.float32))
    put_logged("ddpg", record, ["train/actor_loss", "train/critic_loss"])


@part("vec")
def vec_normalize_sde_callbacks():
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    class Counter(BaseCallback):
        def __init__(self):
            super().__init__()
            self.calls, self.rollouts, self.rewards = 0, 0, []

        def _on_step(self):
            self.calls += 1
            self.rewards.append(float(np.sum(self.locals["rewards"])))
            return True

        def _on_rollout_end(self):
            self.rollouts += 1

    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    env = VecNormalize(env, norm_obs=True, norm_reward=True, clip_obs=10.0)
    eval_env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=1), training=False,
                            norm_reward=False)
    counter = Counter()
    evaluator = EvalCallback(eval_env, eval_freq=32, n_eval_episodes=1, deterministic=True,
                             verbose=0)
    logger, record = recording_logger()
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=2, use_sde=True,
                sde_sample_freq=8, seed=0, device="cpu",
                policy_kwargs=dict(log_std_init=-1.0, net_arch=[32]))
    model.set_logger(logger)
    model.learn(128, callback=CallbackList([counter, evaluator]))
    put_model("vec", model, PENDULUM_OBS)
    put_values("vec", model, PENDULUM_OBS)
    put_logged("vec", record, ["train/loss", "train/std", "train/approx_kl", "eval/mean_reward"])
    put("vec.obs_rms.mean", env.obs_rms.mean)
    put("vec.obs_rms.var", env.obs_rms.var)
    put("vec.ret_rms.var", np.array(env.ret_rms.var))
    put("vec.counter", np.array([counter.calls, counter.rollouts]))
    put("vec.rewards", np.array(counter.rewards))
    put("vec.eval_best", np.array(evaluator.best_mean_reward))
    put("vec.log_std", model.policy.log_std)


@part("misc")
def dict_obs_cnn():
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
    logger, record = recording_logger()
    np.random.seed(0)  # (the env draws its grid from NumPy's global generator)
    env = SimpleMultiObsEnv(random_start=False)
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0,
                device="cpu", policy_kwargs=dict(net_arch=[16]))
    model.set_logger(logger)
    model.learn(64)
    obs, _ = env.reset(seed=0)
    obs = {k: np.stack([v, v * 0.5]) for k, v in obs.items()}
    put_model("dict", model, obs)
    put_logged("dict", record, ["train/loss", "train/value_loss"])
    logger, record = recording_logger()
    image_env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=1,
                             discrete=True)
    image_env.observation_space.seed(0)  # (it draws observations from its unseeded space)
    model = A2C("CnnPolicy", image_env, n_steps=4, seed=0, device="cpu",
                policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=16)))
    model.set_logger(logger)
    model.learn(24)
    image = np.random.default_rng(0).integers(0, 255, (2, 40, 40, 1), dtype=np.uint8)
    put_model("cnn", model, image, state=False)
    put_values("cnn", model, image)
    put_logged("cnn", record, ["train/policy_loss", "train/value_loss"])
    for key in ("features_extractor.cnn.0.weight", "features_extractor.linear.0.weight",
                "action_net.weight", "value_net.bias"):
        put(f"cnn.param.{key}", model.policy.state_dict()[key])


@part("her")
def her_bit_flipping():
    from stable_baselines3 import DQN, SAC, HerReplayBuffer
    from stable_baselines3.common.envs import BitFlippingEnv
    for name, algo, continuous in (("her.dqn", DQN, False), ("her.sac", SAC, True)):
        env = BitFlippingEnv(n_bits=4, continuous=continuous, max_steps=4)
        logger, record = recording_logger()
        extra = dict(exploration_fraction=0.5) if algo is DQN else {}
        model = algo("MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer,
                     replay_buffer_kwargs=dict(n_sampled_goal=2, goal_selection_strategy="future"),
                     learning_starts=20, buffer_size=200, batch_size=16, seed=0, device="cpu",
                     policy_kwargs=dict(net_arch=[16]), **extra)
        model.set_logger(logger)
        model.learn(80, log_interval=2)
        obs, _ = env.reset(seed=3)
        put_model(name, model, {k: np.stack([v, 1 - v]) for k, v in obs.items()})
        key = "train/loss" if algo is DQN else "train/critic_loss"
        put_logged(name, record, [key])


@part("policy_save")
def policy_save_load(model, obs):
    """``policy.save`` puts gymnasium spaces into ``torch.save`` (pickled by PyTorch)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "policy.pth")
        model.policy.save(path)
        policy = type(model.policy).load(path, device="cpu")
    put("policy_save.predict", policy.predict(obs, deterministic=True)[0])


@part("more")
def spaces_schedules_parameters():
    from stable_baselines3 import A2C, PPO, SAC
    from stable_baselines3.common.envs import IdentityEnvMultiBinary, IdentityEnvMultiDiscrete
    from stable_baselines3.common.utils import LinearSchedule
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack
    for name, env in (("multidiscrete", IdentityEnvMultiDiscrete(dim=3, ep_length=10)),
                      ("multibinary", IdentityEnvMultiBinary(dim=3, ep_length=10))):
        logger, record = recording_logger()
        model = PPO("MlpPolicy", env, n_steps=16, batch_size=8, n_epochs=2, seed=0,
                    device="cpu", learning_rate=LinearSchedule(3e-3, 1e-4, 1.0),
                    clip_range_vf=0.2, target_kl=0.5, policy_kwargs=dict(net_arch=[8]))
        model.set_logger(logger)
        model.learn(48)
        obs = np.eye(3, dtype=np.float32) if name == "multibinary" else \
            np.array([[0, 1], [2, 0], [1, 1]], dtype=np.int64)
        put_model(name, model, obs)
        put_values(name, model, obs)
        put_logged(name, record, ["train/loss", "train/learning_rate", "train/clip_range"])
    # VecFrameStack around DummyVecEnv; get_parameters / set_parameters; policy save / load.
    env = VecFrameStack(DummyVecEnv([lambda: __import__("gymnasium").make("CartPole-v1")] * 2),
                        n_stack=3)
    model = A2C("MlpPolicy", env, n_steps=5, seed=1, device="cpu", use_rms_prop=False,
                policy_kwargs=dict(net_arch=[16], optimizer_kwargs=dict(eps=1e-6)))
    model.learn(50)
    obs = np.tile(CARTPOLE_OBS, (1, 3))
    put_model("stack", model, obs)
    params = model.get_parameters()
    fresh = A2C("MlpPolicy", env, n_steps=5, seed=2, device="cpu", use_rms_prop=False,
                policy_kwargs=dict(net_arch=[16], optimizer_kwargs=dict(eps=1e-6)))
    fresh.set_parameters(params, exact_match=True)
    put_model("stack.set_parameters", fresh, obs, state=False)
    policy_save_load(model, obs)
    # SAC with gSDE and a fixed entropy coefficient; DQN-style replay buffer save / load.
    logger, record = recording_logger()
    model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=30, buffer_size=200, batch_size=16,
                use_sde=True, sde_sample_freq=4, ent_coef=0.05, seed=0, device="cpu",
                policy_kwargs=dict(net_arch=[16, 16], log_std_init=-2.0))
    model.set_logger(logger)
    model.learn(80, log_interval=1)
    put_model("sac_sde", model, PENDULUM_OBS)
    put_logged("sac_sde", record, ["train/actor_loss", "train/critic_loss", "train/std"])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "buffer.pkl")
        model.save_replay_buffer(path)
        model.load_replay_buffer(path)
        model.save(os.path.join(folder, "sac"))
        loaded = SAC.load(os.path.join(folder, "sac"), env=model.get_env(), device="cpu")
    put("sac_sde.buffer_size", np.array(model.replay_buffer.size()))
    put_model("sac_sde.loaded", loaded, PENDULUM_OBS, state=False)
    torch.manual_seed(5)
    loaded.policy.reset_noise()
    put("sac_sde.loaded.stochastic", loaded.predict(PENDULUM_OBS)[0])


PARTS = {"ppo": ppo_cartpole, "a2c": a2c_custom_policy, "dqn": dqn_cartpole,
         "sac": sac_pendulum, "td3": td3_ddpg, "vec": vec_normalize_sde_callbacks,
         "misc": dict_obs_cnn, "her": her_bit_flipping, "more": spaces_schedules_parameters}

if __name__ == "__main__":
    out_path = sys.argv[1]
    chosen = sys.argv[2].split(",") if len(sys.argv) > 2 else list(PARTS)
    for name in chosen:
        PARTS[name]()
    np.savez(out_path, **OUT, **{k: np.array(v) for k, v in ERR.items()})
