"""The nn-module half of session 20's fuzzer families (``s20_SL5_families.py`` draws from it):
modules built after ``torch.manual_seed`` (deltagrad draws PyTorch's initial weights, see
``tests/test_random_stream.py``) with random configurations, called on a fresh leaf, and a
weighted backward; the snapshot after the line compares output, input gradient, parameters,
buffers (running statistics) and parameter gradients.

Each maker returns one statement (parts joined by ``;``) or None.
"""

from __future__ import annotations

import numpy as np

F = "torch.nn.functional"


def _pair_or_int(gen, lo, hi):
    if gen.coin(0.6):
        return str(int(gen.rng.integers(lo, hi)))
    return str((int(gen.rng.integers(lo, hi)), int(gen.rng.integers(lo, hi))))


class NNFamilies:
    """Mixed into the generator (it needs ``pick``, ``coin``, ``rng``, ``fresh``, ``flt``)."""

    def _leaf(self, shape, grad=True, dtype="float32"):
        name = self.fresh()
        rg = ", requires_grad=True" if grad else ""
        return name, f"{name} = torch.tensor({self.flt(shape)}, dtype=torch.{dtype}{rg})"

    def _backward(self, y, shape, index=""):
        w = self.flt(shape)
        return f"({y}{index} * torch.tensor({w}, dtype={y}{index}.dtype)).sum().backward()"

    def _seeded(self):
        return f"torch.manual_seed({int(self.rng.integers(0, 1000))})"

    # -- convolutions ---------------------------------------------------------------------------
    def conv(self):
        kind = self.pick(["Conv1d", "Conv2d", "Conv2d", "ConvTranspose2d", "ConvTranspose1d"])
        nd = 1 if kind.endswith("1d") else 2
        groups = self.pick([1, 1, 2])
        ci = groups * int(self.rng.integers(1, 3))
        co = groups * int(self.rng.integers(1, 3))
        k = int(self.rng.integers(1, 4))
        kw = [f"{ci}", f"{co}", f"{k}" if nd == 1 or self.coin(0.6)
              else str((k, int(self.rng.integers(1, 4))))]
        transpose = kind.startswith("ConvT")
        if self.coin(0.5):
            stride = self.pick(['1', '2', '3']) if nd == 1 else _pair_or_int(self, 1, 3)
            kw.append(f"stride={stride}")
        if self.coin(0.5):
            kw.append(f"dilation={self.pick(['1', '2']) if nd == 1 else _pair_or_int(self, 1, 3)}")
        if self.coin(0.6):
            pads = ["0", "1", "2"]
            if not transpose:
                pads += ["'same'", "'valid'"]
            pad = self.pick(pads)
            if nd == 2 and not pad.startswith("'") and self.coin(0.3):
                pad = _pair_or_int(self, 0, 3)
            kw.append(f"padding={pad}")
        if transpose and self.coin(0.3):
            kw.append("output_padding=1")
        if groups > 1:
            kw.append(f"groups={groups}")
        if self.coin(0.3):
            kw.append("bias=False")
        if not transpose and self.coin(0.3):
            kw.append(f"padding_mode={self.pick(['zeros', 'reflect', 'replicate', 'circular'])!r}")
        if self.coin(0.2):
            kw.append("dtype=torch.float64")
        dtype = "float64" if "dtype=torch.float64" in kw else "float32"
        m = self.fresh()
        size = tuple(int(self.rng.integers(2, 7)) for _ in range(nd))
        shape = (int(self.rng.integers(1, 3)), ci) + size
        if self.coin(0.15):
            shape = shape[1:]  # unbatched
        x, leaf = self._leaf(shape, dtype=dtype)
        y = self.fresh()
        parts = [self._seeded(), f"{m} = torch.nn.{kind}({', '.join(kw)})", leaf, f"{y} = {m}({x})"]
        return parts, y

    # -- normalisation --------------------------------------------------------------------------
    def norm(self):
        kind = self.pick(["BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm1d",
                          "InstanceNorm2d", "LayerNorm"])
        c = int(self.rng.integers(1, 5))
        m = self.fresh()
        if kind.startswith("BatchNorm") or kind.startswith("InstanceNorm"):
            kw = [str(c)]
            if self.coin(0.4):
                kw.append(f"momentum={self.pick(['None', '0.5', '0.1'])}")
            if self.coin(0.3):
                kw.append(f"affine={self.pick(['False', 'True'])}")
            if self.coin(0.3):
                kw.append(f"track_running_stats={self.pick(['False', 'True'])}")
            if self.coin(0.2):
                kw.append("eps=0.1")
            nd = 1 if kind.endswith("1d") else 2
            n = int(self.rng.integers(1, 4)) if kind.startswith("Instance") \
                else int(self.rng.integers(2, 4))
            shape = (n, c) + tuple(int(self.rng.integers(1, 4)) for _ in range(nd))
            if kind == "BatchNorm1d" and self.coin(0.4):
                shape = (n, c)
            if kind.startswith("Instance") and shape[2:] and min(shape[2:]) < 2:
                shape = shape[:2] + tuple(s + 1 for s in shape[2:])
        elif kind == "GroupNorm":
            g = self.pick([1, 2])
            c = g * int(self.rng.integers(1, 3))
            kw = [str(g), str(c)]
            if self.coin(0.3):
                kw.append("affine=False")
            shape = (int(self.rng.integers(1, 3)), c) + tuple(
                int(self.rng.integers(1, 4)) for _ in range(self.pick([0, 1, 2])))
        else:
            shape = tuple(int(self.rng.integers(1, 4)) for _ in range(self.pick([1, 2, 3])))
            k = self.pick([1, 1, 2]) if len(shape) >= 2 else 1
            kw = [str(tuple(shape[len(shape) - k:]))]
            if self.coin(0.3):
                kw.append("elementwise_affine=False")
            elif self.coin(0.3):
                kw.append("bias=False")
        # float64: normalising 2 or 3 elements cancels float32's roundings into ~1e-5
        # relative differences between the libraries (float64 agrees)
        kw.append("dtype=torch.float64")
        x, leaf = self._leaf(shape, dtype="float64")
        y, z = self.fresh(), self.fresh()
        parts = [f"{m} = torch.nn.{kind}({', '.join(kw)})", leaf]
        if self.coin(0.5):  # non-trivial affine parameters
            parts.append(f"with torch.no_grad(): [p.mul_(-1.5).add_(0.25) for p in "
                         f"{m}.parameters()]")
        parts.append(f"{y} = {m}({x})")
        if self.coin(0.5):
            parts += [f"{m}.eval()", f"{z} = {m}({x} * 0.5 + 1)"]
        return parts, y

    # -- recurrent ------------------------------------------------------------------------------
    def rnn(self):
        kind = self.pick(["LSTM", "GRU", "RNN"])
        i, h = int(self.rng.integers(1, 4)), int(self.rng.integers(1, 4))
        layers = self.pick([1, 1, 2])
        bi = self.coin(0.4)
        bf = self.coin(0.5)
        kw = [str(i), str(h)]
        if layers > 1:
            kw.append(f"num_layers={layers}")
        if bi:
            kw.append("bidirectional=True")
        if bf:
            kw.append("batch_first=True")
        if self.coin(0.2):
            kw.append("bias=False")
        if kind == "RNN" and self.coin(0.4):
            kw.append("nonlinearity='relu'")
        proj = 0
        if kind == "LSTM" and h > 1 and self.coin(0.3):
            proj = int(self.rng.integers(1, h))
            kw.append(f"proj_size={proj}")
        m = self.fresh()
        t, b = int(self.rng.integers(1, 4)), int(self.rng.integers(1, 3))
        unbatched = self.coin(0.2)
        shape = (t, i) if unbatched else ((b, t, i) if bf else (t, b, i))
        x, leaf = self._leaf(shape)
        parts = [self._seeded(), f"{m} = torch.nn.{kind}({', '.join(kw)})", leaf]
        args = [x]
        d = layers * (2 if bi else 1)
        if self.coin(0.4):
            hs = (d, proj or h) if unbatched else (d, b, proj or h)
            h0, l0 = self._leaf(hs)
            parts.append(l0)
            if kind == "LSTM":
                cs = (d, h) if unbatched else (d, b, h)
                c0, l1 = self._leaf(cs)
                parts.append(l1)
                args.append(f"({h0}, {c0})")
            else:
                args.append(h0)
        y = self.fresh()
        parts.append(f"{y} = {m}({', '.join(args)})")
        return parts, y

    # -- attention and transformer layers -------------------------------------------------------
    def attention(self):
        heads = self.pick([1, 2])
        e = heads * int(self.rng.integers(1, 3))
        bf = self.coin(0.5)
        kw = [str(e), str(heads)]
        kdim = vdim = e
        if self.coin(0.25):
            kdim, vdim = int(self.rng.integers(1, 4)), int(self.rng.integers(1, 4))
            kw += [f"kdim={kdim}", f"vdim={vdim}"]
        if bf:
            kw.append("batch_first=True")
        if self.coin(0.2):
            kw.append("bias=False")
        if self.coin(0.15):
            kw.append("add_bias_kv=True")
        if self.coin(0.15):
            kw.append("add_zero_attn=True")
        m = self.fresh()
        b, lq, lk = int(self.rng.integers(1, 3)), int(self.rng.integers(1, 4)), \
            int(self.rng.integers(1, 4))
        unbatched = self.coin(0.15)

        def shape(n, d):
            return (n, d) if unbatched else ((b, n, d) if bf else (n, b, d))

        q, lq_ = self._leaf(shape(lq, e))
        self_attn = kdim == e and vdim == e and self.coin(0.4)
        parts = [self._seeded(), f"{m} = torch.nn.MultiheadAttention({', '.join(kw)})", lq_]
        if self_attn:
            k = v = q
            lk = lq
        else:
            k, l1 = self._leaf(shape(lk, kdim))
            v, l2 = self._leaf(shape(lk, vdim))
            parts += [l1, l2]
        call = [q, k, v]
        if self.coin(0.4):
            mask = self.rng.random((lk,) if unbatched else (b, lk)) < 0.3
            if mask.ndim and mask.shape[-1]:
                mask[..., 0] = False  # (a row with every key masked gives NaNs both sides)
            if self.coin(0.6):
                call.append(f"key_padding_mask=torch.tensor({mask.tolist()})")
            else:
                vals = np.where(mask, -1e9, 0.0).tolist()
                call.append(f"key_padding_mask=torch.tensor({vals})")
        if self.coin(0.35):
            if self.coin(0.5):
                am = self.rng.random((lq, lk)) < 0.3
                am[:, 0] = False
                call.append(f"attn_mask=torch.tensor({am.tolist()})")
            else:
                call.append(f"attn_mask=torch.tensor({self.flt((lq, lk))})")
        if self.coin(0.3):
            call.append(f"need_weights={self.pick(['False', 'True'])}")
        if self.coin(0.3):
            call.append(f"average_attn_weights={self.pick(['False', 'True'])}")
        y = self.fresh()
        parts.append(f"{y} = {m}({', '.join(call)})")
        if self.coin(0.3):
            parts.insert(-1, f"{m}.eval()")
        return parts, y

    def transformer(self):
        kind = self.pick(["TransformerEncoderLayer", "TransformerDecoderLayer"])
        heads = self.pick([1, 2])
        e = heads * int(self.rng.integers(2, 4) if heads == 1 else self.rng.integers(1, 3))
        bf = self.coin(0.5)
        kw = [f"d_model={e}", f"nhead={heads}", f"dim_feedforward={int(self.rng.integers(1, 5))}",
              "dropout=0.0"]
        if bf:
            kw.append("batch_first=True")
        if self.coin(0.5):
            kw.append("norm_first=True")
        if self.coin(0.4):
            kw.append(f"activation={self.pick(['relu', 'gelu'])!r}")
        if self.coin(0.2):
            kw.append("bias=False")
        if self.coin(0.2):
            kw.append("layer_norm_eps=0.1")
        # float64: float32's roundings through a layer norm over 2-4 features part the two
        # libraries' gradients by up to 1e-4 relative (float64 agrees to 1e-13)
        kw.append("dtype=torch.float64")
        m = self.fresh()
        b, n = int(self.rng.integers(1, 3)), int(self.rng.integers(1, 4))
        shape = (b, n, e) if bf else (n, b, e)
        x, l0 = self._leaf(shape, dtype="float64")
        parts = [self._seeded(), f"{m} = torch.nn.{kind}({', '.join(kw)})", l0]
        args = [x]
        if kind == "TransformerDecoderLayer":
            mem, l1 = self._leaf((b, n + 1, e) if bf else (n + 1, b, e), dtype="float64")
            parts.append(l1)
            args.append(mem)
            if self.coin(0.4):
                args.append("tgt_is_causal=False, tgt_mask=torch.nn.Transformer."
                            f"generate_square_subsequent_mask({n}, dtype=torch.float64)")
        elif self.coin(0.3):
            mask = self.rng.random((b, n)) < 0.3
            mask[:, 0] = False
            args.append(f"src_key_padding_mask=torch.tensor({mask.tolist()})")
        if self.coin(0.4):
            parts.append(f"{m}.eval()")
        y = self.fresh()
        parts.append(f"{y} = {m}({', '.join(args)})")
        return parts, y

    # -- pooling, resampling, embeddings --------------------------------------------------------
    def pool(self):
        kind = self.pick(["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
                          "adaptive_avg_pool2d", "adaptive_max_pool1d", "lp_pool2d",
                          "adaptive_max_pool2d"])
        nd = 1 if kind.endswith("1d") else 2
        size = tuple(int(self.rng.integers(2, 7)) for _ in range(nd))
        shape = (int(self.rng.integers(1, 3)), int(self.rng.integers(1, 3))) + size
        if self.coin(0.15):
            shape = shape[1:]
        x, leaf = self._leaf(shape)
        k = int(self.rng.integers(1, 4))
        kw = [x]
        if kind.startswith("adaptive"):
            kw.append(str(int(self.rng.integers(1, 5))) if nd == 1 or self.coin(0.5)
                      else str((int(self.rng.integers(1, 5)), self.pick([None, 2, 3]))))
            if "max" in kind and self.coin(0.4):
                kw.append("return_indices=True")
        elif kind == "lp_pool2d":
            kw = [x, self.pick(["1.0", "2", "3.0"]), str(k)]
            if self.coin(0.4):
                kw.append("ceil_mode=True")
        else:
            kw.append(str(k))
            if self.coin(0.4):
                kw.append(f"stride={int(self.rng.integers(1, 4))}")
            if self.coin(0.4):
                kw.append(f"padding={int(self.rng.integers(0, k // 2 + 1))}")
            if self.coin(0.4):
                kw.append("ceil_mode=True")
            if kind.startswith("max"):
                if self.coin(0.3):
                    kw.append("dilation=2")
                if self.coin(0.4):
                    kw.append("return_indices=True")
            else:
                if self.coin(0.4):
                    kw.append("count_include_pad=False")
                if kind == "avg_pool2d" and self.coin(0.3):
                    kw.append(f"divisor_override={int(self.rng.integers(1, 5))}")
        y = self.fresh()
        return [leaf, f"{y} = {F}.{kind}({', '.join(kw)})"], y

    def resample(self):
        mode = self.pick(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area",
                          "trilinear"])
        nd = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode,
                                                                           self.pick([1, 2]))
        shape = (1, int(self.rng.integers(1, 3))) + tuple(int(self.rng.integers(1, 5))
                                                          for _ in range(nd))
        # (bicubic in float64: PyTorch's float32 coefficients part the results by ~3e-6)
        x, leaf = self._leaf(shape, dtype="float64" if mode == "bicubic" else "float32")
        kw = [x]
        if self.coin(0.5):
            kw.append(f"size={int(self.rng.integers(1, 7))}" if self.coin(0.5) else
                      f"size={tuple(int(self.rng.integers(1, 7)) for _ in range(nd))}")
        else:
            kw.append(f"scale_factor={self.pick(['2', '1.5', '0.5', '3', '0.75', '2.5'])}")
            if self.coin(0.3):
                kw.append(f"recompute_scale_factor={self.pick(['True', 'False'])}")
        kw.append(f"mode={mode!r}")
        if mode in ("linear", "bilinear", "bicubic", "trilinear") and self.coin(0.5):
            kw.append(f"align_corners={self.pick(['True', 'False'])}")
        if mode in ("bilinear", "bicubic") and self.coin(0.25):
            kw.append("antialias=True")
        y = self.fresh()
        line = f"{y} = {F}.interpolate({', '.join(kw)})"
        if self.coin(0.3):
            line = f"{y} = torch.nn.Upsample(" + ", ".join(kw[1:]) + f")({x})"
        return [leaf, line], y

    def embedding(self):
        num, d = int(self.rng.integers(2, 6)), int(self.rng.integers(1, 4))
        m = self.fresh()
        if self.coin(0.5):
            kw = [str(num), str(d)]
            if self.coin(0.3):
                kw.append(f"padding_idx={int(self.rng.integers(-num, num))}")
            if self.coin(0.2):
                kw.append(f"max_norm={self.pick(['1.0', '0.5'])}")
            idx = self.rng.integers(0, num, size=self.pick([(3,), (2, 2), (1, 3)])).tolist()
            y = self.fresh()
            return [self._seeded(), f"{m} = torch.nn.Embedding({', '.join(kw)})",
                    f"{y} = {m}(torch.tensor({idx}))"], y
        mode = self.pick(["mean", "sum", "max"])
        kw = [str(num), str(d), f"mode={mode!r}"]
        if self.coin(0.3):
            kw.append(f"padding_idx={int(self.rng.integers(0, num))}")
        if self.coin(0.3):
            kw.append("include_last_offset=True")
        y = self.fresh()
        n = int(self.rng.integers(1, 7))
        idx = self.rng.integers(0, num, size=n).tolist()
        if self.coin(0.3):
            call = f"torch.tensor({self.rng.integers(0, num, size=(2, 3)).tolist()})"
        else:
            offs = sorted({0} | {int(o) for o in self.rng.integers(0, n + 1, size=2)})
            if "include_last_offset=True" in kw:
                # (the documented form, the input's length last: PyTorch reads past the last
                # offset otherwise, and crashes (SIGSEGV) on a single offset with mode='max')
                offs = sorted(set(offs) | {n}) if offs[-1] != n else offs
                offs = offs if len(offs) > 1 else [0, n]
            call = f"torch.tensor({idx}), torch.tensor({offs})"
        parts = [self._seeded(), f"{m} = torch.nn.EmbeddingBag({', '.join(kw)})"]
        if mode == "sum" and self.coin(0.5):
            w, leaf = self._leaf((2, 3) if call.startswith("torch.tensor([[") else (n,))
            parts.append(leaf)
            call += f", per_sample_weights={w}"
        parts.append(f"{y} = {m}({call})")
        return parts, y

    def nn_family(self):
        maker = self.pick([self.conv, self.conv, self.norm, self.norm, self.rnn, self.attention,
                           self.transformer, self.pool, self.resample, self.embedding])
        parts, y = maker()
        self._last_nn = y
        return "; ".join(parts)

    def nn_backward(self):
        """A weighted backward through the last nn line's result (its first tensor)."""
        y = getattr(self, "_last_nn", None)
        if y is None or y not in self.ns:
            return None
        t = self.ns[y]
        index = ""
        while isinstance(t, (tuple, list)):
            if not t:
                return None
            index += "[0]"
            t = t[0]
        if t is None or not getattr(t, "requires_grad", False):
            return None
        self._last_nn = None
        return self._backward(y, tuple(t.shape), index)
