"""Stanford CS231n-assignment-style code, written afresh (PR2, session 19): layers written on
tensors with their backward passes by hand (affine, ReLU, batch norm in both the staged and the
simplified form, inverted dropout, a naive convolution and max pool by loops) checked by
centred numeric gradients and by autograd; a two-layer net's softmax loss with L2; the style
transfer losses (content, Gram-matrix style, total variation) on a random image through a small
conv feature extractor, with the image itself optimised; saliency maps, a fooling image and a
class visualisation by gradient ascent with jitter (torch.roll) and L2 regularisation.
Tiny sizes; run by prog_s19_PR_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put

D = torch.float64


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        pos = f(x).clone()
        flat[i] = old - h
        neg = f(x).clone()
        flat[i] = old
        gflat[i] = ((pos - neg) * df).sum() / (2 * h)
    return grad


def rel_error(x, y):
    return ((x - y).abs() / torch.clamp(x.abs() + y.abs(), min=1e-8)).max()


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(0)


def relu_backward(dout, x):
    return dout * (x > 0)


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", torch.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", torch.zeros(d, dtype=x.dtype))
    cache = None
    if mode == "train":
        mu = x.mean(0)
        xc = x - mu
        var = (xc ** 2).mean(0)
        std = torch.sqrt(var + eps)
        xn = xc / std
        out = gamma * xn + beta
        cache = (xn, gamma, xc, std)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / torch.sqrt(running_var + eps) + beta
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xn, gamma, xc, std = cache
    n = dout.shape[0]
    dbeta = dout.sum(0)
    dgamma = (dout * xn).sum(0)
    dxn = dout * gamma
    dxc = dxn / std
    dstd = -((dxn * xc) / (std * std)).sum(0)
    dvar = 0.5 * dstd / std
    dxc += (2.0 / n) * xc * dvar
    dmu = dxc.sum(0)
    dx = dxc - dmu / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    xn, gamma, xc, std = cache
    n = dout.shape[0]
    dgamma = (dout * xn).sum(0)
    dbeta = dout.sum(0)
    dx = gamma / (n * std) * (n * dout - dbeta - xn * dgamma)
    return dx, dgamma, dbeta


def dropout_forward(x, p, mode):
    if mode == "train":
        mask = (torch.rand(*x.shape, dtype=x.dtype) < p) / p
        return x * mask, mask
    return x, None


def conv_forward_naive(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    ho = 1 + (h + 2 * pad - hh) // stride
    wo = 1 + (wd + 2 * pad - ww) // stride
    out = torch.zeros(n, f, ho, wo, dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = torch.einsum("nchw,fchw->nf", window, w) + b
    return out


def max_pool_forward_naive(x, ph, pw, stride):
    n, c, h, w = x.shape
    ho, wo = 1 + (h - ph) // stride, 1 + (w - pw) // stride
    out = torch.empty(n, c, ho, wo, dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


def section_layers() -> None:
    x = torch.randn(4, 2, 3, dtype=D)
    w = torch.randn(6, 5, dtype=D)
    b = torch.randn(5, dtype=D)
    dout = torch.randn(4, 5, dtype=D)
    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)
    put("layers.affine", [out, dx, dw, db])
    put("layers.affine_err", [rel_error(dx, dx_num), rel_error(dw, dw_num)])
    # batch norm, staged and simplified backward against numeric and autograd gradients
    xb = 5 * torch.randn(6, 4, dtype=D) + 12
    gamma, beta = torch.rand(4, dtype=D) + 0.5, torch.randn(4, dtype=D)
    dout = torch.randn(6, 4, dtype=D)
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(xb, gamma, beta, bn_param)
    dx1, dg1, db1 = batchnorm_backward(dout, cache)
    dx2, dg2, db2 = batchnorm_backward_alt(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: batchnorm_forward(v, gamma, beta, {"mode": "train"})[0], xb.clone(), dout)
    put("layers.bn_out_stats", [out.mean(0), out.std(0, unbiased=False)])
    put("layers.bn_grads", [dx1, dg1, db1, dx2])
    put("layers.bn_err", [rel_error(dx1, dx_num), rel_error(dx1, dx2)])
    xa = xb.clone().requires_grad_()
    ga, ba = gamma.clone().requires_grad_(), beta.clone().requires_grad_()
    ref = F.batch_norm(xa, None, None, ga, ba, training=True, eps=1e-5)
    ref.backward(dout)
    put("layers.bn_autograd_err", [rel_error(xa.grad, dx1), rel_error(ga.grad, dg1)])
    for _ in range(5):
        batchnorm_forward(torch.randn(6, 4, dtype=D) * 2 + 1, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    test_out, _ = batchnorm_forward(xb, gamma, beta, bn_param)
    put("layers.bn_running", [bn_param["running_mean"], bn_param["running_var"], test_out])
    # inverted dropout keeps the mean
    xd = torch.randn(200, 50, dtype=D) + 10
    for p in (0.25, 0.6):
        out, mask = dropout_forward(xd, p, "train")
        put(f"layers.dropout_{p}", [out.mean(), (out == 0).double().mean(), mask[:2]])
    # naive conv and pool against the library
    xc = torch.randn(2, 3, 5, 5, dtype=D)
    wc = torch.randn(4, 3, 3, 3, dtype=D)
    bc = torch.randn(4, dtype=D)
    naive = conv_forward_naive(xc, wc, bc, stride=2, pad=1)
    put("layers.conv", [naive, naive - F.conv2d(xc, wc, bc, stride=2, padding=1)])
    dconv = torch.randn_like(naive)
    dxc_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(v, wc, bc, 2, 1), xc,
                                            dconv)
    xg = xc.clone().requires_grad_()
    F.conv2d(xg, wc, bc, stride=2, padding=1).backward(dconv)
    put("layers.conv_err", rel_error(xg.grad, dxc_num))
    pooled = max_pool_forward_naive(xc, 2, 2, 2)
    put("layers.pool", [pooled, pooled - F.max_pool2d(xc, 2, 2)])


def section_twolayer() -> None:
    n, d, h, c = 5, 4, 10, 3
    std = 1e-2
    params = {"W1": std * torch.randn(d, h, dtype=D), "b1": torch.zeros(h, dtype=D),
              "W2": std * torch.randn(h, c, dtype=D), "b2": torch.zeros(c, dtype=D)}
    X = torch.randn(n, d, dtype=D) * 3
    y = torch.tensor([0, 1, 2, 2, 1])
    reg = 0.05

    def loss_fn(p):
        hidden = torch.clamp(X @ p["W1"] + p["b1"], min=0)
        scores = hidden @ p["W2"] + p["b2"]
        shifted = scores - scores.max(dim=1, keepdim=True).values
        log_probs = shifted - torch.log(torch.exp(shifted).sum(1, keepdim=True))
        loss = -log_probs[torch.arange(n), y].mean()
        return loss + 0.5 * reg * (p["W1"] ** 2).sum() + 0.5 * reg * (p["W2"] ** 2).sum(), hidden, \
            scores

    loss, hidden, scores = loss_fn(params)
    probs = torch.softmax(scores, 1)
    dscores = probs.clone()
    dscores[torch.arange(n), y] -= 1
    dscores /= n
    grads = {"W2": hidden.T @ dscores + reg * params["W2"], "b2": dscores.sum(0)}
    dhidden = dscores @ params["W2"].T
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T @ dhidden + reg * params["W1"]
    grads["b1"] = dhidden.sum(0)
    auto = {k: v.clone().requires_grad_() for k, v in params.items()}
    loss_fn(auto)[0].backward()
    for name in params:
        put(f"twolayer.grad.{name}", grads[name])
        put(f"twolayer.err.{name}", rel_error(grads[name], auto[name].grad))
    put("twolayer.loss", loss)
    # SGD with learning-rate decay, the assignment's train()
    lr, history = 1e-1, []
    for it in range(30):
        idx = torch.randint(0, n, (4,))
        p = {k: v.clone().requires_grad_() for k, v in params.items()}
        batch_loss = loss_fn(p)[0]
        batch_loss.backward()
        with torch.no_grad():
            for k in params:
                params[k] -= lr * p[k].grad
        history.append(batch_loss.item())
        if it % 10 == 9:
            lr *= 0.95
        del idx
    put("twolayer.history", history)
    put("twolayer.params", [params[k] for k in sorted(params)])


def gram_matrix(features, normalize=True):
    n, c, h, w = features.size()
    f = features.view(n, c, h * w)
    gram = torch.bmm(f, f.transpose(1, 2))
    if normalize:
        gram = gram / (h * w * c)
    return gram


def content_loss(content_weight, content_current, content_original):
    return content_weight * torch.sum((content_current - content_original) ** 2)


def style_loss(feats, style_layers, style_targets, style_weights):
    loss = 0
    for i, layer in enumerate(style_layers):
        loss = loss + style_weights[i] * torch.sum((gram_matrix(feats[layer])
                                                    - style_targets[i]) ** 2)
    return loss


def tv_loss(img, tv_weight):
    h_var = torch.sum((img[:, :, 1:, :] - img[:, :, :-1, :]) ** 2)
    w_var = torch.sum((img[:, :, :, 1:] - img[:, :, :, :-1]) ** 2)
    return tv_weight * (h_var + w_var)


def extract_features(x, cnn):
    features = []
    prev_feat = x
    for module in cnn._modules.values():
        next_feat = module(prev_feat)
        features.append(next_feat)
        prev_feat = next_feat
    return features


def section_style() -> None:
    cnn = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True),
                        nn.MaxPool2d(2), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=True))
    for param in cnn.parameters():
        param.requires_grad = False
    content_img = torch.rand(1, 3, 12, 12)
    style_img = torch.rand(1, 3, 12, 12)
    content_layer, style_layers = 3, [1, 4]
    content_target = extract_features(content_img, cnn)[content_layer].clone()
    feats = extract_features(style_img, cnn)
    style_targets = [gram_matrix(feats[i].clone()) for i in style_layers]
    put("style.grams", style_targets)
    img = content_img.clone().mul_(0.5).add_(0.25 * torch.rand_like(content_img))
    img.requires_grad_()
    optimizer = torch.optim.Adam([img], lr=0.05)
    record = []
    for t in range(6):
        if t < 4:
            img.data.clamp_(-1.5, 1.5)
        optimizer.zero_grad()
        feats = extract_features(img, cnn)
        c_loss = content_loss(5e-2, feats[content_layer], content_target)
        s_loss = style_loss(feats, style_layers, style_targets, [2e3, 5e2])
        t_loss = tv_loss(img, 1e-2)
        loss = c_loss + s_loss + t_loss
        loss.backward()
        if t == 3:
            optimizer = torch.optim.Adam([img], lr=0.01)
        optimizer.step()
        record.append([c_loss.item(), s_loss.item(), t_loss.item()])
    put("style.record", record)
    put("style.img", img)
    put("style.unnormalized", gram_matrix(feats[1].detach(), normalize=False))


def section_saliency() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                          nn.Flatten(), nn.Linear(16, 5))
    for param in model.parameters():
        param.requires_grad = False
    model.eval()
    X = torch.randn(3, 3, 8, 8)
    y = torch.tensor([0, 3, 4])
    X.requires_grad_()
    scores = model(X)
    correct = scores.gather(1, y.view(-1, 1)).squeeze()
    correct.backward(torch.ones(3))
    saliency, _ = torch.max(X.grad.data.abs(), dim=1)
    put("saliency.map", saliency)
    # fooling image: gradient ascent on the target class with a normalised step
    X_fooling = X[:1].detach().clone().requires_grad_()
    target_y = 2
    steps = []
    for _ in range(15):
        scores = model(X_fooling)
        pred = scores.argmax(dim=1).item()
        steps.append(pred)
        if pred == target_y:
            break
        scores[0, target_y].backward()
        g = X_fooling.grad.data
        X_fooling.data += 10.0 * g / g.norm()
        X_fooling.grad.data.zero_()
    put("saliency.fool_steps", steps)
    put("saliency.fool_diff", X_fooling.detach() - X[:1].detach())
    # class visualisation: jitter by roll, ascent with L2, blur-free clamp
    img = torch.randn(1, 3, 8, 8).mul_(1.0).requires_grad_()
    record = []
    for _ in range(8):
        ox, oy = int(torch.randint(0, 3, ()).item()), int(torch.randint(0, 3, ()).item())
        img.data.copy_(torch.roll(torch.roll(img.data, ox, 3), oy, 2))
        score = model(img)[0, 1] - 1e-3 * img.norm() ** 2
        score.backward()
        img.data += 0.5 * img.grad.data / img.grad.data.norm()
        img.grad.data.zero_()
        img.data.copy_(torch.roll(torch.roll(img.data, -ox, 3), -oy, 2))
        img.data.clamp_(-2, 2)
        record.append(score.item())
    put("saliency.classvis", [img])
    put("saliency.classvis_scores", record)


SECTIONS = {"layers": section_layers, "twolayer": section_twolayer, "style": section_style,
            "saliency": section_saliency}
