"""Generator states as PyTorch's: get_rng_state / set_rng_state / Generator.get_state bytes,
compared byte for byte against real torch (session 9, R1)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

STATE_SIZE = 5056
# Byte offsets in PyTorch's CPUGeneratorImplState (see _engine/random.py).
SEED, LEFT, SEEDED, NEXT, KEY = 0, 8, 12, 16, 24
NORMAL_Y, NORMAL_VALID, FLOAT_NORMAL, FLOAT_VALID = 5024, 5040, 5048, 5052


def _bytes(state) -> bytes:
    return state.numpy().tobytes()


def _same_state(where: str) -> None:
    mine, theirs = _bytes(dg.get_rng_state()), _bytes(torch.get_rng_state())
    if mine != theirs:
        first = next(i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b)
        raise AssertionError(f"{where}: states differ from byte {first}")


def _put(data: bytearray, offset: int, value, dtype) -> None:
    data[offset:offset + np.dtype(dtype).itemsize] = np.array(value, dtype=dtype).tobytes()


def _torch_state(data: bytes):
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()


def _dg_state(data: bytes):
    return dg.tensor(np.frombuffer(data, dtype=np.uint8).copy())


HISTORY = [
    ("rand", lambda m: m.rand(3)),
    ("randn small (a cached second normal)", lambda m: m.randn(3)),
    ("randn one (uses the cache)", lambda m: m.randn(1)),
    ("randn float64 scalar path", lambda m: m.randn(5, dtype=m.float64)),
    ("randn vector path", lambda m: m.randn(37)),
    ("randint narrow", lambda m: m.randint(0, 10, (7,))),
    ("randint wide", lambda m: m.randint(0, 2 ** 40, (3,))),
    ("randperm", lambda m: m.randperm(30)),
    ("bernoulli tensor", lambda m: m.bernoulli(m.full((9,), 0.3))),
    ("bernoulli_ scalar", lambda m: m.empty(11).bernoulli_(0.4)),
    ("dropout", lambda m: m.nn.functional.dropout(m.ones(33), 0.5)),
    ("multinomial", lambda m: m.multinomial(m.ones(5), 3)),
    ("multinomial replacement", lambda m: m.multinomial(m.ones(2, 4), 5, replacement=True)),
    ("exponential_", lambda m: m.empty(4).exponential_()),
    ("normal_ non-contiguous", lambda m: m.empty(3, 4).t().normal_()),
    ("log_normal_", lambda m: m.empty(3).log_normal_()),
    ("to the twist", lambda m: m.rand(600)),
    ("across it", lambda m: m.rand(700, dtype=m.float64)),
]


@pytest.mark.parametrize("seed", [0, 5, 2 ** 40 + 3, -1, 2 ** 64 - 1])
def test_state_bytes_follow_pytorch_through_a_history(seed):
    for m in (torch, dg):
        m.manual_seed(seed)
    _same_state("just seeded")
    assert dg.initial_seed() == torch.initial_seed()
    for name, draw in HISTORY:
        for m in (torch, dg):
            draw(m)
        _same_state(f"after {name}")


def test_state_tensor_is_a_uint8_cpu_tensor_like_pytorchs():
    dg.manual_seed(1)
    state = dg.get_rng_state()
    assert isinstance(state, dg.Tensor) and state.dtype == dg.uint8
    assert tuple(state.shape) == (STATE_SIZE,) and state.device.type == "cpu"
    assert not state.requires_grad
    assert _bytes(dg.Generator().get_state()) == _bytes(torch.Generator().get_state())
    g, tg = dg.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    dg.randn(3, generator=g), torch.randn(3, generator=tg)
    assert _bytes(g.get_state()) == _bytes(tg.get_state())
    assert dg.get_rng_state() is not dg.get_rng_state()  # a new tensor each call
    assert dg.random.get_rng_state().numpy().tobytes() == _bytes(dg.get_rng_state())


@pytest.mark.parametrize("history", ["seeded", "cached normal", "at the twist", "past it"])
def test_a_pytorch_state_restores_pytorchs_stream(history):
    torch.manual_seed(11)
    if history == "cached normal":
        torch.randn(3)
    elif history == "at the twist":
        torch.rand(624)
    elif history == "past it":
        torch.rand(1000)
    state = torch.get_rng_state()
    dg.manual_seed(0)
    assert dg.set_rng_state(_dg_state(_bytes(state))) is None
    _same_state("restored")
    assert dg.initial_seed() == 11
    for draw in (lambda m: m.randn(1), lambda m: m.rand(5), lambda m: m.randint(0, 100, (4,))):
        np.testing.assert_array_equal(draw(dg).numpy(), draw(torch).numpy())
    # (vector-path normals: an ulp apart at most, see stream.py)
    np.testing.assert_allclose(dg.randn(20).numpy(), torch.randn(20).numpy(), rtol=3e-7)
    _same_state("after draws")


def test_a_deltagrad_state_drives_pytorch():
    dg.manual_seed(3)
    dg.randn(5)  # leaves a cached normal
    state = dg.get_rng_state()
    torch.set_rng_state(_torch_state(_bytes(state)))
    np.testing.assert_array_equal(torch.randn(1).numpy(), dg.randn(1).numpy())
    np.testing.assert_array_equal(torch.rand(9).numpy(), dg.rand(9).numpy())


def test_flipped_fields_mean_what_they_mean_in_pytorch():
    torch.manual_seed(2)
    base = bytearray(_bytes(torch.get_rng_state()))
    _put(base, SEED, 123456789, "<u8")
    _put(base, NORMAL_Y, 2.5, "<f8")
    _put(base, NORMAL_VALID, 1, "<i4")
    _put(base, FLOAT_NORMAL, -0.75, "<f4")
    base[FLOAT_VALID] = 1
    data = bytes(base)
    torch.set_rng_state(_torch_state(data))
    dg.set_rng_state(_dg_state(data))
    assert dg.initial_seed() == torch.initial_seed() == 123456789
    _same_state("flipped")  # the float cache travels through unchanged
    np.testing.assert_array_equal(dg.randn(3, dtype=dg.float64).numpy(),
                                  torch.randn(3, dtype=torch.float64).numpy())
    _same_state("after drawing the cached normal")
    # A twist due (left = 1) with another `next`: both report it until the next draw.
    torch.manual_seed(2)
    odd = bytearray(_bytes(torch.get_rng_state()))
    _put(odd, NEXT, 17, "<u8")
    torch.set_rng_state(_torch_state(bytes(odd)))
    dg.set_rng_state(_dg_state(bytes(odd)))
    _same_state("left 1, next 17")
    np.testing.assert_array_equal(dg.rand(4).numpy(), torch.rand(4).numpy())
    _same_state("drawn")


def test_bad_states_raise_pytorchs_errors():
    good = bytearray(_bytes(torch.get_rng_state()))
    cases = [
        ([0] * STATE_SIZE, TypeError, "expected a torch.ByteTensor, but got list"),
        (np.zeros(STATE_SIZE, np.uint8), TypeError, "but got numpy.ndarray"),
        (dg.zeros(STATE_SIZE, dtype=dg.int8), TypeError, "RNG state must be a torch.ByteTensor"),
        (dg.zeros(STATE_SIZE - 1, dtype=dg.uint8), RuntimeError,
         "Expected a CPUGeneratorImplState of size 5056 but found the input RNG state size "
         "to be 5055"),
        (dg.zeros(2, STATE_SIZE // 2, dtype=dg.uint8), RuntimeError, "Invalid mt19937 state"),
    ]
    for left, next_ in ((0, 0), (625, 0), (5, 625)):
        bad = bytearray(good)
        _put(bad, LEFT, left, "<i4")
        _put(bad, NEXT, next_, "<u8")
        cases.append((_dg_state(bytes(bad)), RuntimeError, "Invalid mt19937 state"))
    for state, error, message in cases:
        with pytest.raises(error, match=message.replace("(", r"\(")):
            dg.set_rng_state(state)
        theirs = (torch.from_numpy(state.numpy()) if isinstance(state, dg.Tensor) else state)
        with pytest.raises(error):
            torch.set_rng_state(theirs)
    # A state PyTorch accepts but no draw reaches: refused, not followed wrongly.
    odd = bytearray(good)
    _put(odd, LEFT, 2, "<i4")
    _put(odd, NEXT, 0, "<u8")
    torch.set_rng_state(_torch_state(bytes(odd)))
    with pytest.raises(NotImplementedError, match="left=2 and next=0"):
        dg.set_rng_state(_dg_state(bytes(odd)))


def test_seeds_and_generator_methods():
    for bad in (2 ** 64, -2 ** 63 - 1):
        with pytest.raises(ValueError):
            torch.manual_seed(bad)
        with pytest.raises(ValueError):
            dg.manual_seed(bad)
    g = dg.Generator()
    new = g.seed()
    assert g.initial_seed() == new
    assert int(np.frombuffer(_bytes(g.get_state())[:8], np.uint64)[0]) == new
    g.manual_seed(4)
    dg.rand(3, generator=g)
    other = dg.Generator(9)
    assert other.set_state(g.get_state()) is other and other.initial_seed() == 4
    copy = g.clone_state()
    np.testing.assert_array_equal(dg.rand(4, generator=copy).numpy(),
                                  dg.rand(4, generator=g).numpy())
    assert _bytes(copy.get_state()) == _bytes(g.get_state())


def test_pcg64_state_is_deltagrads_own_byte_layout():
    g = dg.Generator(4, stream="pcg64")
    dg.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == dg.uint8 and tuple(state.shape) == (72,)
    assert _bytes(state)[:8] == b"DGPCG64\0"
    want = dg.randn(5, generator=g).numpy()
    other = dg.Generator(0)
    other.set_state(state)
    assert other.stream == "pcg64" and other.initial_seed() == 4
    np.testing.assert_array_equal(dg.randn(5, generator=other).numpy(), want)
    assert _bytes(other.get_state()) == _bytes(g.get_state())
    # deltagrad's earlier dict states (old checkpoints) still load.
    old = {"seed": 4, "bit_generator": "PCG64", "state": dict(other._bits.state["state"]),
           "has_uint32": 0, "uinteger": 0}
    g.set_state(old)
    np.testing.assert_array_equal(dg.randn(2, generator=g).numpy(),
                                  dg.randn(2, generator=other).numpy())


def test_fork_rng_and_checkpoint_keep_the_stream():
    for m in (torch, dg):
        m.manual_seed(6)
        m.randn(3)
        with m.random.fork_rng():
            m.rand(50)
    _same_state("after fork_rng")

    def run(m):
        m.manual_seed(8)
        layer = m.nn.Sequential(m.nn.Linear(4, 4), m.nn.Dropout(0.5))
        x = m.randn(2, 4, requires_grad=True)
        from importlib import import_module
        checkpoint = import_module(m.__name__ + ".utils.checkpoint").checkpoint
        out = checkpoint(layer, x, use_reentrant=False)
        out.sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    mine, theirs = run(dg), run(torch)
    np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-6, atol=1e-6)
    _same_state("after a checkpointed dropout")


def test_a_saved_state_restores_after_save_and_load(tmp_path):
    dg.manual_seed(12)
    dg.randn(3)
    path = tmp_path / "rng.pt"
    dg.save({"rng": dg.get_rng_state()}, path)
    want = dg.randn(4).numpy()
    dg.manual_seed(0)
    dg.set_rng_state(dg.load(path)["rng"])
    np.testing.assert_array_equal(dg.randn(4).numpy(), want)
