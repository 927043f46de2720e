"""Character-level name models in the style of the well-known "makemore" lectures, run
unchanged under torch and under deltagrad from the same seeds.

Since deltagrad draws PyTorch's random stream, nothing is copied between the two runs: the
weights come from ``randn(..., generator=g)``, the minibatches from ``randint``, the samples
from ``multinomial``, and the two programs must print the same names and near-equal losses.
"""

import pytest

import deltagrad

torch = pytest.importorskip("torch")

NAMES = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope
layla riley zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah
hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna
caroline nova genesis emilia kennedy samantha maya willow kinsley naomi aaliyah elena sarah
ariana allison gabriella alice madelyn cora ruby eva serenity autumn adeline hailey gianna
valentina isla eliana quinn nevaeh ivy sadie piper lydia alexa josephine emery julia delilah
arianna vivian kaylee sophie brielle madeline liam noah william james oliver benjamin elijah
lucas mason logan alexander ethan jacob michael daniel henry jackson sebastian aiden matthew
samuel david joseph carter owen wyatt john jack luke jayden dylan grayson levi isaac gabriel
julian mateo anthony jaxon lincoln joshua christopher andrew theodore caleb ryan asher nathan
thomas leo isaiah charles josiah hudson christian hunter connor eli ezra aaron landon adrian
jonathan nolan jeremiah easton elias colton cameron carson robert angel maverick nicholas
dominic jaxson greyson adam ian austin santiago jordan cooper brayden roman evan ezekiel xavier
jose jace jameson leonardo bryson axel everett parker kayden miles sawyer jason""".split()

SEED = 2147483647


def _vocabulary():
    chars = sorted(set("".join(NAMES)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    stoi["."] = 0
    return stoi, {i: c for c, i in stoi.items()}


def _bigrams(m, stoi):
    xs, ys = [], []
    for word in NAMES:
        chars = ["."] + list(word) + ["."]
        for a, b in zip(chars, chars[1:]):
            xs.append(stoi[a])
            ys.append(stoi[b])
    return m.tensor(xs), m.tensor(ys)


def _sample(m, probs_of, itos, g, count=8):
    names = []
    for _ in range(count):
        out, ix = [], 0
        while True:
            ix = m.multinomial(probs_of(ix), num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(itos[ix])
        names.append("".join(out))
    return names


def counting_model(m):
    stoi, itos = _vocabulary()
    size = len(stoi)
    counts = m.zeros((size, size), dtype=m.int32)
    for word in NAMES:
        chars = ["."] + list(word) + ["."]
        for a, b in zip(chars, chars[1:]):
            counts[stoi[a], stoi[b]] += 1
    probs = (counts + 1).float()
    probs /= probs.sum(1, keepdim=True)
    g = m.Generator().manual_seed(SEED)
    names = _sample(m, lambda ix: probs[ix], itos, g)
    xs, ys = _bigrams(m, stoi)
    nll = -probs[xs, ys].log().mean()
    return names, [nll.item()]


def neural_bigram(m):
    stoi, itos = _vocabulary()
    size = len(stoi)
    xs, ys = _bigrams(m, stoi)
    g = m.Generator().manual_seed(SEED)
    W = m.randn((size, size), generator=g, requires_grad=True)
    losses = []
    for _ in range(30):
        xenc = m.nn.functional.one_hot(xs, num_classes=size).float()
        counts = (xenc @ W).exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[m.arange(xs.nelement()), ys].log().mean() + 0.01 * (W ** 2).mean()
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad

    def probs_of(ix):
        xenc = m.nn.functional.one_hot(m.tensor([ix]), num_classes=size).float()
        counts = (xenc @ W).exp()
        return (counts / counts.sum(1, keepdims=True))[0]

    return _sample(m, probs_of, itos, g), losses


def mlp(m):
    stoi, itos = _vocabulary()
    size, block = len(stoi), 3
    xs, ys = [], []
    for word in NAMES:
        context = [0] * block
        for ch in word + ".":
            xs.append(context)
            ys.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    X, Y = m.tensor(xs), m.tensor(ys)
    g = m.Generator().manual_seed(SEED)
    C = m.randn((size, 10), generator=g)
    W1 = m.randn((30, 64), generator=g) * 0.2
    b1 = m.randn(64, generator=g) * 0.01
    W2 = m.randn((64, size), generator=g) * 0.01
    b2 = m.randn(size, generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    losses = []
    for step in range(60):
        ix = m.randint(0, X.shape[0], (32,), generator=g)
        emb = C[X[ix]]
        h = m.tanh(emb.view(-1, 30) @ W1 + b1)
        loss = m.nn.functional.cross_entropy(h @ W2 + b2, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if step < 40 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        losses.append(loss.item())

    context = [0] * block

    def probs_of(ix):
        nonlocal context
        context = [0] * block if ix == 0 else context[1:] + [ix]
        h = m.tanh(C[m.tensor([context])].view(1, -1) @ W1 + b1)
        return m.nn.functional.softmax(h @ W2 + b2, dim=1)[0]

    return _sample(m, probs_of, itos, g), losses


@pytest.mark.parametrize("program", [counting_model, neural_bigram, mlp])
def test_same_seed_same_names_and_losses(program):
    torch_names, torch_losses = program(torch)
    names, losses = program(deltagrad)
    assert names == torch_names
    assert losses == pytest.approx(torch_losses, rel=2e-5)
