"""Regression tests for what running libraries' own suites under the alias found (T25: timm's
optimizer tests)."""

import copy
import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _adam_after_step(m):
    p = m.nn.Parameter(m.ones(3))
    opt = m.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    return p, opt


class _Tracked:
    """A third-party subclass as timm writes them (``super().__setstate__`` and a
    ``load_state_dict`` override that registers hooks around ``super().load_state_dict``)."""

    @staticmethod
    def make(m):
        class Tracked(m.optim.Adam):
            def __setstate__(self, state):
                super().__setstate__(state)
                for group in self.param_groups:
                    group.setdefault("scale", group["lr"] * 10)
                    self.state_was_set = True

            def load_state_dict(self, state_dict):
                seen = []
                pre = self.register_load_state_dict_pre_hook(lambda o, sd: seen.append("pre"))
                post = self.register_load_state_dict_post_hook(lambda o: seen.append("post"))
                try:
                    super().load_state_dict(state_dict)
                finally:
                    pre.remove()
                    post.remove()
                self.seen = seen
        return Tracked


def test_optimizer_setstate_deepcopy_and_subclass_hooks_match_torch():
    results = []
    for m in (torch, dg):
        p, opt = _adam_after_step(m)
        # timm's tests deep-copy optimizers, whose __setstate__ chains to the base class.
        clone = copy.deepcopy(opt)
        assert clone.defaults["differentiable"] is False
        tracked = _Tracked.make(m)([m.nn.Parameter(m.ones(3))], lr=0.1)
        saved = opt.state_dict()
        saved["param_groups"][0].pop("lr")  # an older checkpoint: __setstate__ fills in
        saved["param_groups"][0]["lr"] = 0.05
        tracked.load_state_dict(saved)
        group = tracked.param_groups[0]
        results.append((tracked.seen, tracked.state_was_set, group["lr"], group["scale"],
                        clone.state_dict()["state"][0]["exp_avg"].tolist()))
    assert results[0] == results[1]
    assert results[0][0] == ["pre", "post"]


def test_load_state_dict_casts_bfloat16_state_like_torch():
    out = []
    for m in (torch, dg):
        row = []
        for param_dtype in (m.float32, m.bfloat16):
            p = m.nn.Parameter(m.ones(3, dtype=param_dtype))
            opt = m.optim.Adam([p])
            extra = m.tensor([0.5, 1.5, 2.5], dtype=m.bfloat16)
            saved = {"state": {0: {"step": m.tensor(3.0), "exp_avg": m.ones(3), "exp_avg_sq":
                                   m.ones(3), "extra": extra}},
                     "param_groups": opt.state_dict()["param_groups"]}
            opt.load_state_dict(saved)
            got = opt.state[p]["extra"]
            row.append((str(got.dtype).split(".")[-1], got.float().tolist(),
                        got is extra))
        out.append(row)
    assert out[0] == out[1]


def test_addmm_family_out_matches_torch():
    got = []
    for m in (torch, dg):
        m.manual_seed(0)
        x = m.randn(4, 3)
        a = m.full((4, 4), float("nan"))
        r1 = m.addmm(a, x, x.mT, beta=0.0, alpha=1.0, out=a)  # (timm's Muon, beta=0 on nan)
        xb, bi = m.randn(2, 4, 3), m.randn(2, 4, 4)
        b = m.empty(2, 4, 4)
        r2 = m.baddbmm(bi, xb, xb.mT, beta=0.5, alpha=2.0, out=b)
        v = m.empty(3)
        m.addmv(m.ones(3), m.ones(3, 2), m.ones(2), out=v)
        s = m.empty(4, 4)
        m.addbmm(m.ones(4, 4), xb, xb.mT, out=s)
        got.append((r1 is a, r2 is b, a.numpy().copy(), b.numpy().copy(), v.numpy().copy(),
                    s.numpy().copy()))
        w = m.ones(3, 3, requires_grad=True)
        with pytest.raises(RuntimeError):
            m.addmm(m.zeros(3, 3), w, w, out=m.empty(3, 3))
    assert got[0][:2] == got[1][:2] == (True, True)
    for t_value, d_value in zip(got[0][2:], got[1][2:]):
        np.testing.assert_allclose(d_value, t_value, rtol=1e-6, atol=1e-6)


def test_aten_overloads_listed_like_torch():
    for name in ("_foreach_maximum_", "_foreach_add_", "_foreach_mul_", "_foreach_add",
                 "_foreach_div"):
        assert (getattr(dg.ops.aten, name).overloads()
                == getattr(torch.ops.aten, name).overloads())
    with pytest.raises(NotImplementedError):
        dg.ops.aten.some_unlisted_op.overloads()


@pytest.mark.parametrize("shape", [(1,), (3, 4), (0, 2)])
def test_complex_randn_matches_torch(shape):
    for name, exact in (("complex128", True), ("complex64", False)):
        torch.manual_seed(0)
        dg.manual_seed(0)
        t = torch.randn(*shape, dtype=getattr(torch, name))
        d = dg.randn(*shape, dtype=getattr(dg, name))
        assert str(d.dtype).split(".")[-1] == name and tuple(d.shape) == tuple(t.shape)
        if exact or math.prod(shape) * 2 < 16:
            np.testing.assert_array_equal(d.numpy(), t.numpy())
        else:  # (float32 normals of 16+ draws: PyTorch's vector math library, an ulp apart)
            np.testing.assert_allclose(d.numpy(), t.numpy(), rtol=0, atol=2.5e-7)
    torch.manual_seed(1)
    dg.manual_seed(1)
    np.testing.assert_array_equal(
        dg.randn_like(dg.zeros(2, dtype=dg.complex128)).numpy(),
        torch.randn_like(torch.zeros(2, dtype=torch.complex128)).numpy())
