"""Session 6: deltagrad.profiler / deltagrad.autograd.profiler (profile, record_function,
key_averages().table(), schedule) and deltagrad.autograd.graph."""

import json

import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS
from deltagrad.autograd import graph
from deltagrad.autograd import profiler as autograd_profiler
from deltagrad.profiler import ProfilerAction, ProfilerActivity, profile, record_function
from deltagrad.profiler import schedule as make_schedule


def _step(x):
    with record_function("block"):
        y = (x @ x).relu().sum()
    y.backward()
    return y


def test_profile_records_real_op_calls_and_backward():
    x = dg.randn(8, 8, requires_grad=True)
    forward_before = OPS["matmul"].forward
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        _step(x)
    assert OPS["matmul"].forward is forward_before  # (the wrappers are gone afterwards)
    averages = prof.key_averages()
    keys = [e.key for e in averages]
    for key in ("block", "aten::matmul", "aten::relu", "aten::sum", "MmBackward0",
                "ReluBackward0", "SumBackward0"):
        assert key in keys
    by_key = {e.key: e for e in averages}
    block = by_key["block"]
    inside = sum(by_key[k].cpu_time_total for k in ("aten::matmul", "aten::relu", "aten::sum"))
    assert block.cpu_time_total >= inside > 0
    assert block.self_cpu_time_total == pytest.approx(block.cpu_time_total - inside, abs=1e-6)
    assert by_key["aten::matmul"].count == 1
    table = averages.table(sort_by="self_cpu_time_total", row_limit=3)
    assert "Self CPU time total" in table and "Name" in table and "# of Calls" in table
    # (a row reads "ms" instead of "us" when the machine is busy)
    assert len([line for line in table.splitlines()
                if ("us" in line or "ms" in line) and "%" in line]) == 3
    shaped = prof.key_averages(group_by_input_shape=True)
    assert [8, 8] in {e.key: e for e in shaped}["aten::matmul"].input_shapes
    with pytest.raises(ValueError):
        averages.table(sort_by="nonsense")
    with dg.no_grad():  # nothing recorded once the context has exited
        dg.ones(2) + 1
    assert [e.key for e in prof.key_averages()] == keys


def test_nothing_recorded_outside_and_decorator_form():
    @record_function("decorated")
    def work():
        return dg.ones(3).exp()

    work()  # (no profiler: a no-op)
    with autograd_profiler.profile() as prof:
        work()
        work()
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["decorated"].count == 2 and averages["aten::exp"].count == 2
    assert prof.total_average().count == len(prof.events())
    with autograd_profiler.profile(enabled=False) as off:
        work()
    assert len(off.events()) == 0


def test_schedule_matches_torch_and_windows():
    torch = pytest.importorskip("torch")
    ours = make_schedule(skip_first=1, wait=1, warmup=1, active=2, repeat=2)
    theirs = torch.profiler.schedule(skip_first=1, wait=1, warmup=1, active=2, repeat=2)
    assert [ours(i).name for i in range(14)] == [theirs(i).name for i in range(14)]
    saved = []
    with profile(schedule=make_schedule(wait=1, warmup=1, active=2, repeat=1),
                 on_trace_ready=lambda p: saved.append([e.key for e in p.events()])) as prof:
        for step in range(6):
            dg.ones(2).add(step)
            prof.step()
    # steps 2 and 3 recorded, saved once (at the end of step 3)
    assert saved == [["aten::add", "aten::add"]]
    assert ProfilerAction.RECORD_AND_SAVE.name == "RECORD_AND_SAVE"


def test_function_ops_are_timed():
    weight = dg.ones(1, 1, 2, 2, requires_grad=True)
    with profile() as prof:
        dg.nn.functional.conv2d(dg.ones(1, 1, 4, 4), weight).sum().backward()
    keys = [e.key for e in prof.key_averages()]
    assert "_ConvFunction" in keys and "ConvolutionBackward0" in keys


def test_export_chrome_trace(tmp_path):
    with profile() as prof:
        dg.ones(4).sum()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert [e["name"] for e in events] == ["aten::sum"] and events[0]["ph"] == "X"


def test_torch_style_import_paths():
    assert dg.profiler.profile is profile
    assert dg.autograd.profiler.record_function is record_function
    assert dg.autograd.forward_ad.dual_level is not None


def test_graph_node_and_saved_tensor_hooks():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert isinstance(y.grad_fn, graph.Node)
    assert not isinstance(object(), graph.Node)
    packed = []  # (the hooks run since session 14: tests/autograd/test_s14_AG_*.py)
    with graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        assert float((x * x).sum()) == 5.0
    assert len(packed) == 2
    with graph.save_on_cpu(pin_memory=True):  # a no-op on the CPU (H11, session 7)
        assert float((x * x).sum()) == 5.0
    with graph.disable_saved_tensors_hooks("no hooks here"):
        assert float((x * x).sum()) == 5.0
