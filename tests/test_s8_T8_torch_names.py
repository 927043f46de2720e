"""PyTorch names Lightning touches (T8, session 8), each compared with PyTorch's own answer:
ReduceOp.RedOpType, torch.distributed.constants, is_torchelastic_launched, torch._C._nn._parse_to,
torch._C._TensorMeta, torch.cuda.{get,set}_rng_state_all, torch.profiler.kineto_available,
torch.nn.modules.batchnorm, torch.nn.parallel.distributed, torch.PyTorchFileReader/Writer."""

import importlib

import pytest

import deltagrad as dg
import deltagrad._C  # noqa: F401 - loaded by the alias, not by `import deltagrad`

torch = pytest.importorskip("torch")


def test_reduce_op_members_are_red_op_types():
    import deltagrad.distributed as dist

    assert isinstance(dist.ReduceOp.SUM, dist.ReduceOp.RedOpType)
    assert sorted(dist.ReduceOp.RedOpType.__members__) == sorted(
        torch.distributed.ReduceOp.RedOpType.__members__)


def test_distributed_constants_and_torchelastic(monkeypatch):
    constants = importlib.import_module("deltagrad.distributed.constants")
    real = importlib.import_module("torch.distributed.constants")
    assert constants.default_pg_timeout == real.default_pg_timeout
    assert constants.default_pg_nccl_timeout == real.default_pg_nccl_timeout  # None on CPU
    import deltagrad.distributed as dist

    for value in (None, "run-1"):
        if value is None:
            monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
        else:
            monkeypatch.setenv("TORCHELASTIC_RUN_ID", value)
        assert dist.is_torchelastic_launched() == torch.distributed.is_torchelastic_launched()


@pytest.mark.parametrize("case", [
    lambda m: (("cpu",), {}), lambda m: ((m.float64,), {}),
    lambda m: ((m.zeros(2, dtype=m.int64),), {}), lambda m: (("cpu", m.float16, True), {}),
    lambda m: ((), {"device": "cpu", "memory_format": m.channels_last}),
    lambda m: ((), {"dtype": m.float32, "non_blocking": True}),
])
def test_parse_to_matches(case):
    def normal(result):
        device, dtype, non_blocking, layout = result
        return (None if device is None else str(device), str(dtype).rsplit(".")[-1],
                non_blocking, str(layout).rsplit(".")[-1])

    ours, real = case(dg), case(torch)
    assert normal(dg._C._nn._parse_to(*ours[0], **ours[1])) == normal(
        torch._C._nn._parse_to(*real[0], **real[1]))


def test_parse_to_rejects_what_torch_rejects():
    with pytest.raises(TypeError):
        torch._C._nn._parse_to("cpu", 3)
    with pytest.raises(TypeError):
        dg._C._nn._parse_to("cpu", 3)
    with pytest.raises(RuntimeError):
        dg._C._nn._parse_to("cuda")


def test_tensor_meta_is_tensor_metaclass():
    assert isinstance(dg.Tensor, dg._C._TensorMeta)
    assert isinstance(torch.Tensor, torch._C._TensorMeta)


def test_cuda_rng_state_all_and_kineto():
    profiler = importlib.import_module("deltagrad.profiler")

    assert dg.cuda.get_rng_state_all() == torch.cuda.get_rng_state_all() == []
    assert dg.cuda.set_rng_state_all([]) is None and torch.cuda.set_rng_state_all([]) is None
    with pytest.raises(RuntimeError, match="CPU only"):
        dg.cuda.set_rng_state_all([dg.zeros(4, dtype=dg.uint8)])
    assert profiler.kineto_available() is False  # deltagrad has no Kineto tracer
    assert isinstance(torch.profiler.kineto_available(), bool)


def test_nn_module_paths():
    from deltagrad.nn.parallel.distributed import DistributedDataParallel

    from deltagrad.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm
    from deltagrad.nn.modules.module import _IncompatibleKeys

    assert BatchNorm1d is dg.nn.BatchNorm1d and isinstance(BatchNorm2d(3), _BatchNorm)
    assert not isinstance(dg.nn.LayerNorm(3), _BatchNorm)
    assert DistributedDataParallel is dg.nn.parallel.DistributedDataParallel
    result = dg.nn.Linear(2, 2).load_state_dict(dg.nn.Linear(2, 2).state_dict())
    assert isinstance(result, _IncompatibleKeys) and tuple(result) == ([], [])


def test_pytorch_zip_file_classes_refuse(tmp_path):
    for name in ("PyTorchFileReader", "PyTorchFileWriter"):
        assert isinstance(getattr(torch, name), type)
        with pytest.raises(RuntimeError, match="zip checkpoint format"):
            getattr(dg, name)(str(tmp_path / "x.pt"))


def test_dtypes_and_devices_survive_save_and_load(tmp_path):
    # (Lightning checkpoints hold hyperparameters such as dtype=torch.float64 and device="cpu")
    value = {"dtype": dg.float64, "many": [dg.int8, dg.bool, dg.bfloat16],
             "device": dg.device("cpu"), "indexed": dg.device("cpu", 0), (dg.float16, 1): "key"}
    dg.save(value, tmp_path / "hp.safetensors")
    back = dg.load(tmp_path / "hp.safetensors")
    assert back == value and back["dtype"] is dg.float64
    assert str(back["indexed"]) == "cpu:0"
    with pytest.raises(TypeError, match="'s' is a generator"):  # (sets save since s9 PK1)
        dg.save({"s": (i for i in range(2))}, tmp_path / "bad.safetensors")
