"""University of Amsterdam deep-learning tutorials' style (Phillip Lippe's notebooks), written
afresh (PR2, session 19): activation functions as modules with their gradients read off
``x.grad``; optimizers from a template class (SGD with momentum, Adam) on a pathological curve;
a Transformer encoder with an attention-map return, an ``_LRScheduler`` subclass for
cosine warm-up and the reverse task; a dense-adjacency GCN and a GAT layer built on
``nonzero`` / ``index_select``; an energy-based model sampled by Langevin dynamics (gradients
clamped in place, noise added to ``.data``) trained with a contrastive divergence loss and its
regulariser; a normalizing flow over discrete images (dequantization through sigmoid / logit
with its log-determinant, checkerboard and channel masks, affine couplings with a tanh-scaled
scale, squeeze / unsqueeze, bits per dimension). Tiny sizes; run by prog_s19_PR_all.py.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s17_PG_harness import put, put_state


class ActivationFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.name = self.__class__.__name__
        self.config = {"name": self.name}


class Sigmoid(ActivationFunction):
    def forward(self, x):
        return 1 / (1 + torch.exp(-x))


class LeakyReLU(ActivationFunction):
    def __init__(self, alpha=0.1):
        super().__init__()
        self.config["alpha"] = alpha

    def forward(self, x):
        return torch.where(x > 0, x, self.config["alpha"] * x)


class ELU(ActivationFunction):
    def forward(self, x):
        return torch.where(x > 0, x, torch.exp(x) - 1)


class Swish(ActivationFunction):
    def forward(self, x):
        return x * torch.sigmoid(x)


def get_grads(act_fn, x):
    x = x.clone().requires_grad_()
    out = act_fn(x)
    out.sum().backward()
    return x.grad


def section_uva_act() -> None:
    x = torch.linspace(-5, 5, 21)
    for act in (Sigmoid(), LeakyReLU(), ELU(), Swish(), nn.Tanh(), nn.ReLU(), nn.Softplus()):
        name = act.__class__.__name__
        put(f"uva_act.{name}", [act(x), get_grads(act, x)])
    # the "dead neuron" count of a small ReLU net, per layer, the tutorial's check
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
    inputs = torch.randn(50, 8)
    dead = []
    with torch.no_grad():
        h = inputs
        for layer in net:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                dead.append((h == 0).all(dim=0).sum().item())
    put("uva_act.dead", dead)


class OptimizerTemplate:
    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        for p in self.params:
            if p.grad is None:
                continue
            self.update_param(p)


class SGDMomentum(OptimizerTemplate):
    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, lr)
        self.momentum = momentum
        self.param_momentum = {p: torch.zeros_like(p.data) for p in self.params}

    def update_param(self, p):
        self.param_momentum[p] = (1 - self.momentum) * p.grad + self.momentum * \
            self.param_momentum[p]
        p.add_(-self.lr * self.param_momentum[p])


class Adam(OptimizerTemplate):
    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.param_step = {p: 0 for p in self.params}
        self.param_momentum = {p: torch.zeros_like(p.data) for p in self.params}
        self.param_2nd_momentum = {p: torch.zeros_like(p.data) for p in self.params}

    def update_param(self, p):
        self.param_step[p] += 1
        self.param_momentum[p] = (1 - self.beta1) * p.grad + self.beta1 * self.param_momentum[p]
        self.param_2nd_momentum[p] = (1 - self.beta2) * (p.grad) ** 2 + self.beta2 * \
            self.param_2nd_momentum[p]
        bias_correction_1 = 1 - self.beta1 ** self.param_step[p]
        bias_correction_2 = 1 - self.beta2 ** self.param_step[p]
        p_2nd_mom = self.param_2nd_momentum[p] / bias_correction_2
        p_mom = self.param_momentum[p] / bias_correction_1
        p_lr = self.lr / (torch.sqrt(p_2nd_mom) + self.eps)
        p.add_(-p_lr * p_mom)


def pathological_curve_loss(w1, w2):
    x1_loss = torch.tanh(w1) ** 2 + 0.01 * torch.abs(w1)
    x2_loss = torch.sigmoid(w2)
    return x1_loss + x2_loss


def section_uva_optim() -> None:
    for name, make in (("sgdm", lambda p: SGDMomentum(p, lr=1)),
                       ("adam", lambda p: Adam(p, lr=1)),
                       ("torch_adam", lambda p: optim.Adam(p, lr=1))):
        weights = nn.Parameter(torch.tensor([5.0, 5.0]), requires_grad=True)
        opt = make([weights])
        points = []
        for _ in range(12):
            opt.zero_grad()
            loss = pathological_curve_loss(weights[0], weights[1])
            points.append(torch.cat([weights.data.view(-1), loss.view(-1)]))
            loss.backward()
            opt.step()
        put(f"uva_optim.{name}", torch.stack(points))
    # the tutorial's parameter hook: every parameter a dict key (hash by identity)
    layer = nn.Linear(3, 2)
    put("uva_optim.keys", len({p: 0 for p in layer.parameters()}))


def scaled_dot_product(q, k, v, mask=None):
    d_k = q.size()[-1]
    attn_logits = torch.matmul(q, k.transpose(-2, -1))
    attn_logits = attn_logits / math.sqrt(d_k)
    if mask is not None:
        attn_logits = attn_logits.masked_fill(mask == 0, -9e15)
    attention = F.softmax(attn_logits, dim=-1)
    return torch.matmul(attention, v), attention


class MultiheadAttention(nn.Module):
    def __init__(self, input_dim, embed_dim, num_heads):
        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.qkv_proj = nn.Linear(input_dim, 3 * embed_dim)
        self.o_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.qkv_proj.weight)
        self.qkv_proj.bias.data.fill_(0)
        nn.init.xavier_uniform_(self.o_proj.weight)
        self.o_proj.bias.data.fill_(0)

    def forward(self, x, mask=None, return_attention=False):
        batch_size, seq_length, _ = x.size()
        qkv = self.qkv_proj(x)
        qkv = qkv.reshape(batch_size, seq_length, self.num_heads, 3 * self.head_dim)
        qkv = qkv.permute(0, 2, 1, 3)
        q, k, v = qkv.chunk(3, dim=-1)
        values, attention = scaled_dot_product(q, k, v, mask=mask)
        values = values.permute(0, 2, 1, 3).reshape(batch_size, seq_length, self.embed_dim)
        o = self.o_proj(values)
        return (o, attention) if return_attention else o


class EncoderBlock(nn.Module):
    def __init__(self, input_dim, num_heads, dim_feedforward, dropout=0.0):
        super().__init__()
        self.self_attn = MultiheadAttention(input_dim, input_dim, num_heads)
        self.linear_net = nn.Sequential(nn.Linear(input_dim, dim_feedforward),
                                        nn.Dropout(dropout), nn.ReLU(inplace=True),
                                        nn.Linear(dim_feedforward, input_dim))
        self.norm1 = nn.LayerNorm(input_dim)
        self.norm2 = nn.LayerNorm(input_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        x = x + self.dropout(self.self_attn(x, mask=mask))
        x = self.norm1(x)
        x = x + self.dropout(self.linear_net(x))
        return self.norm2(x)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=50):
        super().__init__()
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x):
        return x + self.pe[:, :x.size(1)]


class CosineWarmupScheduler(optim.lr_scheduler._LRScheduler):
    def __init__(self, optimizer, warmup, max_iters):
        self.warmup = warmup
        self.max_num_iters = max_iters
        super().__init__(optimizer)

    def get_lr(self):
        lr_factor = self.get_lr_factor(epoch=self.last_epoch)
        return [base_lr * lr_factor for base_lr in self.base_lrs]

    def get_lr_factor(self, epoch):
        lr_factor = 0.5 * (1 + np.cos(np.pi * epoch / self.max_num_iters))
        if epoch <= self.warmup:
            lr_factor *= epoch * 1.0 / self.warmup
        return lr_factor


def section_uva_transformer() -> None:
    num_classes, seq_len = 6, 8
    embed = nn.Linear(num_classes, 16)
    pos = PositionalEncoding(16)
    blocks = nn.ModuleList([EncoderBlock(16, 2, 32, dropout=0.1) for _ in range(2)])
    head = nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16), nn.ReLU(inplace=True),
                         nn.Dropout(0.1), nn.Linear(16, num_classes))
    params = [*embed.parameters(), *blocks.parameters(), *head.parameters()]
    optimizer = optim.Adam(params, lr=5e-3)
    scheduler = CosineWarmupScheduler(optimizer, warmup=2, max_iters=8)
    data = torch.randint(num_classes, size=(10, seq_len))
    labels = torch.flip(data, dims=(1,))
    record = []
    for _ in range(6):
        inp = F.one_hot(data, num_classes=num_classes).float()
        x = pos(embed(inp))
        for block in blocks:
            x = block(x)
        preds = head(x)
        loss = F.cross_entropy(preds.view(-1, preds.size(-1)), labels.view(-1))
        acc = (preds.argmax(dim=-1) == labels).float().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        record.append([loss.item(), acc.item(), scheduler.get_last_lr()[0]])
    put("uva_transformer.record", record)
    for module in (embed, blocks, head):
        module.eval()
    x = pos(embed(F.one_hot(data[:2], num_classes=num_classes).float()))
    mask = torch.ones(1, 1, seq_len, seq_len)
    mask[..., 5:] = 0
    maps = []
    for block in blocks:
        _, attn_map = block.self_attn(x, mask=mask, return_attention=True)
        maps.append(attn_map)
        x = block(x, mask=mask)
    put("uva_transformer.maps", maps)
    # The key thirds of qkv_proj's bias are left out: each adds one number to a row of scores,
    # so its gradient is zero up to rounding and Adam moves it by that noise (~1e-4 here,
    # differing between libraries); the query and value thirds are compared.
    put_state("uva_transformer.state", blocks, exclude=("qkv_proj.bias",))
    for index, block in enumerate(blocks):
        q_bias, _, v_bias = block.self_attn.qkv_proj.bias.view(2, 3, 8).unbind(1)
        put(f"uva_transformer.qv_bias.{index}", [q_bias, v_bias])


class GCNLayer(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.projection = nn.Linear(c_in, c_out)

    def forward(self, node_feats, adj_matrix):
        num_neighbours = adj_matrix.sum(dim=-1, keepdims=True)
        node_feats = self.projection(node_feats)
        node_feats = torch.bmm(adj_matrix, node_feats)
        return node_feats / num_neighbours


class GATLayer(nn.Module):
    def __init__(self, c_in, c_out, num_heads=1, concat_heads=True, alpha=0.2):
        super().__init__()
        self.num_heads, self.concat_heads = num_heads, concat_heads
        if self.concat_heads:
            c_out = c_out // num_heads
        self.projection = nn.Linear(c_in, c_out * num_heads)
        self.a = nn.Parameter(torch.Tensor(num_heads, 2 * c_out))
        self.leakyrelu = nn.LeakyReLU(alpha)
        nn.init.xavier_uniform_(self.projection.weight.data, gain=1.414)
        nn.init.xavier_uniform_(self.a.data, gain=1.414)

    def forward(self, node_feats, adj_matrix, print_attn_probs=False):
        batch_size, num_nodes = node_feats.size(0), node_feats.size(1)
        node_feats = self.projection(node_feats)
        node_feats = node_feats.view(batch_size, num_nodes, self.num_heads, -1)
        edges = adj_matrix.nonzero(as_tuple=False)
        node_feats_flat = node_feats.view(batch_size * num_nodes, self.num_heads, -1)
        edge_indices_row = edges[:, 0] * num_nodes + edges[:, 1]
        edge_indices_col = edges[:, 0] * num_nodes + edges[:, 2]
        a_input = torch.cat([torch.index_select(node_feats_flat, 0, edge_indices_row),
                             torch.index_select(node_feats_flat, 0, edge_indices_col)], dim=-1)
        attn_logits = torch.einsum("bhc,hc->bh", a_input, self.a)
        attn_logits = self.leakyrelu(attn_logits)
        attn_matrix = attn_logits.new_zeros(adj_matrix.shape + (self.num_heads,)).fill_(-9e15)
        attn_matrix[adj_matrix[..., None].repeat(1, 1, 1, self.num_heads) == 1] = \
            attn_logits.reshape(-1)
        attn_probs = F.softmax(attn_matrix, dim=2)
        node_feats = torch.einsum("bijh,bjhc->bihc", attn_probs, node_feats)
        if self.concat_heads:
            node_feats = node_feats.reshape(batch_size, num_nodes, -1)
        else:
            node_feats = node_feats.mean(dim=2)
        return node_feats, attn_probs


def section_uva_gnn() -> None:
    node_feats = torch.arange(8, dtype=torch.float32).view(1, 4, 2)
    adj_matrix = torch.Tensor([[[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]])
    layer = GCNLayer(c_in=2, c_out=2)
    layer.projection.weight.data = torch.Tensor([[1.0, 0.0], [0.0, 1.0]])
    layer.projection.bias.data = torch.Tensor([0.0, 0.0])
    with torch.no_grad():
        put("uva_gnn.gcn_fixed", layer(node_feats, adj_matrix))
    gat = GATLayer(2, 2, num_heads=2)
    gat.projection.weight.data = torch.Tensor([[1.0, 0.0], [0.0, 1.0]])
    gat.projection.bias.data = torch.Tensor([0.0, 0.0])
    gat.a.data = torch.Tensor([[-0.2, 0.3], [0.1, -0.1]])
    with torch.no_grad():
        out, probs = gat(node_feats, adj_matrix)
    put("uva_gnn.gat_fixed", [out, probs])
    # trained on random graphs, several heads, averaged
    adj = (torch.rand(3, 6, 6) > 0.5).float()
    adj = ((adj + adj.transpose(1, 2) + torch.eye(6)) > 0).float()
    feats = torch.randn(3, 6, 4)
    targets = torch.randint(0, 3, (3, 6))
    gcn1, gat2 = GCNLayer(4, 8), GATLayer(8, 3, num_heads=2, concat_heads=False)
    opt = optim.SGD([*gcn1.parameters(), *gat2.parameters()], lr=0.1, momentum=0.9)
    losses = []
    for _ in range(4):
        h = F.elu(gcn1(feats, adj))
        out, _ = gat2(h, adj)
        loss = F.cross_entropy(out.reshape(-1, 3), targets.reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("uva_gnn.losses", losses)
    put_state("uva_gnn.gat", gat2)


class Swish2(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def section_uva_ebm() -> None:
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), Swish2(),
                        nn.Conv2d(4, 8, 3, stride=2, padding=1), Swish2(), nn.Flatten(),
                        nn.Linear(8 * 2 * 2, 8), Swish2(), nn.Linear(8, 1))
    real = torch.rand(6, 1, 8, 8) * 2 - 1
    examples = [(torch.rand((1, 1, 8, 8)) * 2 - 1) for _ in range(12)]

    def generate_samples(model, inp_imgs, steps=5, step_size=5, return_img_per_step=False):
        is_training = model.training
        model.eval()
        for p in model.parameters():
            p.requires_grad = False
        inp_imgs.requires_grad = True
        had_gradients_enabled = torch.is_grad_enabled()
        torch.set_grad_enabled(True)
        noise = torch.randn(inp_imgs.shape, device=inp_imgs.device)
        imgs_per_step = []
        for _ in range(steps):
            noise.normal_(0, 0.005)
            inp_imgs.data.add_(noise.data)
            inp_imgs.data.clamp_(min=-1.0, max=1.0)
            out_imgs = -model(inp_imgs)
            out_imgs.sum().backward()
            inp_imgs.grad.data.clamp_(-0.03, 0.03)
            inp_imgs.data.add_(-step_size * inp_imgs.grad.data)
            inp_imgs.grad.detach_()
            inp_imgs.grad.zero_()
            inp_imgs.data.clamp_(min=-1.0, max=1.0)
            if return_img_per_step:
                imgs_per_step.append(inp_imgs.clone().detach())
        for p in model.parameters():
            p.requires_grad = True
        model.train(is_training)
        torch.set_grad_enabled(had_gradients_enabled)
        return torch.stack(imgs_per_step, dim=0) if return_img_per_step else inp_imgs

    opt = optim.Adam(cnn.parameters(), lr=1e-3, betas=(0.0, 0.999))
    record = []
    for _ in range(3):
        n_new = np.random.default_rng(len(record)).binomial(6, 0.05)
        rand_imgs = torch.rand((n_new,) + (1, 8, 8)) * 2 - 1
        old_imgs = torch.cat(random_choices(examples, 6 - n_new), dim=0)
        inp_imgs = torch.cat([rand_imgs, old_imgs], dim=0).detach()
        fake = generate_samples(cnn, inp_imgs)
        examples = list(fake.to(torch.device("cpu")).chunk(6, dim=0)) + examples
        examples = examples[:12]
        small_noise = torch.randn_like(real) * 0.005
        real_n = (real + small_noise).clamp(min=-1.0, max=1.0)
        inp = torch.cat([real_n, fake], dim=0)
        real_out, fake_out = cnn(inp).chunk(2, dim=0)
        reg_loss = 0.1 * (real_out ** 2 + fake_out ** 2).mean()
        cdiv_loss = fake_out.mean() - real_out.mean()
        loss = reg_loss + cdiv_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        record.append([loss.item(), reg_loss.item(), cdiv_loss.item()])
    put("uva_ebm.record", record)
    put("uva_ebm.fake", fake)
    put("uva_ebm.grad_enabled", torch.is_grad_enabled())
    steps = generate_samples(cnn, torch.rand(2, 1, 8, 8) * 2 - 1, steps=3,
                             return_img_per_step=True)
    put("uva_ebm.per_step", steps)
    put_state("uva_ebm.state", cnn)


def random_choices(items, k):  # (random.choices, from torch's stream so both sides agree)
    return [items[i] for i in torch.randint(0, len(items), (k,)).tolist()]


class Dequantization(nn.Module):
    def __init__(self, alpha=1e-5, quants=8):
        super().__init__()
        self.alpha, self.quants = alpha, quants

    def forward(self, z, ldj, reverse=False):
        if not reverse:
            z, ldj = self.dequant(z, ldj)
            z, ldj = self.sigmoid(z, ldj, reverse=True)
        else:
            z, ldj = self.sigmoid(z, ldj, reverse=False)
            z = z * self.quants
            ldj += np.log(self.quants) * np.prod(z.shape[1:])
            z = torch.floor(z).clamp(min=0, max=self.quants - 1).to(torch.int32)
        return z, ldj

    def sigmoid(self, z, ldj, reverse=False):
        if not reverse:
            ldj += (-z - 2 * F.softplus(-z)).sum(dim=[1, 2, 3])
            z = torch.sigmoid(z)
        else:
            z = z * (1 - self.alpha) + 0.5 * self.alpha
            ldj += np.log(1 - self.alpha) * np.prod(z.shape[1:])
            ldj += (-torch.log(z) - torch.log(1 - z)).sum(dim=[1, 2, 3])
            z = torch.log(z) - torch.log(1 - z)
        return z, ldj

    def dequant(self, z, ldj):
        z = z.to(torch.float32)
        z = z + torch.rand_like(z).detach()
        z = z / self.quants
        ldj -= np.log(self.quants) * np.prod(z.shape[1:])
        return z, ldj


class CouplingLayer(nn.Module):
    def __init__(self, network, mask, c_in):
        super().__init__()
        self.network = network
        self.scaling_factor = nn.Parameter(torch.zeros(c_in))
        self.register_buffer("mask", mask)

    def forward(self, z, ldj, reverse=False):
        z_in = z * self.mask
        nn_out = self.network(z_in)
        s, t = nn_out.chunk(2, dim=1)
        s_fac = self.scaling_factor.exp().view(1, -1, 1, 1)
        s = torch.tanh(s / s_fac) * s_fac
        s = s * (1 - self.mask)
        t = t * (1 - self.mask)
        if not reverse:
            z = (z + t) * torch.exp(s)
            ldj += s.sum(dim=[1, 2, 3])
        else:
            z = (z * torch.exp(-s)) - t
            ldj -= s.sum(dim=[1, 2, 3])
        return z, ldj


def create_checkerboard_mask(h, w, invert=False):
    x, y = torch.arange(h, dtype=torch.int32), torch.arange(w, dtype=torch.int32)
    xx, yy = torch.meshgrid(x, y, indexing="ij")
    mask = torch.fmod(xx + yy, 2)
    mask = mask.to(torch.float32).view(1, 1, h, w)
    return 1 - mask if invert else mask


def create_channel_mask(c_in, invert=False):
    mask = torch.cat([torch.ones(c_in // 2, dtype=torch.float32),
                      torch.zeros(c_in - c_in // 2, dtype=torch.float32)])
    mask = mask.view(1, c_in, 1, 1)
    return 1 - mask if invert else mask


class SqueezeFlow(nn.Module):
    def forward(self, z, ldj, reverse=False):
        B, C, H, W = z.shape
        if not reverse:
            z = z.reshape(B, C, H // 2, 2, W // 2, 2)
            z = z.permute(0, 1, 3, 5, 2, 4)
            z = z.reshape(B, 4 * C, H // 2, W // 2)
        else:
            z = z.reshape(B, C // 4, 2, 2, H, W)
            z = z.permute(0, 1, 4, 2, 5, 3)
            z = z.reshape(B, C // 4, H * 2, W * 2)
        return z, ldj


def _coupling_net(c_in, c_hidden=8):
    return nn.Sequential(nn.Conv2d(c_in, c_hidden, 3, padding=1), nn.ELU(),
                         nn.Conv2d(c_hidden, 2 * c_in, 3, padding=1))


def section_uva_flow() -> None:
    flows = nn.ModuleList([Dequantization(quants=8)]
                          + [CouplingLayer(_coupling_net(1), create_checkerboard_mask(
                              4, 4, invert=(i % 2 == 1)), 1) for i in range(2)]
                          + [SqueezeFlow(), CouplingLayer(_coupling_net(4),
                                                          create_channel_mask(4), 4)])
    prior = torch.distributions.normal.Normal(loc=0.0, scale=1.0)
    imgs = torch.randint(0, 8, (5, 1, 4, 4))
    opt = optim.Adam(flows.parameters(), lr=1e-2)
    record = []
    for _ in range(4):
        z, ldj = imgs, torch.zeros(imgs.shape[0])
        for flow in flows:
            z, ldj = flow(z, ldj, reverse=False)
        log_pz = prior.log_prob(z).sum(dim=[1, 2, 3])
        log_px = ldj + log_pz
        nll = -log_px
        bpd = nll * np.log2(np.exp(1)) / np.prod(imgs.shape[1:])
        loss = bpd.mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        record.append(loss.item())
    put("uva_flow.bpd", record)
    put("uva_flow.z", z)
    with torch.no_grad():
        z, ldj = imgs, torch.zeros(imgs.shape[0])
        for flow in flows:
            z, ldj = flow(z, ldj, reverse=False)
        z_back, ldj_back = z, ldj.clone()
        for flow in reversed(flows):
            z_back, ldj_back = flow(z_back, ldj_back, reverse=True)
    put("uva_flow.reconstructed", [z_back, (z_back == imgs).all()])
    put("uva_flow.masks", [create_checkerboard_mask(3, 5), create_channel_mask(5, invert=True)])
    put_state("uva_flow.state", flows)


SECTIONS = {"uva_act": section_uva_act, "uva_optim": section_uva_optim,
            "uva_transformer": section_uva_transformer, "uva_gnn": section_uva_gnn,
            "uva_ebm": section_uva_ebm, "uva_flow": section_uva_flow}
