"""Probe program (LC, session 12): pytorch-widedeep's tabular side (WidePreprocessor,
TabPreprocessor, Wide, TabMlp, TabResnet, TabTransformer, FTTransformer, SAINT, TabNet inside
WideDeep, fitted by its Trainer with metrics, callbacks and validation), seeded and small on a
synthetic data frame. Every number goes to an .npz.

Run as ``python prog_s12_LC_widedeep.py OUT.npz [PARTS]`` with torchvision on the path (the
library imports it; it lives in ``.venv/tv-extra``), on the real PyTorch or under
``python -m deltagrad run`` unchanged; ``test_s12_LC_widedeep.py`` compares the two. Its
text and image utilities import gensim, spaCy and OpenCV at import time: both sides get the same
empty stand-ins (no text or image part runs here).
"""
import sys
import types

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness
from tv_common import declare_torchvision_ops

declare_torchvision_ops()
for _name, _attrs in (("gensim", {}), ("gensim.utils", {"tokenize": None}), ("spacy", {}),
                      ("spacy.symbols", {"ORTH": 65}), ("cv2", {"INTER_AREA": 3})):
    if _name not in sys.modules:
        _module = types.ModuleType(_name)
        vars(_module).update(_attrs)
        sys.modules[_name] = _module


def frame():
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 80
    df = pd.DataFrame({
        "education": rng.choice(["school", "college", "masters", "phd"], n),
        "occupation": rng.choice(["tech", "sales", "craft"], n),
        "relationship": rng.choice(["husband", "wife", "own-child"], n),
        "age": rng.integers(18, 70, n).astype(float),
        "hours": rng.normal(40, 8, n),
    })
    df["target"] = ((df.age > 40) ^ (df.occupation == "tech")).astype(int)
    df["amount"] = df.age * 0.1 + df.hours * 0.05 + rng.normal(0, 0.1, n)
    return df


def history(trainer, prefix):
    for key, values in sorted(trainer.history.items()):
        put(f"{prefix}.history.{key}", np.array(values, dtype=np.float64))


@part("wide_deep", "pytorch_widedeep")
def wide_deep_part():
    from pytorch_widedeep import Trainer
    from pytorch_widedeep.callbacks import EarlyStopping, LRHistory
    from pytorch_widedeep.metrics import Accuracy, F1Score
    from pytorch_widedeep.models import TabMlp, Wide, WideDeep
    from pytorch_widedeep.preprocessing import TabPreprocessor, WidePreprocessor

    df = frame()
    wide_cols = ["education", "occupation", "relationship"]
    wide_pre = WidePreprocessor(wide_cols=wide_cols, crossed_cols=[("education", "occupation")])
    X_wide = wide_pre.fit_transform(df)
    tab_pre = TabPreprocessor(cat_embed_cols=wide_cols, continuous_cols=["age", "hours"],
                              cols_to_scale=["age", "hours"])
    X_tab = tab_pre.fit_transform(df)
    put("wide_deep.X_wide", X_wide)
    put("wide_deep.X_tab", X_tab)
    wide = Wide(input_dim=int(X_wide.max()), pred_dim=1)
    mlp = TabMlp(column_idx=tab_pre.column_idx, cat_embed_input=tab_pre.cat_embed_input,
                 continuous_cols=["age", "hours"], mlp_hidden_dims=[16, 8])
    model = WideDeep(wide=wide, deeptabular=mlp)
    trainer = Trainer(model, objective="binary", metrics=[Accuracy, F1Score],
                      callbacks=[LRHistory(n_epochs=3), EarlyStopping(patience=5)],
                      optimizers={"wide": torch.optim.Adam(model.wide.parameters(), lr=0.01),
                                  "deeptabular": torch.optim.AdamW(
                                      model.deeptabular.parameters(), lr=0.01)},
                      verbose=0, seed=1)
    trainer.fit(X_wide=X_wide, X_tab=X_tab, target=df.target.values, n_epochs=3,
                batch_size=16, val_split=0.25)
    history(trainer, "wide_deep")
    put("wide_deep.proba", trainer.predict_proba(X_wide=X_wide, X_tab=X_tab, batch_size=32))
    put("wide_deep.predict", trainer.predict(X_wide=X_wide, X_tab=X_tab, batch_size=32))
    put("wide_deep.wide_weight", model.wide.wide_linear.weight)


@part("deeptabular", "pytorch_widedeep")
def deeptabular_part():
    from pytorch_widedeep import Trainer
    from pytorch_widedeep.models import (
        SAINT,
        FTTransformer,
        TabNet,
        TabResnet,
        TabTransformer,
        WideDeep,
    )
    from pytorch_widedeep.preprocessing import TabPreprocessor

    df = frame()
    cats = ["education", "occupation", "relationship"]
    for name in ("resnet", "tabnet", "tab_transformer", "ft_transformer", "saint"):
        attention = name in ("tab_transformer", "ft_transformer", "saint")
        pre = TabPreprocessor(cat_embed_cols=cats, continuous_cols=["age", "hours"],
                              cols_to_scale=["age", "hours"], with_attention=attention,
                              with_cls_token=name == "saint")
        X_tab = pre.fit_transform(df)
        common = {"column_idx": pre.column_idx, "cat_embed_input": pre.cat_embed_input,
                  "continuous_cols": ["age", "hours"]}
        torch.manual_seed(2)
        if name == "resnet":
            net = TabResnet(blocks_dims=[16, 16, 8], **common)
        elif name == "tabnet":
            net = TabNet(n_steps=2, step_dim=4, attn_dim=4, **common)
        elif name == "tab_transformer":
            net = TabTransformer(input_dim=8, n_heads=2, n_blocks=1, embed_continuous=True,
                                 embed_continuous_method="standard",
                                 **common)
        elif name == "ft_transformer":
            net = FTTransformer(input_dim=8, n_heads=2, n_blocks=1, **common)
        else:
            net = SAINT(input_dim=8, n_heads=2, n_blocks=1, **common)
        model = WideDeep(deeptabular=net)
        trainer = Trainer(model, objective="regression", verbose=0, seed=3)
        trainer.fit(X_tab=X_tab, target=df.amount.values, n_epochs=2, batch_size=16,
                    val_split=0.25)
        history(trainer, f"deeptabular.{name}")
        put(f"deeptabular.{name}.predict", trainer.predict(X_tab=X_tab[:10], batch_size=10))


if __name__ == "__main__":
    main()
