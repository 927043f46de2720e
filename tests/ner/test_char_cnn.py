"""The character CNN (ner.char_cnn): one op, checked against PyTorch's Conv1d and a NumPy
reference, its gradients, determinism, and a model trained with it saved, reloaded, resumed."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.char_cnn import CharCNN, char_cnn
from deltagrad.ner.chars import CHAR_UNK, N_CHARS, char_ids, char_table


def _inputs(seed=0, dtype=np.float64, kernel=3, dim=4, filters=5):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(12, dim)).astype(dtype)
    table[0] = 0.0
    weight = rng.normal(size=(filters, kernel * dim)).astype(dtype)
    bias = rng.normal(size=filters).astype(dtype)
    # Words of 1, 3, 5 and 0 characters (a row of zeros: beyond the sentence), one repeated.
    chars = np.array([[3, 0, 0, 0, 0], [5, 1, 7, 0, 0], [2, 9, 11, 4, 6], [0, 0, 0, 0, 0]])
    index = np.array([[0, 1], [2, 2], [3, 1], [1, 0]])
    return table, weight, bias, chars, index


def _reference(table, weight, bias, chars, index, kernel):
    """Loops over words, positions and filters, as the definition reads."""
    filters, side = weight.shape[0], kernel // 2
    pooled = np.zeros((chars.shape[0], filters))
    for row, ids in enumerate(chars):
        word = [c for c in ids if c != 0]
        if not word:
            continue
        padded = [0] * side + word + [0] * side
        outputs = [np.concatenate([table[c] for c in padded[t:t + kernel]]) @ weight.T + bias
                   for t in range(len(word))]
        pooled[row] = np.max(outputs, axis=0)
    return pooled[index].reshape(index.shape[0], -1)


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_forward_matches_a_numpy_reference(kernel):
    table, weight, bias, chars, index = _inputs(kernel=kernel)
    out = char_cnn(dg.from_numpy(table), dg.from_numpy(weight), dg.from_numpy(bias), chars,
                   index, kernel)
    assert out.shape == (4, 10) and out.dtype == dg.float64
    np.testing.assert_allclose(out.numpy(), _reference(table, weight, bias, chars, index, kernel),
                               rtol=1e-12, atol=1e-12)
    assert not out.numpy()[2, :5].any()  # no characters: zeros


def test_gradients_match_finite_differences():
    table, weight, bias, chars, index = _inputs()
    params = [dg.tensor(a, requires_grad=True) for a in (table, weight, bias)]
    rng = np.random.default_rng(1)
    upstream = rng.normal(size=(4, 10))
    loss = (char_cnn(*params, chars, index) * dg.from_numpy(upstream)).sum()
    loss.backward()
    arrays = [table, weight, bias]
    for number, param in enumerate(params):
        numeric = np.zeros_like(arrays[number])
        for position in np.ndindex(numeric.shape):
            shifted = [a.copy() for a in arrays]
            shifted[number][position] += 1e-6
            up = (_reference(*shifted, chars, index, 3) * upstream).sum()
            shifted[number][position] -= 2e-6
            down = (_reference(*shifted, chars, index, 3) * upstream).sum()
            numeric[position] = (up - down) / 2e-6
        if number == 0:
            numeric[0] = 0.0  # the padding row takes no gradient
        np.testing.assert_allclose(param.grad.numpy(), numeric, rtol=1e-6, atol=1e-7)
    assert not params[0].grad.numpy()[0].any()


def test_matches_pytorch_conv1d_and_its_gradients():
    torch = pytest.importorskip("torch")
    table, weight, bias, chars, index = _inputs(dtype=np.float32)
    kernel, dim, filters = 3, table.shape[1], weight.shape[0]
    params = [dg.tensor(a, requires_grad=True) for a in (table, weight, bias)]
    upstream = np.random.default_rng(2).normal(size=(4, 2 * filters)).astype(np.float32)
    (char_cnn(*params, chars, index) * dg.from_numpy(upstream)).sum().backward()

    t_table, t_bias = (torch.tensor(a, requires_grad=True) for a in (table, bias))
    # Conv1d's weight is [filters, dim, kernel]; char_cnn's is [filters, kernel * dim].
    t_weight = torch.tensor(weight.reshape(filters, kernel, dim).transpose(0, 2, 1).copy(),
                            requires_grad=True)
    ids = torch.tensor(chars)
    x = torch.nn.functional.embedding(ids, t_table).transpose(1, 2)  # [u, dim, L]
    conv = torch.nn.functional.conv1d(x, t_weight, t_bias, padding=kernel // 2)  # [u, F, L]
    inside = (ids != 0)[:, None, :]
    pooled = conv.masked_fill(~inside, float("-inf")).amax(dim=2)
    pooled = torch.where(inside.any(dim=2), pooled, torch.zeros(()))
    out = pooled[torch.tensor(index)].reshape(4, -1)
    (out * torch.tensor(upstream)).sum().backward()
    grad_table = t_table.grad.numpy().copy()
    grad_table[0] = 0.0  # torch's embedding (no padding_idx here) also sends grad to row 0
    np.testing.assert_allclose(params[0].grad.numpy(), grad_table, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        params[1].grad.numpy(),
        t_weight.grad.numpy().transpose(0, 2, 1).reshape(filters, kernel * dim),
        rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(params[2].grad.numpy(), t_bias.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_module_is_deterministic_per_generator_and_checks_its_inputs():
    forms, chars = char_table(["EU", "rejects", "German", "EU", "ÉU"], 20)
    index = np.array([[0, 1, 2], [1, 2, 3]])
    outs = [CharCNN(N_CHARS, 6, 7, generator=dg.Generator(seed))(chars, index).detach().numpy()
            for seed in (3, 3, 4)]
    assert outs[0].shape == (2, 21) and outs[0].dtype == np.float32
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])
    assert not outs[0][0, :7].any()  # row 0 of the table: beyond the sentence
    assert chars[4, 0] == CHAR_UNK and forms.tolist() == [1, 2, 3, 1, 4]
    module = CharCNN(N_CHARS, 6, 7, generator=dg.Generator(3))
    with pytest.raises(ValueError, match="char_cnn: character ids must be in"):
        module(np.array([[N_CHARS]]))
    with pytest.raises(ValueError, match="char_cnn: index must be in"):
        module(chars, np.array([[6]]))
    with pytest.raises(ValueError, match="chars must be integer ids"):
        module(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="kernel must be odd"):
        CharCNN(N_CHARS, 6, 7, kernel=2)


def test_char_ids_keep_both_ends_of_long_words():
    assert char_ids("Ab", 20) == [ord("A") - 31, ord("b") - 31]
    assert char_ids("abcdefghij", 5) == char_ids("abc", 5) + char_ids("ij", 5)
    assert char_ids("naïve", 20)[2] == CHAR_UNK and char_ids("", 20) == []


# --- a window tagger trained with it ---------------------------------------------------------

@pytest.fixture(scope="module")
def data():
    pytest.importorskip("seqeval")
    pytest.importorskip("safetensors")
    from deltagrad.ner.conll import load_default

    return load_default("train")[:240], load_default("dev")[:40]


def _config(out, **changes):
    from deltagrad.ner.config import TrainConfig

    base = dict(vectors="none", epochs=2, hidden=16, casing_dim=2, suffix_dim=2, word_dim=6,
                batch_size=32, checkpoint_every=3, patience=10, seed=5, out=str(out),
                ensemble=1, chars="cnn", char_dim=5, char_embedding=4, char_window=1,
                topic="none")
    base.update(changes)
    return TrainConfig(**base)


def _weights(directory):
    return {k: v.numpy() for k, v in dg.load(directory / "weights.safetensors").items()}


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    from deltagrad.ner.training import train

    out = tmp_path_factory.mktemp("char_cnn") / "whole"
    return train(_config(out), progress=False, log=lambda _: None, train_sentences=data[0],
                 dev_sentences=data[1])


def test_a_cnn_model_saves_reloads_predicts_and_explains(data, trained):
    from deltagrad.ner.explain import explain
    from deltagrad.ner.model_dir import load_model
    from deltagrad.ner.predict import evaluate, predict

    model = trained.model
    assert isinstance(model.chars, CharCNN)
    assert model.chars.conv.weight.shape == (5, 3 * 4)
    # The three central positions' spelling vectors (5 filters) join the 5-word window.
    assert model.hidden.in_features == 5 * (6 + 2 + 2) + 3 * 5 + 2 * 6 + 8
    loaded = load_model(trained.model_dir)
    assert loaded.features.char_length == 20 and loaded.features.char_buckets == 0
    for key, value in _weights(trained.model_dir).items():
        np.testing.assert_array_equal(value, model.state_dict()[key].numpy(), err_msg=key)
    scores = evaluate(loaded, data[1])
    assert scores["f1"] == pytest.approx(trained.dev_scores[trained.decode]["f1"], abs=1e-12)
    assert [len(t) for t in predict(loaded, [["Peter", "Blackburn", "said", "."]])] == [4]
    answer = explain(loaded, "Peter Blackburn said .", 1)
    assert answer["other_features"] is not None  # the spelling (and document) features


def test_an_interrupted_cnn_run_resumes_bit_identically(data, trained, tmp_path):
    from deltagrad.ner.training import TrainingInterrupted, train

    config = _config(tmp_path)
    kwargs = dict(progress=False, log=lambda _: None, train_sentences=data[0],
                  dev_sentences=data[1])
    with pytest.raises(TrainingInterrupted):
        train(config, stop_after_steps=7, **kwargs)
    train(config, resume=True, **kwargs)
    resumed, whole = _weights(tmp_path), _weights(trained.model_dir)
    assert resumed.keys() == whole.keys() and "chars.embedding.weight" in whole
    for key in whole:
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)


def test_the_config_and_the_model_directory_check_the_cnn(trained, tmp_path):
    import json
    import shutil

    from deltagrad.ner.model_dir import ModelError, load_model

    for bad, message in (({"chars": "bytes"}, "chars must be"),
                         ({"char_kernel": 2}, "char kernel must be odd"),
                         ({"char_length": 0}, "char length must be positive")):
        with pytest.raises(ValueError, match=message):
            _config(tmp_path, **bad).validate()
    copy = tmp_path / "copy"
    shutil.copytree(trained.model_dir, copy)
    meta = json.loads((copy / "config.json").read_text())
    meta["train"]["char_embedding"] = 7
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="chars.embedding.weight has shape"):
        load_model(copy)


def test_compare_runs_variants_with_and_without_the_cnn():
    from deltagrad.ner.compare import VARIANTS

    assert VARIANTS["chars-cnn"] == {"chars": "cnn"} and VARIANTS["no-chars"] == {"chars": "none"}


def test_an_ensemble_of_cnn_models_saves_and_reloads(data, tmp_path):
    from deltagrad.ner.ensemble import train_ensemble
    from deltagrad.ner.model_dir import load_model
    from deltagrad.ner.predict import evaluate

    result = train_ensemble(_config(tmp_path, ensemble=2, epochs=1), progress=False,
                            log=lambda _: None, train_sentences=data[0][:120],
                            dev_sentences=data[1], jobs=1)
    loaded = load_model(tmp_path)
    assert all(isinstance(member.chars, CharCNN) for member in loaded.model.members)
    assert evaluate(loaded, data[1])["f1"] == pytest.approx(
        result.dev_scores[result.decode]["f1"], abs=1e-12)


def test_features_give_each_distinct_spelling_its_characters_once():
    from deltagrad.ner.conll import Sentence
    from deltagrad.ner.features import build_features

    sentences = [Sentence(["EU", "rejects", "EU", "beef"], ["B-ORG", "O", "B-ORG", "O"])]
    features, _, _ = build_features(sentences, None, 1, 4, np.random.default_rng(0),
                                    char_length=5, char_window=1)
    data = features.encode(sentences)
    batch = data.batch(np.array([0, 2]))  # "EU" twice, with "rejects" beside each
    spellings = [[int(c) for c in row if c] for row in batch.char_ngrams]
    assert batch.char_ngrams.shape[1] == 5  # the longest spelling, cut to 5 characters
    assert spellings == [[], char_ids("EU", 5), char_ids("rejects", 5), char_ids("beef", 5)]
    assert batch.char_index.tolist() == [[0, 1, 2], [2, 1, 3]]  # <s> EU rejects, rejects EU beef
