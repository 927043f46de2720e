"""torchjd, rtdl, laplace-torch, sbi and tianshou programs (T22), run by test_s10_T22_libs.py
under the real PyTorch and under ``python -m deltagrad run``:
``prog_s10_T22_libs.py OUT.npz SECTIONS`` with SECTIONS comma-separated names of the ``run_*``
functions below. A section that raises records its traceback as ``ERR.<section>``; every number
goes to OUT.npz. Seeded, small (a few training steps each).
"""

import os
import sys
import traceback
import types
import warnings

import numpy as np
import torch

OUT: dict = {}


def put(key: str, value) -> None:
    """Record ``value`` (a tensor, array, number or dtype) under ``key``."""
    if isinstance(value, torch.dtype):
        OUT[key + ".dtype"] = np.asarray(str(value))
    elif isinstance(value, torch.Tensor):
        OUT[key] = value.detach().cpu().numpy().copy()
        OUT[key + ".dtype"] = np.asarray(str(value.dtype))
    else:
        OUT[key] = np.asarray(value)


def put_params(prefix: str, module: torch.nn.Module) -> None:
    for name, parameter in module.named_parameters():
        put(f"{prefix}.{name}", parameter)


# ------------------------------------------------------------------------------------ torchjd


def run_torchjd() -> None:
    from torchjd.aggregation import (
        IMTLG,
        MGDA,
        AlignedMTL,
        CAGrad,
        DualProj,
        Krum,
        Mean,
        PCGrad,
        TrimmedMean,
        UPGrad,
    )
    from torchjd.autojac import backward, jac_to_grad, mtl_backward

    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(4, 7, generator=generator)
    for aggregator in (UPGrad(), MGDA(), Mean(), DualProj(), IMTLG(), AlignedMTL(), PCGrad(),
                       TrimmedMean(trim_number=1), Krum(n_byzantine=1)):
        put(f"torchjd.agg.{type(aggregator).__name__}", aggregator(matrix))
    try:
        put("torchjd.agg.CAGrad", CAGrad(c=0.5)(matrix))
    except ImportError:  # (CAGrad needs cvxpy; same on both sides)
        put("torchjd.agg.CAGrad", -1.0)

    torch.manual_seed(1)
    shared = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6))
    heads = [torch.nn.Linear(6, 1), torch.nn.Linear(6, 2)]
    params = [*shared.parameters(), *heads[0].parameters(), *heads[1].parameters()]
    optimizer = torch.optim.SGD(params, lr=0.05)
    x = torch.randn(16, 5)
    y1, y2 = torch.randn(16, 1), torch.randn(16, 2)
    for step in range(3):
        features = shared(x)
        loss1 = torch.nn.functional.mse_loss(heads[0](features), y1)
        loss2 = torch.nn.functional.l1_loss(heads[1](features), y2)
        mtl_backward([loss1, loss2], features=features)
        jac_to_grad(shared.parameters(), UPGrad())
        put(f"torchjd.mtl.grad{step}", shared[0].weight.grad)
        put(f"torchjd.mtl.head_grad{step}", heads[1].weight.grad)
        optimizer.step()
        optimizer.zero_grad()
        put(f"torchjd.mtl.losses{step}", torch.stack([loss1, loss2]))
    put_params("torchjd.mtl.shared", shared)

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    inputs = torch.randn(10, 3)
    target = torch.randn(10, 3)
    losses = ((model(inputs) - target) ** 2).mean(dim=0)  # three objectives
    backward(losses)
    for name, parameter in model.named_parameters():
        put(f"torchjd.backward.jac.{name}", parameter.jac)
    jac_to_grad(model.parameters(), MGDA())
    for name, parameter in model.named_parameters():
        put(f"torchjd.backward.grad.{name}", parameter.grad)



def run_torchjd_autogram() -> None:
    """torchjd's Gramian engine (per-sample Jacobian descent); needs get_gradient_edge."""
    from torchjd.aggregation import UPGrad
    from torchjd.autogram import Engine

    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    inputs = torch.randn(10, 3)
    target = torch.randn(10, 3)
    engine = Engine(model, batch_dim=0)
    per_sample = ((model(inputs) - target) ** 2).mean(dim=1)
    gramian = engine.compute_gramian(per_sample)
    put("torchjd.autogram.gramian", gramian)
    weights = UPGrad().weighting(gramian)
    put("torchjd.autogram.weights", weights)
    per_sample.backward(weights)
    for name, parameter in model.named_parameters():
        put(f"torchjd.autogram.grad.{name}", parameter.grad)


# --------------------------------------------------------------------------------------- rtdl


def run_rtdl() -> None:
    import rtdl

    torch.manual_seed(0)
    x_num = torch.randn(12, 4)
    x_cat = torch.randint(0, 3, (12, 2))
    y = torch.randn(12, 1)
    models = {
        "mlp": rtdl.MLP.make_baseline(4, [8, 8], 0.1, 1),
        "resnet": rtdl.ResNet.make_baseline(d_in=4, d_main=8, d_hidden=16, dropout_first=0.1,
                                            dropout_second=0.0, n_blocks=2, d_out=1),
        "ft": rtdl.FTTransformer.make_default(n_num_features=4, cat_cardinalities=[3, 3],
                                              last_layer_query_idx=[-1], d_out=1,
                                              n_blocks=1),
        "ftb": rtdl.FTTransformer.make_baseline(
            n_num_features=4, cat_cardinalities=None, d_token=8, n_blocks=2,
            attention_dropout=0.1, ffn_d_hidden=12, ffn_dropout=0.1, residual_dropout=0.0,
            d_out=2),
    }
    for name, model in models.items():
        torch.manual_seed(10)
        for parameter in model.parameters():  # identical starting weights on both sides
            with torch.no_grad():
                parameter.copy_(torch.randn(parameter.shape) * 0.3)

        def forward(model=model, name=name):
            if name == "ft":
                return model(x_num, x_cat)
            if name == "ftb":
                return model(x_num, None)[:, :1]
            return model(x_num)

        if name == "ft":  # rtdl's AdamW with its no-weight-decay group
            groups = model.make_default_optimizer().param_groups
            put("rtdl.ft.groups", [len(group["params"]) for group in groups])
            put("rtdl.ft.wd", [group["weight_decay"] for group in groups])
        # NOTE: SGD, not Adam: the key biases of attention and the biases before BatchNorm get
        # a gradient that is exactly 0 in theory (rounding noise on either side), which Adam
        # scales up to lr-sized steps.
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        model.eval()
        put(f"rtdl.{name}.eval", forward())
        model.train()
        torch.manual_seed(3)
        for step in range(3):
            loss = torch.nn.functional.mse_loss(forward(), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            put(f"rtdl.{name}.loss{step}", loss)
        put_params(f"rtdl.{name}.p", model)
    tokenizer = rtdl.CategoricalFeatureTokenizer([3, 5], 4, True, "uniform")
    put("rtdl.cat_tok.shape", np.asarray(tokenizer(torch.tensor([[0, 4], [2, 1]])).shape))
    put("rtdl.reglu", rtdl.ReGLU()(torch.linspace(-2, 2, 8).reshape(2, 4)))
    put("rtdl.geglu", rtdl.GEGLU()(torch.linspace(-2, 2, 8).reshape(2, 4)))


# ------------------------------------------------------------------------------------ laplace


def _hide_torchvision() -> None:
    """torchmetrics (imported by laplace) imports torchvision when its metadata is installed;
    the installed torchvision does not load under the real torch either, so both sides run as
    without torchvision."""
    import importlib.metadata as metadata

    import lightning_utilities.core.imports as imports

    def version(name, _real=metadata.version):
        if name == "torchvision":
            raise metadata.PackageNotFoundError(name)
        return _real(name)

    imports._version = version
    sys.modules["torchvision"] = None


def run_laplace() -> None:
    _hide_torchvision()
    from laplace import Laplace, marglik_training  # noqa: F401

    torch.manual_seed(0)
    x = torch.linspace(-2, 2, 24).unsqueeze(1)
    y_reg = torch.sin(2 * x) + 0.1 * torch.randn(24, 1)
    y_cls = (x.squeeze(1) + 0.3 * torch.randn(24) > 0).long()
    data_reg = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y_reg),
                                           batch_size=8)
    data_cls = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y_cls),
                                           batch_size=8)
    for likelihood, data, outputs in (("regression", data_reg, 1),
                                      ("classification", data_cls, 2)):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(),
                                    torch.nn.Linear(8, outputs))
        for subset, structure in (("all", "full"), ("all", "diag"), ("all", "kron"),
                                  ("last_layer", "full"), ("last_layer", "kron")):
            key = f"laplace.{likelihood[:3]}.{subset}.{structure}"
            la = Laplace(model, likelihood, subset_of_weights=subset,
                         hessian_structure=structure)
            la.fit(data)
            put(f"{key}.marglik", la.log_marginal_likelihood())
            sigma = torch.tensor(0.3) if likelihood == "regression" else None
            put(f"{key}.marglik_p", la.log_marginal_likelihood(torch.tensor(0.5), sigma))
            la.optimize_prior_precision(method="marglik", n_steps=5)
            put(f"{key}.prior_prec", la.prior_precision)
            put(f"{key}.logdet", la.log_det_posterior_precision)
            if likelihood == "regression":
                mean, var = la(x[:5], pred_type="glm")
                put(f"{key}.glm_mean", mean)
                put(f"{key}.glm_var", var)
            else:
                put(f"{key}.probit", la(x[:5], pred_type="glm", link_approx="probit"))
                put(f"{key}.bridge", la(x[:5], pred_type="glm", link_approx="bridge"))
            if structure == "diag":
                put(f"{key}.posterior_var", la.posterior_variance)


# ---------------------------------------------------------------------------------------- sbi


def run_sbi() -> None:
    from sbi.inference import NLE, NPE, NRE
    from sbi.utils import BoxUniform

    torch.manual_seed(0)
    prior = BoxUniform(low=-2 * torch.ones(2), high=2 * torch.ones(2))
    theta = prior.sample((200,))
    x = theta + 0.2 * torch.randn(200, 2)  # the simulator: a noisy identity
    x_o = torch.tensor([[0.5, -0.3]])
    put("sbi.theta", theta)
    for name, method, estimator in (("npe_maf", NPE, "maf"), ("npe_mdn", NPE, "mdn"),
                                    ("npe_zuko", NPE, "zuko_maf"), ("nle", NLE, "mdn"),
                                    ("nre", NRE, "mlp")):
        torch.manual_seed(1)
        if method is NRE:
            inference = method(prior, classifier=estimator)
        else:
            inference = method(prior, density_estimator=estimator)
        inference.append_simulations(theta, x)
        inference.train(max_num_epochs=3, training_batch_size=50, show_train_summary=False)
        summary = inference.summary
        put(f"sbi.{name}.train_loss", summary["training_loss"])
        put(f"sbi.{name}.val_loss", summary["validation_loss"])
        posterior = inference.build_posterior()
        grid = torch.tensor([[0.5, -0.3], [0.0, 0.0], [1.0, 1.5]])
        if method is NPE:
            torch.manual_seed(2)
            put(f"sbi.{name}.samples", posterior.sample((20,), x=x_o, show_progress_bars=False))
            put(f"sbi.{name}.log_prob", posterior.log_prob(grid, x=x_o))
        elif method is NLE:  # (MCMC sampling is slow: the potential on a grid instead)
            put(f"sbi.{name}.potential", posterior.potential(grid, x=x_o))
        else:
            # NOTE: NRE's contrastive loss is a softmax over atoms, blind to the classifier's
            # last bias: its gradient is rounding noise (~1e-9) that Adam scales to lr-sized
            # steps, so the ratio is defined (and compared) up to that constant only.
            potential = posterior.potential(grid, x=x_o)
            put(f"sbi.{name}.potential_diff", potential[1:] - potential[0])


# ----------------------------------------------------------------------------------- tianshou


def _numba_stand_in() -> None:
    """tianshou jit-compiles a few NumPy helpers with numba, whose releases for the installed
    NumPy are not installed: both sides run those helpers as plain Python."""
    try:
        import numba  # noqa: F401
    except ImportError:
        numba = types.ModuleType("numba")
        numba.njit = lambda *args, **kwargs: (
            args[0] if args and callable(args[0]) else (lambda function: function))
        sys.modules["numba"] = numba


def _cartpole(seed: int):
    import gymnasium as gym
    from tianshou.env import DummyVectorEnv

    envs = DummyVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(2)])
    envs.seed([seed, seed + 1])
    return envs


def run_tianshou() -> None:
    _numba_stand_in()
    import gymnasium as gym
    from tianshou.algorithm import DQN, PPO, Reinforce
    from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
    from tianshou.algorithm.modelfree.reinforce import DiscreteActorPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Batch, Collector, ReplayBuffer, VectorReplayBuffer
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.discrete import DiscreteActor, DiscreteCritic
    from tianshou.utils.torch_utils import policy_within_training_step

    env = gym.make("CartPole-v1")
    obs_shape, n_actions = env.observation_space.shape, env.action_space.n

    buffer = ReplayBuffer(size=8)
    for i in range(11):  # (wraps around)
        buffer.add(Batch(obs=np.full(2, i, dtype=np.float32), act=i % 2, rew=float(i),
                         terminated=i % 5 == 4, truncated=False, obs_next=np.zeros(2),
                         info={}))
    np.random.seed(0)
    put("tianshou.buffer.obs", buffer.obs)
    put("tianshou.buffer.sample_idx", buffer.sample_indices(5))
    put("tianshou.buffer.prev", buffer.prev(np.arange(8)))
    put("tianshou.buffer.next", buffer.next(np.arange(8)))

    # DQN: epsilon-greedy collection into a vector replay buffer, then updates
    torch.manual_seed(0)
    np.random.seed(0)
    net = Net(state_shape=obs_shape, action_shape=n_actions, hidden_sizes=[16, 16])
    policy = DiscreteQLearningPolicy(model=net, action_space=env.action_space,
                                     eps_training=0.1)
    dqn = DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-3), gamma=0.9,
              n_step_return_horizon=2, target_update_freq=4)
    buffer = VectorReplayBuffer(200, 2)
    collector = Collector(dqn, _cartpole(0), buffer, exploration_noise=True)
    collector.reset()
    stats = collector.collect(n_step=60)
    put("tianshou.dqn.collected", stats.n_collected_steps)
    put("tianshou.dqn.rew", buffer.rew[:60])
    put("tianshou.dqn.act", buffer.act[:60])
    for step in range(4):
        with policy_within_training_step(policy):
            result = dqn.update(buffer, sample_size=16)
        put(f"tianshou.dqn.loss{step}", result.loss)
    put_params("tianshou.dqn.p", net)
    put("tianshou.dqn.q", net(torch.as_tensor(buffer.obs[:5]))[0])
    eval_stats = Collector(dqn, _cartpole(7)).collect(n_episode=2, reset_before_collect=True)
    put("tianshou.dqn.eval_lens", np.sort(eval_stats.lens))

    # REINFORCE (policy gradient) and PPO on whole collected episodes
    for name in ("pg", "ppo"):
        torch.manual_seed(1)
        np.random.seed(1)
        preprocess = Net(state_shape=obs_shape, hidden_sizes=[16])
        actor = DiscreteActor(preprocess_net=preprocess, action_shape=n_actions)
        policy = DiscreteActorPolicy(actor=actor, action_space=env.action_space)
        if name == "pg":
            algorithm = Reinforce(policy=policy, optim=AdamOptimizerFactory(lr=1e-2), gamma=0.95)
        else:
            critic = DiscreteCritic(preprocess_net=Net(state_shape=obs_shape, hidden_sizes=[16]))
            algorithm = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=1e-2),
                            max_grad_norm=0.5, gamma=0.95)
        buffer = VectorReplayBuffer(400, 2)
        collector = Collector(algorithm, _cartpole(3), buffer)
        collector.reset()
        stats = collector.collect(n_episode=4)
        put(f"tianshou.{name}.lens", np.sort(stats.lens))
        put(f"tianshou.{name}.act", buffer.act[:40])
        torch.manual_seed(5)
        np.random.seed(5)
        with policy_within_training_step(policy):
            result = algorithm.update(buffer, batch_size=32, repeat=2)
        for field in ("loss", "actor_loss", "vf_loss", "ent_loss", "clip_loss"):
            value = getattr(result, field, None)
            if value is not None:
                put(f"tianshou.{name}.{field}", getattr(value, "mean", value))
        put_params(f"tianshou.{name}.p", algorithm)


def main() -> None:
    out_path, sections = sys.argv[1], sys.argv[2].split(",")
    warnings.filterwarnings("ignore")
    for section in sections:
        try:
            globals()[f"run_{section}"]()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{section}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
