"""Probe program (LD, session 13): fastai the way its tutorials use it, seeded and small:
a tabular learner (Categorify / Normalize, fit_one_cycle, get_preds, predict), collaborative
filtering (EmbeddingDotBias and the neural variant), an image learner on a folder of
generated PNGs (ImageDataLoaders.from_folder, SimpleCNN, flip augmentation, fit), fastai's own
optimizers (SGD, Adam, RAdam, QHAdam, Lamb, Larc, ranger's Lookahead) and layers / losses;
and (imported from prog_s13_LD_timm.py) timm's optimizers and schedulers. Every number goes to
an .npz.

Run as ``python prog_s13_LD_fastai.py OUT.npz [PARTS]`` with ``.venv/tv-extra`` on PYTHONPATH
(fastai.vision imports torchvision), on the real PyTorch or under ``python -m deltagrad run``
unchanged; ``test_s13_LD_tv_libs.py`` compares the two.
"""
import os
import shutil
import tempfile

import numpy as np
import prog_s13_LD_timm  # noqa: F401 - registers timm's parts (one process runs both)
import torch
import tv_common
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)


def put_recorder(prefix, learn):
    """Losses per batch and the per-epoch (train loss, valid loss, metrics) table."""
    put(prefix + ".losses", np.array([float(v) for v in learn.recorder.losses]))
    put(prefix + ".values", np.array(learn.recorder.values, dtype=np.float64))


def ratings_frame(rng):
    import pandas as pd

    users = rng.integers(0, 12, 120)
    items = rng.integers(0, 9, 120)
    rating = ((users % 3) + (items % 4) * 0.5 + rng.normal(0, 0.3, 120)).clip(0, 5)
    return pd.DataFrame({"user": users, "item": items, "rating": rating.astype(np.float32)})


@part("tabular", "fastai")
def tabular_part():
    import pandas as pd
    from fastai.tabular.all import (
        Categorify,
        CategoryBlock,
        FillMissing,
        Normalize,
        TabularDataLoaders,
        accuracy,
        set_seed,
        tabular_learner,
    )

    set_seed(0)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.standard_normal(96), "b": rng.standard_normal(96),
                          "c": rng.choice(["x", "y", "z"], 96)})
    frame.loc[::7, "b"] = np.nan
    frame["y"] = ((frame.a + (frame.c == "x")) > 0).astype(int)
    dls = TabularDataLoaders.from_df(
        frame, procs=[Categorify, FillMissing, Normalize], cat_names=["c"],
        cont_names=["a", "b"], y_names="y", y_block=CategoryBlock(), bs=16, num_workers=0,
        valid_idx=list(range(72, 96)))
    learn = tabular_learner(dls, layers=[16, 8], metrics=accuracy, n_out=2)
    learn.fit_one_cycle(2, lr_max=1e-2)
    put_recorder("tabular.one_cycle", learn)
    preds, targets = learn.get_preds()
    put("tabular.preds", preds)
    put("tabular.targets", targets)
    row, _, probs = learn.predict(frame.iloc[3])
    put("tabular.predict_probs", probs)
    put("tabular.predict_class", np.array(str(row["y"].iloc[0])))
    put("tabular.emb", learn.model.embeds[0].weight)


@part("collab", "fastai")
def collab_part():
    from fastai.collab import CollabDataLoaders, collab_learner
    from fastai.tabular.all import set_seed

    set_seed(0)
    frame = ratings_frame(np.random.default_rng(1))
    dls = CollabDataLoaders.from_df(frame, bs=16, num_workers=0, seed=0)
    learn = collab_learner(dls, n_factors=4, y_range=(0, 5.5))
    learn.fit_one_cycle(2, 5e-3, wd=0.1)
    put_recorder("collab.dot", learn)
    put("collab.dot.user_bias", learn.model.u_bias.weight)
    set_seed(0)
    neural = collab_learner(dls, use_nn=True, emb_szs={"user": 4, "item": 4}, layers=[8],
                            y_range=(0, 5.5))
    neural.fit(1, 5e-3)
    put_recorder("collab.nn", neural)


@part("vision", "fastai")
def vision_part():
    from fastai.vision.all import (
        ImageDataLoaders,
        Learner,
        Resize,
        SimpleCNN,
        accuracy,
        aug_transforms,
        set_seed,
    )
    from PIL import Image

    set_seed(0)
    rng = np.random.default_rng(2)
    folder = tempfile.mkdtemp(prefix="s13_LD_fastai_")
    for split in ("train", "valid"):
        for label, shade in (("dark", 60), ("light", 190)):
            os.makedirs(os.path.join(folder, split, label))
            for i in range(8 if split == "train" else 4):
                pixels = np.clip(rng.normal(shade, 30, (20, 20, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(os.path.join(folder, split, label, f"{i}.png"))
    dls = ImageDataLoaders.from_folder(folder, train="train", valid="valid", bs=4,
                                       num_workers=0, item_tfms=Resize(16),
                                       batch_tfms=aug_transforms(do_flip=True, max_rotate=0,
                                                                 max_zoom=1.0, max_lighting=0,
                                                                 max_warp=0, p_affine=0.5))
    xb, yb = dls.one_batch()
    put("vision.batch", xb)
    put("vision.batch_labels", yb)
    model = SimpleCNN([3, 8, 16, 2])
    learn = Learner(dls, model, metrics=accuracy)
    learn.fit(1, 1e-2)
    put_recorder("vision.fit", learn)
    preds, _ = learn.get_preds()
    put("vision.preds", preds)
    shutil.rmtree(folder, ignore_errors=True)


@part("optimizers", "fastai")
def optimizers_part():
    from fastai.optimizer import SGD, Adam, Lamb, Larc, QHAdam, RAdam, ranger

    x = torch.from_numpy(np.random.default_rng(3).standard_normal((8, 5)))
    for name, make in (("sgd", lambda p: SGD(p, lr=0.1, mom=0.9, wd=0.01)),
                       ("adam", lambda p: Adam(p, lr=0.01, wd=0.01)),
                       ("radam", lambda p: RAdam(p, lr=0.01)),
                       ("qhadam", lambda p: QHAdam(p, lr=0.01)),
                       ("lamb", lambda p: Lamb(p, lr=0.01)),
                       ("larc", lambda p: Larc(p, lr=0.01)),
                       ("ranger", lambda p: ranger(p, lr=0.01))):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(),
                                    torch.nn.Linear(6, 1)).double()
        optimizer = make(model.parameters())
        for _ in range(7):  # (past ranger's Lookahead sync every 6 steps)
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
        put(f"optimizers.{name}", torch.cat([p.detach().flatten()
                                              for p in model.parameters()]))


@part("layers", "fastai")
def layers_part():
    from fastai.layers import (
        ConvLayer,
        Mish,
        PooledSelfAttention2d,
        ResBlock,
        SelfAttention,
        SimpleSelfAttention,
        TimeDistributed,
    )
    from fastai.losses import CrossEntropyLossFlat, FocalLossFlat, LabelSmoothingCrossEntropy

    torch.manual_seed(0)
    # (16 channels: SelfAttention's query and key convolutions have channels // 8)
    image = torch.randn(2, 16, 6, 6, requires_grad=True)
    blocks = {"conv": ConvLayer(16, 16, act_cls=Mish), "res": ResBlock(1, 16, 16),
              "attn": SelfAttention(16), "pooled_attn": PooledSelfAttention2d(16),
              "simple_attn": SimpleSelfAttention(16, sym=True)}
    for name, block in blocks.items():
        torch.manual_seed(1)
        for p in block.parameters():  # (SelfAttention starts with gamma 0: give it values)
            with torch.no_grad():
                p.copy_(torch.randn(p.shape) * 0.3)
        out = block(image)
        put(f"layers.{name}", out)
        (grad,) = torch.autograd.grad(out.square().sum(), image)
        put(f"layers.{name}.grad", grad)
    sequence = torch.randn(2, 3, 5)
    put("layers.time_distributed", TimeDistributed(torch.nn.Linear(5, 2))(sequence))
    logits = torch.randn(6, 4, requires_grad=True)
    target = torch.tensor([0, 3, 1, 1, 2, 0])
    for name, loss_fn in (("smoothing", LabelSmoothingCrossEntropy(eps=0.1)),
                          ("focal", FocalLossFlat(gamma=2.0)),
                          ("flat_ce", CrossEntropyLossFlat())):
        loss = loss_fn(logits, target)
        put(f"layers.loss.{name}", loss)
        put(f"layers.loss.{name}.grad", torch.autograd.grad(loss, logits)[0])


if __name__ == "__main__":
    main()
