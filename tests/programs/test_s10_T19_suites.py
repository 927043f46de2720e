"""Regression tests for what re-running libraries' own suites under the alias found (T19)."""

import os
import tempfile

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.distributed.checkpoint import state_dict as dcp_sd

torch = pytest.importorskip("torch")


def _saved_by_file_object(m):
    # accelerate's test: torch.save into a NamedTemporaryFile, then load it by its name.
    with tempfile.NamedTemporaryFile(suffix=".pt") as f:
        m.save({"a": m.arange(4.0)}, f)
        size = os.path.getsize(f.name)
        loaded = m.load(f.name)["a"]
    return size > 0, loaded.detach().numpy()


def test_save_to_file_object_is_readable_by_name():
    ok_t, a_t = _saved_by_file_object(torch)
    ok_d, a_d = _saved_by_file_object(dg)
    assert ok_t and ok_d
    np.testing.assert_array_equal(a_d, a_t)


def _model(m):
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(3, 2), m.nn.BatchNorm1d(2))


def test_set_and_get_model_state_dict_match_torch():
    from torch.distributed.checkpoint import state_dict as torch_sd
    fields = [f for f in vars(torch_sd.StateDictOptions()) if not f.startswith("_")]
    assert vars(dcp_sd.StateDictOptions()) == {f: getattr(torch_sd.StateDictOptions(), f)
                                               for f in fields}
    src_t, src_d = _model(torch), _model(dg)
    dst_t, dst_d = _model(torch), _model(dg)
    with torch.no_grad():
        src_t[0].weight.add_(1.0)
    with dg.no_grad():
        src_d[0].weight.add_(1.0)
    sd_t = torch_sd.get_model_state_dict(src_t)
    sd_d = dcp_sd.get_model_state_dict(src_d)
    assert list(sd_t) == list(sd_d)
    sd_t["extra"] = torch.zeros(1)
    sd_d["extra"] = dg.zeros(1)
    opts_t = torch_sd.StateDictOptions(strict=False)
    opts_d = dcp_sd.StateDictOptions(strict=False)
    keys_t = torch_sd.set_model_state_dict(dst_t, sd_t, options=opts_t)
    keys_d = dcp_sd.set_model_state_dict(dst_d, sd_d, options=opts_d)
    assert list(keys_d.missing_keys) == list(keys_t.missing_keys)
    assert list(keys_d.unexpected_keys) == list(keys_t.unexpected_keys) == ["extra"]
    np.testing.assert_allclose(dst_d[0].weight.detach().numpy(),
                               dst_t[0].weight.detach().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):
        torch_sd.set_model_state_dict(dst_t, sd_t)
    with pytest.raises(RuntimeError):
        dcp_sd.set_model_state_dict(dst_d, sd_d)


def test_frozen_params_dropped_like_torch():
    from torch.distributed.checkpoint import state_dict as torch_sd
    mt, md = _model(torch), _model(dg)
    mt[0].weight.requires_grad_(False)
    md[0].weight.requires_grad_(False)
    kt = list(torch_sd.get_model_state_dict(
        mt, options=torch_sd.StateDictOptions(ignore_frozen_params=True)))
    kd = list(dcp_sd.get_model_state_dict(
        md, options=dcp_sd.StateDictOptions(ignore_frozen_params=True)))
    assert kd == kt


def test_optimizer_forms_refuse_clearly():
    model = _model(dg)
    opt = dg.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(NotImplementedError, match="not supported"):
        dcp_sd.get_optimizer_state_dict(model, opt)
