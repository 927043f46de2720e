"""Vision tutorials' programs, written afresh in their style (PG, session 17): the spatial
transformer network (affine_grid / grid_sample), FGSM adversarial examples, a small U-Net with
a Dice loss, neural style transfer (LBFGS over the image, content / style losses as modules,
Gram matrices, forward hooks on a feature extractor) and text classification with EmbeddingBag
and offsets. Tiny sizes, synthetic data, seeded.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s17_PG_harness import put, put_state


def section_stn() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(4 * 3 * 3, 3)
            self.localization = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 8), nn.ReLU(True), nn.Linear(8, 6))
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 4 * 3 * 3)
            theta = self.fc_loc(xs).view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            return F.grid_sample(x, grid, align_corners=False)

        def forward(self, x):
            x = self.stn(x)
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv1(x)), 2))
            x = x.view(-1, 4 * 3 * 3)
            x = F.dropout(x, training=self.training)
            return F.log_softmax(self.fc1(x), dim=1)

    model = Net()
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    data = torch.randn(8, 1, 8, 8)
    target = torch.randint(0, 3, (8,))
    losses = []
    model.train()
    for _step in range(4):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("stn.losses", losses)
    put_state("stn.state", model)
    model.eval()
    with torch.no_grad():
        put("stn.warped", model.stn(data[:2]))
        theta = torch.tensor([[[0.8, -0.3, 0.1], [0.2, 1.1, -0.2]]]).repeat(2, 1, 1)
        for corners in (False, True):
            grid = F.affine_grid(theta, (2, 1, 5, 7), align_corners=corners)
            put(f"stn.grid.{corners}", grid)
            for mode in ("bilinear", "nearest"):
                for padding in ("zeros", "border", "reflection"):
                    put(f"stn.sample.{corners}.{mode}.{padding}",
                        F.grid_sample(data[:2, :, :5, :7], grid, mode=mode,
                                      padding_mode=padding, align_corners=corners))


def section_fgsm() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 3 * 3, 4)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)

    def fgsm_attack(image, epsilon, data_grad):
        sign_data_grad = data_grad.sign()
        perturbed_image = image + epsilon * sign_data_grad
        return torch.clamp(perturbed_image, 0, 1)

    def denorm(batch, mean=None, std=None):
        if std is None:
            std = [0.3081]
        if mean is None:
            mean = [0.1307]
        mean = torch.tensor(mean).view(1, -1, 1, 1)
        std = torch.tensor(std).view(1, -1, 1, 1)
        return batch * std + mean

    model = Net()
    model.eval()
    images = torch.rand(10, 1, 8, 8)
    labels = torch.randint(0, 4, (10,))
    results = []
    for epsilon in (0, 0.05, 0.2):
        correct = 0
        examples = []
        for data, target in zip(images, labels):
            data = ((data - 0.1307) / 0.3081).unsqueeze(0)
            target = target.unsqueeze(0)
            data.requires_grad = True
            output = model(data)
            init_pred = output.max(1, keepdim=True)[1]
            loss = F.nll_loss(output, target)
            model.zero_grad()
            loss.backward()
            data_grad = data.grad.data
            perturbed_data = fgsm_attack(denorm(data), epsilon, data_grad)
            perturbed_data_normalized = (perturbed_data - 0.1307) / 0.3081
            output = model(perturbed_data_normalized)
            final_pred = output.max(1, keepdim=True)[1]
            if final_pred.item() == target.item():
                correct += 1
            examples.append(perturbed_data.squeeze().detach().cpu().numpy().sum())
            put(f"fgsm.init_pred.{epsilon}", init_pred)
        results.append(correct / float(len(images)))
        put(f"fgsm.examples.{epsilon}", examples)
    put("fgsm.acc", results)


def section_unet() -> None:
    class DoubleConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
                nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

        def forward(self, x):
            return self.double_conv(x)

    class Up(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

        def forward(self, x1, x2):
            x1 = self.up(x1)
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            return self.conv(torch.cat([x2, x1], dim=1))

    class UNet(nn.Module):
        def __init__(self, n_channels, n_classes):
            super().__init__()
            self.inc = DoubleConv(n_channels, 4)
            self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(4, 8))
            self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(8, 16))
            self.up1 = Up(16, 8)
            self.up2 = Up(8, 4)
            self.outc = nn.Conv2d(4, n_classes, kernel_size=1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            return self.outc(self.up2(self.up1(x3, x2), x1))

    def dice_coeff(input, target, reduce_batch_first=False, epsilon=1e-6):
        sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)
        inter = 2 * (input * target).sum(dim=sum_dim)
        sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
        sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
        return ((inter + epsilon) / (sets_sum + epsilon)).mean()

    def multiclass_dice_coeff(input, target, reduce_batch_first=False, epsilon=1e-6):
        return dice_coeff(input.flatten(0, 1), target.flatten(0, 1), reduce_batch_first, epsilon)

    def dice_loss(input, target, multiclass=False):
        fn = multiclass_dice_coeff if multiclass else dice_coeff
        return 1 - fn(input, target, reduce_batch_first=True)

    n_classes = 3
    model = UNet(1, n_classes)
    optimizer = optim.RMSprop(model.parameters(), lr=1e-3, weight_decay=1e-8, momentum=0.9,
                              foreach=True)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", patience=1)
    criterion = nn.CrossEntropyLoss()
    images = torch.randn(2, 1, 10, 10)
    true_masks = torch.randint(0, n_classes, (2, 10, 10))
    losses = []
    for _step in range(3):
        masks_pred = model(images)
        loss = criterion(masks_pred, true_masks)
        loss += dice_loss(F.softmax(masks_pred, dim=1).float(),
                          F.one_hot(true_masks, n_classes).permute(0, 3, 1, 2).float(),
                          multiclass=True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        scheduler.step(1.0 - loss.item())
    put("unet.losses", losses)
    put("unet.lr", optimizer.param_groups[0]["lr"])
    put_state("unet.state", model)
    model.eval()
    with torch.no_grad():
        pred = model(images).argmax(dim=1)
        put("unet.pred", pred)
        put("unet.dice", multiclass_dice_coeff(
            F.one_hot(pred, n_classes).permute(0, 3, 1, 2).float()[:, 1:],
            F.one_hot(true_masks, n_classes).permute(0, 3, 1, 2).float()[:, 1:],
            reduce_batch_first=False))


def section_style_transfer() -> None:
    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super().__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            self.loss = F.mse_loss(gram_matrix(input), self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean = torch.tensor(mean).view(-1, 1, 1)
            self.std = torch.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True),
                        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(inplace=True),
                        nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1),
                        nn.ReLU(inplace=True)).eval()
    for p in cnn.parameters():
        p.requires_grad_(False)
    style_img = torch.rand(1, 3, 12, 12)
    content_img = torch.rand(1, 3, 12, 12)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

    def get_style_model_and_losses(cnn, style_img, content_img,
                                   content_layers=("conv_2",),
                                   style_layers=("conv_1", "conv_2", "conv_3")):
        normalization = Normalization(mean, std)
        content_losses, style_losses = [], []
        model = nn.Sequential(normalization)
        i = 0
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = f"conv_{i}"
            elif isinstance(layer, nn.ReLU):
                name = f"relu_{i}"
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = f"pool_{i}"
            else:
                raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
            model.add_module(name, layer)
            if name in content_layers:
                content_loss = ContentLoss(model(content_img).detach())
                model.add_module(f"content_loss_{i}", content_loss)
                content_losses.append(content_loss)
            if name in style_layers:
                style_loss = StyleLoss(model(style_img).detach())
                model.add_module(f"style_loss_{i}", style_loss)
                style_losses.append(style_loss)
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], (ContentLoss, StyleLoss)):
                break
        return model[:(i + 1)], style_losses, content_losses

    input_img = content_img.clone()
    model, style_losses, content_losses = get_style_model_and_losses(cnn, style_img, content_img)
    put("style.names", [name for name, _ in model.named_children()])
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    # (the tutorial's default max_iter=20 per step: float32 rounding differences grow through
    # the line searches to 1e-4 by the 12th evaluation on both libraries' orders; 2 x 4 here)
    optimizer = optim.LBFGS([input_img], max_iter=4)
    feature_norms = []
    hook = model.conv_3.register_forward_hook(
        lambda module, args, output: feature_norms.append(output.detach().norm().item()))
    run = [0]
    scores = []
    while run[0] < 8:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * 1000
            content_score = sum(cl.loss for cl in content_losses)
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            scores.append([style_score.item(), content_score.item()])
            return style_score + content_score
        optimizer.step(closure)
    hook.remove()
    with torch.no_grad():
        input_img.clamp_(0, 1)
    put("style.scores", scores)
    put("style.img", input_img)
    put("style.hook_norms", feature_norms)
    put("style.lbfgs.n_iter", optimizer.state[optimizer._params[0]]["n_iter"])
    put("style.lbfgs.func_evals", optimizer.state[optimizer._params[0]]["func_evals"])


def section_embedding_bag() -> None:
    from torch.utils.data import DataLoader

    corpus = [(1, "stocks rally as markets close higher"), (2, "team wins the final match"),
              (3, "new phone chip is faster"), (0, "leaders meet to discuss the treaty"),
              (1, "bank raises rates again"), (2, "player scores twice in the derby"),
              (3, "software update fixes the bug"), (0, "election results are announced")]
    vocab = {"<unk>": 0}
    for _, text in corpus:
        for token in text.split():
            vocab.setdefault(token, len(vocab))

    def text_pipeline(x):
        return [vocab.get(token, 0) for token in x.split()]

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(_label)
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    model = TextClassificationModel(len(vocab), 8, 4)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    loader = DataLoader(corpus, batch_size=3, shuffle=True, collate_fn=collate_batch)
    losses, accs = [], []
    for _epoch in range(3):
        model.train()
        total_acc, total_count = 0, 0
        for label, text, offsets in loader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            losses.append(loss.item())
        accs.append(total_acc / total_count)
        scheduler.step()
    put("ebag.losses", losses)
    put("ebag.accs", accs)
    put_state("ebag.state", model)
    with torch.no_grad():
        text = torch.tensor(text_pipeline("markets close after the match"))
        put("ebag.predict", model(text, torch.tensor([0])).argmax(1).item() + 1)
        for mode in ("sum", "max"):
            bag = nn.EmbeddingBag.from_pretrained(model.embedding.weight, mode=mode)
            put(f"ebag.{mode}", bag(text.view(1, -1)))
            weights = torch.linspace(0.5, 1.5, text.numel())
            if mode == "sum":
                put("ebag.weighted", bag(text, torch.tensor([0, 2]),
                                         per_sample_weights=weights))
        put("ebag.padding", nn.EmbeddingBag(5, 3, padding_idx=1, mode="mean")(
            torch.tensor([[1, 2, 1], [1, 1, 1]])))


SECTIONS = {"stn": section_stn, "fgsm": section_fgsm, "unet": section_unet,
            "style": section_style_transfer, "ebag": section_embedding_bag}
