"""Session 6 program probes, part II: training recipes (residual nets, distillation,
contrastive learning, message passing).

Each program takes the library as ``torch``, seeds it itself and returns what it would print.
"""

from __future__ import annotations


def prog_resnet(torch):
    """torchvision-style BasicBlocks (ReLU(inplace=True) after BatchNorm), OneCycleLR and
    label-smoothed cross-entropy on 12x12 images of three synthetic classes."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(4)

    def conv3x3(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                         bias=False)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, num_classes=3):
            super().__init__()
            self.inplanes = 8
            self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self._make_layer(8, 1)
            self.layer2 = self._make_layer(16, 1, stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def _make_layer(self, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes
            for _ in range(1, blocks):
                layers.append(BasicBlock(self.inplanes, planes))
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer2(self.layer1(x))
            x = torch.flatten(self.avgpool(x), 1)
            return self.fc(x)

    # class 0: horizontal bars, 1: vertical bars, 2: blobs; plus noise
    grid = torch.arange(12).float()
    patterns = torch.stack([torch.sin(grid)[:, None].expand(12, 12),
                            torch.sin(grid)[None, :].expand(12, 12),
                            torch.exp(-((grid[:, None] - 6) ** 2 + (grid[None, :] - 6) ** 2) / 8)])
    targets = torch.randint(0, 3, (48,))
    images = patterns[targets].unsqueeze(1) + 0.3 * torch.randn(48, 1, 12, 12)
    model = ResNet()
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    epochs, steps_per_epoch = 2, 3
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
    losses, lrs, momenta = [], [], []
    for _epoch in range(epochs):
        model.train()
        perm = torch.randperm(48)
        for i in range(steps_per_epoch):
            idx = perm[i * 16:(i + 1) * 16]
            output = model(images[idx])
            loss = criterion(output, targets[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            lrs.append(scheduler.get_last_lr()[0])
            momenta.append(optimizer.param_groups[0]["momentum"])
    model.eval()
    with torch.no_grad():
        logits = model(images)
        _, predicted = logits.max(1)
        correct = predicted.eq(targets).sum().item()
        top2 = logits.topk(2, dim=1).indices
    return {"losses": losses, "lrs": lrs, "momenta": momenta, "correct": correct,
            "predicted": predicted, "top2": top2, "probs": F.softmax(logits[:4], dim=1),
            "running_var": model.layer2[0].downsample[1].running_var,
            "batches": model.bn1.num_batches_tracked}


def prog_distillation(torch):
    """Knowledge distillation: a teacher MLP, then a student trained on the soft targets
    (KLDivLoss(reduction='batchmean') at temperature T, times T^2) plus hard labels."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(5)
    centres = torch.randn(4, 10) * 2
    y = torch.randint(0, 4, (200,))
    x = centres[y] + torch.randn(200, 10)
    train_set = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(train_set, batch_size=50, shuffle=True)

    teacher = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 64),
                            nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 4))
    student = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))

    def train(model, epochs, teacher_model=None, T=4.0, soft_weight=0.75):
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        ce = nn.CrossEntropyLoss()
        kl = nn.KLDivLoss(reduction="batchmean")
        history = []
        if teacher_model is not None:
            teacher_model.eval()
        for _epoch in range(epochs):
            model.train()
            running = 0.0
            for inputs, labels in loader:
                optimizer.zero_grad()
                logits = model(inputs)
                loss = ce(logits, labels)
                if teacher_model is not None:
                    with torch.no_grad():
                        teacher_logits = teacher_model(inputs)
                    soft_targets = F.softmax(teacher_logits / T, dim=-1)
                    soft_prob = F.log_softmax(logits / T, dim=-1)
                    distill = kl(soft_prob, soft_targets) * (T ** 2)
                    loss = soft_weight * distill + (1 - soft_weight) * loss
                loss.backward()
                optimizer.step()
                running += loss.item()
            history.append(running / len(loader))
        return history

    def accuracy(model):
        model.eval()
        with torch.no_grad():
            return (model(x).argmax(dim=1) == y).float().mean().item()

    teacher_hist = train(teacher, 3)
    student_hist = train(student, 3, teacher_model=teacher)
    with torch.no_grad():
        t_logits, s_logits = teacher(x[:5]), student(x[:5])
        log_target = F.kl_div(F.log_softmax(s_logits, 1), F.log_softmax(t_logits, 1),
                              reduction="sum", log_target=True)
    return {"teacher": teacher_hist, "student": student_hist, "teacher_acc": accuracy(teacher),
            "student_acc": accuracy(student), "t_logits": t_logits, "s_logits": s_logits,
            "kl_log_target": log_target}


def prog_simclr(torch):
    """SimCLR-style contrastive pretraining of a small encoder: two noisy views per example,
    NT-Xent over a 2N x 2N cosine-similarity matrix with the diagonal masked out."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(6)
    base = torch.randn(32, 12)

    def augment(batch):
        noise = 0.1 * torch.randn_like(batch)
        keep = (torch.rand_like(batch) > 0.2).float()
        scale = torch.empty(batch.size(0), 1).uniform_(0.8, 1.2)
        return batch * keep * scale + noise

    class SimCLR(nn.Module):
        def __init__(self):
            super().__init__()
            # No bias before BatchNorm: its gradient is zero up to rounding noise, which Adam
            # scales up to steps of size lr, so the two libraries' biases (both right) drift
            # apart by ~lr (0.03 after 8 steps) with a bias here.
            self.encoder = nn.Sequential(nn.Linear(12, 32, bias=False), nn.BatchNorm1d(32),
                                         nn.ReLU(),
                                         nn.Linear(32, 16))
            self.projector = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8))

        def forward(self, x):
            return self.projector(self.encoder(x))

    def info_nce_loss(features, batch_size, temperature=0.5):
        labels = torch.cat([torch.arange(batch_size) for _ in range(2)], dim=0)
        labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
        features = F.normalize(features, dim=1)
        similarity_matrix = torch.matmul(features, features.T)
        mask = torch.eye(labels.shape[0], dtype=torch.bool)
        labels = labels[~mask].view(labels.shape[0], -1)
        similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)
        positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)
        negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)
        logits = torch.cat([positives, negatives], dim=1) / temperature
        targets = torch.zeros(logits.shape[0], dtype=torch.long)
        return logits, targets

    def nt_xent(z1, z2, temperature=0.5):
        z = torch.cat([z1, z2], dim=0)
        n = z1.shape[0]
        sim = F.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=2) / temperature
        sim.fill_diagonal_(float("-inf"))
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, targets)

    model = SimCLR()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()
    losses, second, top1 = [], [], []
    for _step in range(8):
        batch = base[torch.randperm(32)[:16]]
        features = model(torch.cat([augment(batch), augment(batch)], dim=0))
        logits, labels = info_nce_loss(features, 16)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        top1.append((logits.argmax(dim=1) == labels).sum().item())
        with torch.no_grad():
            second.append(nt_xent(features[:16], features[16:]).item())
    model.eval()
    with torch.no_grad():
        embeddings = F.normalize(model.encoder(base), dim=1)
        neighbours = (embeddings @ embeddings.T).topk(3, dim=1).indices
    return {"losses": losses, "nt_xent": second, "top1": top1, "neighbours": neighbours,
            "embeddings": embeddings[:3]}


def prog_gnn(torch):
    """A two-layer graph network written by hand: messages gathered along edges, summed with
    index_add_, mean-normalised by degrees from scatter_add_, graph readout by scatter_add."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(7)
    num_nodes, num_graphs = 30, 3
    batch = torch.arange(num_nodes) // 10  # three graphs of ten nodes
    src = torch.randint(0, 10, (60,)) + 10 * (torch.arange(60) // 20)
    dst = torch.randint(0, 10, (60,)) + 10 * (torch.arange(60) // 20)
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    x = torch.randn(num_nodes, 5)
    node_labels = (x[:, 0] > 0).long()
    graph_targets = torch.randn(num_graphs)

    class GraphConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin = nn.Linear(in_channels, out_channels, bias=False)
            self.root = nn.Linear(in_channels, out_channels)

        def forward(self, x, edge_index):
            row, col = edge_index
            deg = torch.zeros(x.size(0)).scatter_add_(0, col, torch.ones(col.size(0)))
            messages = self.lin(x)[row]
            aggr = torch.zeros(x.size(0), messages.size(1)).index_add_(0, col, messages)
            aggr = aggr / deg.clamp(min=1).unsqueeze(-1)
            return aggr + self.root(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GraphConv(5, 16)
            self.conv2 = GraphConv(16, 16)
            self.node_head = nn.Linear(16, 2)
            self.graph_head = nn.Linear(16, 1)

        def forward(self, x, edge_index, batch):
            h = F.relu(self.conv1(x, edge_index))
            h = F.dropout(h, p=0.5, training=self.training)
            h = F.relu(self.conv2(h, edge_index))
            index = batch.unsqueeze(-1).expand(-1, h.size(1))
            pooled = torch.zeros(num_graphs, h.size(1)).scatter_add(0, index, h)
            counts = torch.bincount(batch, minlength=num_graphs).unsqueeze(-1)
            return self.node_head(h), self.graph_head(pooled / counts).squeeze(-1)

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    losses = []
    for _epoch in range(10):
        model.train()
        optimizer.zero_grad()
        node_out, graph_out = model(x, edge_index, batch)
        loss = F.cross_entropy(node_out, node_labels) + F.mse_loss(graph_out, graph_targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        node_out, graph_out = model(x, edge_index, batch)
    pred = node_out.argmax(dim=1)
    return {"losses": losses, "pred": pred, "acc": int((pred == node_labels).sum()) / num_nodes,
            "graph_out": graph_out,
            "degrees": torch.bincount(edge_index[1], minlength=num_nodes)}
