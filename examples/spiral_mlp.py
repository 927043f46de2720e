"""Fit a 2-layer MLP to two interleaved spirals with plain SGD, written against the Tensor API.

    python examples/spiral_mlp.py

The loop is the lecture's recipe with nothing hidden: forward, loss, backward, then each
parameter moves against its gradient.
"""

import numpy as np

import deltagrad as dg


def spirals(n_per_class: int, rng: np.random.Generator):
    t = np.sqrt(rng.uniform(0.05, 1.0, n_per_class)) * 2 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (2 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.02, (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    return x.astype(np.float32), y


def main(steps: int = 3000, hidden: int = 64, lr: float = 1.0, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    x, y = spirals(200, rng)
    inputs, labels = dg.from_numpy(x), dg.from_numpy(y)
    # Xavier-uniform initialisation, written out.
    bound1, bound2 = np.sqrt(6 / (2 + hidden)), np.sqrt(6 / (hidden + 2))
    w1 = dg.tensor(rng.uniform(-bound1, bound1, (2, hidden)).astype(np.float32), requires_grad=True)
    b1 = dg.zeros(hidden, requires_grad=True)
    w2 = dg.tensor(rng.uniform(-bound2, bound2, (hidden, 2)).astype(np.float32), requires_grad=True)
    b2 = dg.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2]
    rows = np.arange(len(y))
    for step in range(steps + 1):
        hidden_act = (inputs @ w1 + b1).tanh()
        logits = hidden_act @ w2 + b2
        loss = -logits.log_softmax(dim=1)[rows, labels.data].mean()
        for p in params:
            p.grad = None
        loss.backward()
        with dg.no_grad():
            for p in params:
                p.data -= lr * p.grad.data
        if step % 500 == 0:
            accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
            print(f"step {step:5d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
