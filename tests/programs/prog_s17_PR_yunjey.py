"""yunjey/pytorch-tutorial-style programs, written afresh (PR, session 17): the LSTM language
model with detached states and clip_grad_norm_, a bidirectional RNN classifier, the image
captioning decoder with pack_padded_sequence and greedy sampling, a VAE, a small ResNet with
the learning-rate decay by param_groups, and the fully connected GAN with reset_grad. Tiny
sizes, synthetic data, seeded; run by prog_s17_PR_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.nn.utils import clip_grad_norm_
from torch.nn.utils.rnn import pack_padded_sequence


def section_yj_lm() -> None:
    class RNNLM(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
            self.linear = nn.Linear(hidden_size, vocab_size)

        def forward(self, x, h):
            x = self.embed(x)
            out, (h, c) = self.lstm(x, h)
            out = out.reshape(out.size(0) * out.size(1), out.size(2))
            return self.linear(out), (h, c)

    vocab, batch, seq_length = 17, 3, 5
    corpus = torch.randint(0, vocab, (batch * 16,))
    ids = corpus.view(batch, -1)
    model = RNNLM(vocab, 8, 12, 2)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def detach(states):
        return [state.detach() for state in states]

    losses, norms = [], []
    for _epoch in range(2):
        states = (torch.zeros(2, batch, 12), torch.zeros(2, batch, 12))
        for i in range(0, ids.size(1) - seq_length, seq_length):
            inputs = ids[:, i:i + seq_length]
            targets = ids[:, (i + 1):(i + 1) + seq_length]
            states = detach(states)
            outputs, states = model(inputs, states)
            loss = criterion(outputs, targets.reshape(-1))
            model.zero_grad()
            loss.backward()
            norms.append(clip_grad_norm_(model.parameters(), 0.5))
            optimizer.step()
            losses.append(loss.item())
    put("yj_lm.losses", losses)
    put("yj_lm.norms", torch.stack(norms))
    put("yj_lm.perplexity", torch.tensor(losses).exp())
    put_state("yj_lm", model)
    # sampling: torch.multinomial on the exp of the logits, one word at a time
    with torch.no_grad():
        state = (torch.zeros(2, 1, 12), torch.zeros(2, 1, 12))
        prob = torch.ones(vocab)
        word = torch.multinomial(prob, num_samples=1).unsqueeze(1)
        words = []
        for _ in range(8):
            output, state = model(word, state)
            prob = output.exp()
            word_id = torch.multinomial(prob, num_samples=1).item()
            word.fill_(word_id)
            words.append(word_id)
    put("yj_lm.sampled", words)


def section_yj_birnn() -> None:
    class BiRNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super().__init__()
            self.hidden_size, self.num_layers = hidden_size, num_layers
            self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True,
                                bidirectional=True)
            self.fc = nn.Linear(hidden_size * 2, num_classes)

        def forward(self, x):
            h0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(x.device)
            c0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(x.device)
            out, _ = self.lstm(x, (h0, c0))
            return self.fc(out[:, -1, :])

    model = BiRNN(6, 8, 2, 4)
    images = torch.randn(5, 7, 6)
    labels = torch.tensor([0, 3, 1, 2, 3])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(4):
        outputs = model(images.reshape(-1, 7, 6))
        loss = nn.CrossEntropyLoss()(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        _, predicted = torch.max(model(images).data, 1)
        correct = (predicted == labels).sum().item()
    put("yj_birnn.losses", losses)
    put("yj_birnn.predicted", predicted)
    put("yj_birnn.correct", correct)
    put_state("yj_birnn", model)


def section_yj_caption() -> None:
    class DecoderRNN(nn.Module):
        def __init__(self, embed_size, hidden_size, vocab_size, num_layers, max_seq_length=6):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
            self.linear = nn.Linear(hidden_size, vocab_size)
            self.max_seg_length = max_seq_length

        def forward(self, features, captions, lengths):
            embeddings = self.embed(captions)
            embeddings = torch.cat((features.unsqueeze(1), embeddings), 1)
            packed = pack_padded_sequence(embeddings, lengths, batch_first=True)
            hiddens, _ = self.lstm(packed)
            return self.linear(hiddens[0])

        def sample(self, features, states=None):
            sampled_ids = []
            inputs = features.unsqueeze(1)
            for _ in range(self.max_seg_length):
                hiddens, states = self.lstm(inputs, states)
                outputs = self.linear(hiddens.squeeze(1))
                _, predicted = outputs.max(1)
                sampled_ids.append(predicted)
                inputs = self.embed(predicted).unsqueeze(1)
            return torch.stack(sampled_ids, 1)

    class EncoderCNN(nn.Module):  # a stand-in for the frozen ResNet: conv, pool, linear, BN
        def __init__(self, embed_size):
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3, padding=1)
            self.linear = nn.Linear(6, embed_size)
            self.bn = nn.BatchNorm1d(embed_size, momentum=0.01)

        def forward(self, images):
            with torch.no_grad():
                features = F.adaptive_avg_pool2d(self.conv(images), 1)
            features = features.reshape(features.size(0), -1)
            return self.bn(self.linear(features))

    encoder, decoder = EncoderCNN(8), DecoderRNN(8, 10, 12, 1)
    images = torch.randn(4, 3, 8, 8)
    # captions sorted by length (longest first), padded with 0, as the data loader's collate_fn
    lengths_raw = [5, 4, 4, 2]
    captions = torch.zeros(4, max(lengths_raw), dtype=torch.long)
    for i, end in enumerate(lengths_raw):
        captions[i, :end] = torch.randint(1, 12, (end,))
    lengths = [length + 1 for length in lengths_raw]  # the image feature is the first step
    full = torch.cat([captions, torch.zeros(4, 1, dtype=torch.long)], 1)
    targets = pack_padded_sequence(full, lengths, batch_first=True)[0]
    params = list(decoder.parameters()) + list(encoder.linear.parameters()) + list(
        encoder.bn.parameters())
    optimizer = torch.optim.Adam(params, lr=0.01)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for _ in range(3):
        features = encoder(images)
        outputs = decoder(features, captions, lengths)
        loss = criterion(outputs, targets)
        decoder.zero_grad()
        encoder.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("yj_caption.targets", targets)
    put("yj_caption.losses", losses)
    encoder.eval()
    with torch.no_grad():
        put("yj_caption.sampled", decoder.sample(encoder(images)))
    put_state("yj_caption.dec", decoder)
    # (the encoder's linear bias feeds a training-mode BatchNorm: its gradient is rounding noise
    # around 0, which Adam scales up to +-lr steps on either side; neither it nor the running
    # mean it shifts is comparable, so both are left out)
    put_state("yj_caption.enc", encoder, exclude=("linear.bias", "running_mean"))


def section_yj_vae() -> None:
    class VAE(nn.Module):
        def __init__(self, image_size=16, h_dim=12, z_dim=4):
            super().__init__()
            self.fc1 = nn.Linear(image_size, h_dim)
            self.fc2 = nn.Linear(h_dim, z_dim)
            self.fc3 = nn.Linear(h_dim, z_dim)
            self.fc4 = nn.Linear(z_dim, h_dim)
            self.fc5 = nn.Linear(h_dim, image_size)

        def encode(self, x):
            h = F.relu(self.fc1(x))
            return self.fc2(h), self.fc3(h)

        def reparameterize(self, mu, log_var):
            std = torch.exp(log_var / 2)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h = F.relu(self.fc4(z))
            return F.sigmoid(self.fc5(h))

        def forward(self, x):
            mu, log_var = self.encode(x)
            z = self.reparameterize(mu, log_var)
            return self.decode(z), mu, log_var

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(6, 16)
    losses = []
    for _ in range(4):
        x_reconst, mu, log_var = model(x)
        reconst_loss = F.binary_cross_entropy(x_reconst, x, reduction='sum')
        kl_div = - 0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
        loss = reconst_loss + kl_div
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([reconst_loss.item(), kl_div.item()])
    put("yj_vae.losses", losses)
    with torch.no_grad():
        z = torch.randn(3, 4)
        put("yj_vae.sample", model.decode(z).view(-1, 1, 4, 4))
        out, _, _ = model(x)
        put("yj_vae.concat", torch.cat([x.view(-1, 1, 4, 4), out.view(-1, 1, 4, 4)], dim=3))
    put_state("yj_vae", model)


def section_yj_resnet() -> None:
    def conv3x3(in_channels, out_channels, stride=1):
        return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1,
                         bias=False)

    class ResidualBlock(nn.Module):
        def __init__(self, in_channels, out_channels, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(in_channels, out_channels, stride)
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(out_channels, out_channels)
            self.bn2 = nn.BatchNorm2d(out_channels)
            self.downsample = downsample

        def forward(self, x):
            residual = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample:
                residual = self.downsample(x)
            out += residual
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, block, layers, num_classes=5):
            super().__init__()
            self.in_channels = 4
            self.conv = conv3x3(3, 4)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self.make_layer(block, 4, layers[0])
            self.layer2 = self.make_layer(block, 8, layers[1], 2)
            self.avg_pool = nn.AvgPool2d(4)
            self.fc = nn.Linear(8, num_classes)

        def make_layer(self, block, out_channels, blocks, stride=1):
            downsample = None
            if (stride != 1) or (self.in_channels != out_channels):
                downsample = nn.Sequential(conv3x3(self.in_channels, out_channels, stride=stride),
                                           nn.BatchNorm2d(out_channels))
            layers = [block(self.in_channels, out_channels, stride, downsample)]
            self.in_channels = out_channels
            for _ in range(1, blocks):
                layers.append(block(out_channels, out_channels))
            return nn.Sequential(*layers)

        def forward(self, x):
            out = self.relu(self.bn(self.conv(x)))
            out = self.layer2(self.layer1(out))
            out = self.avg_pool(out)
            return self.fc(out.view(out.size(0), -1))

    model = ResNet(ResidualBlock, [2, 1])
    images, labels = torch.randn(4, 3, 8, 8), torch.tensor([0, 4, 2, 1])
    curr_lr = 0.01
    optimizer = torch.optim.Adam(model.parameters(), lr=curr_lr)

    def update_lr(optimizer, lr):
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr

    losses = []
    for epoch in range(4):
        loss = nn.CrossEntropyLoss()(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (epoch + 1) % 2 == 0:
            curr_lr /= 3
            update_lr(optimizer, curr_lr)
    model.eval()
    with torch.no_grad():
        put("yj_resnet.eval", model(images))
    put("yj_resnet.losses", losses)
    put_state("yj_resnet", model)


def section_yj_gan() -> None:
    D = nn.Sequential(nn.Linear(16, 12), nn.LeakyReLU(0.2), nn.Linear(12, 12), nn.LeakyReLU(0.2),
                      nn.Linear(12, 1), nn.Sigmoid())
    G = nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 12), nn.ReLU(),
                      nn.Linear(12, 16), nn.Tanh())
    criterion = nn.BCELoss()
    d_optimizer = torch.optim.Adam(D.parameters(), lr=0.0002)
    g_optimizer = torch.optim.Adam(G.parameters(), lr=0.0002)

    def denorm(x):
        out = (x + 1) / 2
        return out.clamp(0, 1)

    def reset_grad():
        d_optimizer.zero_grad()
        g_optimizer.zero_grad()

    images = torch.rand(5, 16) * 2 - 1
    real_labels, fake_labels = torch.ones(5, 1), torch.zeros(5, 1)
    record = []
    for _ in range(3):
        outputs = D(images)
        d_loss_real = criterion(outputs, real_labels)
        real_score = outputs
        z = torch.randn(5, 4)
        fake_images = G(z)
        outputs = D(fake_images)
        d_loss_fake = criterion(outputs, fake_labels)
        fake_score = outputs
        d_loss = d_loss_real + d_loss_fake
        reset_grad()
        d_loss.backward()
        d_optimizer.step()
        z = torch.randn(5, 4)
        fake_images = G(z)
        g_loss = criterion(D(fake_images), real_labels)
        reset_grad()
        g_loss.backward()
        g_optimizer.step()
        record.append([d_loss.item(), g_loss.item(), real_score.mean().item(),
                       fake_score.mean().item()])
    put("yj_gan.record", record)
    put("yj_gan.denorm", denorm(fake_images.reshape(5, 1, 4, 4)).detach())
    put_state("yj_gan.G", G)
    put_state("yj_gan.D", D)


SECTIONS = {"yj_lm": section_yj_lm, "yj_birnn": section_yj_birnn,
            "yj_caption": section_yj_caption, "yj_vae": section_yj_vae,
            "yj_resnet": section_yj_resnet, "yj_gan": section_yj_gan}
