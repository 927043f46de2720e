"""Sine-wave prediction with two stacked LSTMCells, after PyTorch's time_sequence_prediction.

The model steps through time one sample at a time, then keeps feeding its own output back in to
predict ``future`` further samples. It runs in float64 (``seq.double()``) and is trained by
``optim.LBFGS`` with a closure that re-evaluates the loss.
"""

from __future__ import annotations

import numpy as np


def make_waves(n_waves=12, length=60, period=20, seed=2):
    """``n_waves`` sine waves of ``length`` samples, each shifted by a random phase (float64)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n_waves, length), dtype=np.int64)
    x[:] = np.arange(length) + rng.integers(-4 * period, 4 * period, n_waves).reshape(n_waves, 1)
    return np.sin(x / 1.0 / period).astype(np.float64)


def sequence_model(torch, hidden=16):
    """Two LSTMCells and a Linear read-out, unrolled by hand over the time axis."""
    nn = torch.nn

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, hidden)
            self.lstm2 = nn.LSTMCell(hidden, hidden)
            self.linear = nn.Linear(hidden, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), hidden, dtype=torch.double)
            c_t = torch.zeros(input.size(0), hidden, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), hidden, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), hidden, dtype=torch.double)

            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):  # predict the future from its own predictions
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            return torch.cat(outputs, dim=1)

    return Sequence().double()


def train(torch, seq, steps=2, future=10, max_iter=20, line_search_fn=None):
    """LBFGS over the training waves; returns every closure loss, then the test loss."""
    data = make_waves()
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8, max_iter=max_iter,
                                  line_search_fn=line_search_fn)
    losses = []
    for i in range(steps):
        print("STEP: ", i)

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print("loss:", loss.item())
            losses.append(loss.item())
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print("test loss:", loss.item())
            y = pred.detach().numpy()
        assert y.shape == (3, data.shape[1] - 1 + future)
    return losses + [loss.item()]


def main(torch, steps: int = 3) -> list[float]:
    """Train from the library's own random start."""
    np.random.seed(0)
    torch.manual_seed(0)
    return train(torch, sequence_model(torch), steps=steps)
