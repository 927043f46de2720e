"""Model format versions: session 15's training-only settings and older readers.

A model trained with ``unseen_map``, ``unseen_map_ridge`` and ``freeze_rare`` at their defaults
is a version-5 model (a version-5 reader builds ``TrainConfig(**train)`` from config.json, and
an unknown key there was an unclear TypeError); one that sets them is version 6, which such a
reader refuses by its version.
"""

import dataclasses
import json
from pathlib import Path

import pytest

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.model_dir import MODEL_VERSION, ModelError, load_model, save_model

VERSION_6_SETTINGS = {"unseen_map", "unseen_map_ridge", "freeze_rare"}


def resave(tiny_model, directory: Path, **changes) -> dict:
    config = dataclasses.replace(TrainConfig(**tiny_model.config["train"]), **changes)
    save_model(directory, model=tiny_model.model, features=tiny_model.features, config=config,
               decode=tiny_model.decode, best_epoch=1, dev_scores={})
    return json.loads((directory / "config.json").read_text())


def test_default_settings_are_written_as_version_5(tiny_model, tmp_path):
    meta = resave(tiny_model, tmp_path / "m")
    assert meta["version"] == 5
    # Exactly the settings a version-5 reader knows.
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    assert set(meta["train"]) == fields - VERSION_6_SETTINGS
    loaded = load_model(tmp_path / "m")
    assert loaded.model.words.weight.shape == tiny_model.model.words.weight.shape


@pytest.mark.parametrize("changes", [{"freeze_rare": 2}, {"unseen_map": "linear"},
                                     {"unseen_map": "linear", "unseen_map_ridge": 0.5}])
def test_version_6_settings_make_a_version_6_model(tiny_model, tmp_path, changes):
    meta = resave(tiny_model, tmp_path / "m", **changes)
    assert meta["version"] == MODEL_VERSION == 6
    assert VERSION_6_SETTINGS <= set(meta["train"])
    loaded = load_model(tmp_path / "m")
    for name, value in changes.items():
        assert loaded.config["train"][name] == value


def test_a_later_version_is_refused_by_its_number(tiny_model, tmp_path):
    meta = resave(tiny_model, tmp_path / "m", freeze_rare=3)
    meta["version"] = 7
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="model format version 7, this deltagrad reads "
                                         "version 6"):
        load_model(tmp_path / "m")
