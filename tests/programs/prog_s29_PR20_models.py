"""PyTorch's intermediate tutorials as a reader types them in (PR20, session 29; written
afresh, synthetic data, tiny sizes): the character-level RNN name classifier (unicode to
ASCII, one-hot line tensors, a hand-written RNN cell and nn.RNN, NLLLoss with manual SGD,
top-k predictions, a confusion matrix), seq2seq with Bahdanau attention (GRU encoder,
attention decoder with teacher forcing, greedy decoding), the transformer language model
(positional encoding buffer, nn.TransformerEncoder, the square subsequent mask, batchify /
get_batch, clip_grad_norm_, StepLR, perplexity), DCGAN (transposed convolutions, batch norm,
weights_init by class name, BCELoss with full labels), the spatial transformer
(affine_grid / grid_sample with an identity-initialised localisation head), neural style
transfer pieces (gram matrix, content / style loss modules, the model rebuilt from a VGG-like
feature stack, forward hooks, L-BFGS over the image), FGSM adversarial examples and
REINFORCE with Categorical on a tiny deterministic environment. Run by prog_s29_PR20_all.py.
"""
# ruff: noqa: B006, B007, E501, E731, E741, N802, N803, N806, UP031, UP032 - the tutorials' code as written

import math
import string
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn, optim
from torch.distributions import Categorical

ALL_LETTERS = string.ascii_letters + " .,;'"
N_LETTERS = len(ALL_LETTERS)


def unicodeToAscii(s):
    return "".join(c for c in unicodedata.normalize("NFD", s)
                   if unicodedata.category(c) != "Mn" and c in ALL_LETTERS)


def letterToIndex(letter):
    return ALL_LETTERS.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, N_LETTERS)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = F.tanh(self.i2h(input) + self.h2h(hidden))
        output = self.h2o(hidden)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


class CharRNN2(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def section_char_rnn() -> None:
    rng = np.random.default_rng(20)
    syllables = {"Alpine": ["ber", "hof", "stein", "mann"], "Iberian": ["ez", "ar", "ito", "ada"],
                 "Nordic": ["sen", "dottir", "vik", "berg"]}
    category_lines = {c: [("".join(rng.choice(s, size=2)) + rng.choice(["", "é", "ö"])).capitalize()
                          for _ in range(8)] for c, s in syllables.items()}
    all_categories = list(category_lines)
    n_categories = len(all_categories)
    with printed("t20_charrnn.log"):
        print(unicodeToAscii("Ślusàrski"), N_LETTERS)
        print(lineToTensor("J").shape, lineToTensor("Jones").size(), lineToTensor("ab").nonzero().tolist())
        print({c: lines[:3] for c, lines in category_lines.items()})
        n_hidden = 32
        rnn = CharRNN(N_LETTERS, n_hidden, n_categories)
        input = lineToTensor("Albert")
        hidden = torch.zeros(1, n_hidden)
        output, next_hidden = rnn(input[0], hidden)
        print(output)

        def categoryFromOutput(output):
            top_n, top_i = output.topk(1)
            category_i = top_i[0].item()
            return all_categories[category_i], category_i

        print(categoryFromOutput(output))
        g = np.random.default_rng(1)

        def randomTrainingExample():
            category = all_categories[g.integers(n_categories)]
            line = category_lines[category][g.integers(len(category_lines[category]))]
            category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
            line_tensor = lineToTensor(unicodeToAscii(line))
            return category, line, category_tensor, line_tensor

        criterion = nn.NLLLoss()
        learning_rate = 0.05

        def train(category_tensor, line_tensor):
            hidden = rnn.initHidden()
            rnn.zero_grad()
            for i in range(line_tensor.size()[0]):
                output, hidden = rnn(line_tensor[i], hidden)
            loss = criterion(output, category_tensor)
            loss.backward()
            for p in rnn.parameters():
                p.data.add_(p.grad.data, alpha=-learning_rate)
            return output, loss.item()

        current_loss = 0
        all_losses = []
        for iter in range(1, 121):
            category, line, category_tensor, line_tensor = randomTrainingExample()
            output, loss = train(category_tensor, line_tensor)
            current_loss += loss
            if iter % 30 == 0:
                guess, guess_i = categoryFromOutput(output)
                correct = "✓" if guess == category else "✗ (%s)" % category
                print("%d %d%% %.4f %s / %s %s" % (iter, iter / 120 * 100, loss, line, guess, correct))
                all_losses.append(current_loss / 30)
                current_loss = 0
        print(["%.4f" % v for v in all_losses])
        confusion = torch.zeros(n_categories, n_categories)

        def evaluate(line_tensor):
            hidden = rnn.initHidden()
            for i in range(line_tensor.size()[0]):
                output, hidden = rnn(line_tensor[i], hidden)
            return output

        for c in all_categories:
            for line in category_lines[c]:
                output = evaluate(lineToTensor(unicodeToAscii(line)))
                guess, guess_i = categoryFromOutput(output)
                confusion[all_categories.index(c)][guess_i] += 1
        for i in range(n_categories):
            confusion[i] = confusion[i] / confusion[i].sum()
        print(confusion)

        def predict(input_line, n_predictions=2):
            print("\n> %s" % input_line)
            with torch.no_grad():
                output = evaluate(lineToTensor(input_line))
                topv, topi = output.topk(n_predictions, 1, True)
                for i in range(n_predictions):
                    value = topv[0][i].item()
                    category_index = topi[0][i].item()
                    print("(%.2f) %s" % (value, all_categories[category_index]))

        predict("Bergvik")
        predict("Hofmann")
        # the newer version with nn.RNN and batched training
        rnn2 = CharRNN2(N_LETTERS, n_hidden, n_categories)
        print(rnn2)
        opt = torch.optim.SGD(rnn2.parameters(), lr=0.1)
        data = [(lineToTensor(unicodeToAscii(line)), torch.tensor([i])) for i, c in enumerate(all_categories)
                for line in category_lines[c]]
        for epoch in range(2):
            rnn2.train()
            order = torch.randperm(len(data)).tolist()
            total = 0.0
            for start in range(0, len(order), 6):
                batch_loss = 0
                for k in order[start:start + 6]:
                    text_tensor, label_tensor = data[k]
                    batch_loss += criterion(rnn2.forward(text_tensor), label_tensor)
                batch_loss.backward()
                nn.utils.clip_grad_norm_(rnn2.parameters(), 3)
                opt.step()
                opt.zero_grad()
                total += batch_loss.item()
            print(f"epoch {epoch}: {total / len(data):.5f}")
        put("t20_charrnn.h2o", rnn2.h2o.weight)


SOS_token, EOS_token = 0, 1
MAX_LENGTH = 6


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs)
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


def section_seq2seq() -> None:
    torch.manual_seed(3)
    vocab = 9
    pairs = []
    for _ in range(24):
        n = int(torch.randint(2, MAX_LENGTH - 1, (1,)))
        src = torch.randint(2, vocab, (n,)).tolist()
        pairs.append((src, list(reversed(src))))
    with printed("t20_seq2seq.log"):
        n = len(pairs)
        input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        for idx, (inp, tgt) in enumerate(pairs):
            inp_ids = inp + [EOS_token]
            tgt_ids = tgt + [EOS_token]
            input_ids[idx, :len(inp_ids)] = inp_ids
            target_ids[idx, :len(tgt_ids)] = tgt_ids
        train_data = torch.utils.data.TensorDataset(torch.LongTensor(input_ids), torch.LongTensor(target_ids))
        train_sampler = torch.utils.data.RandomSampler(train_data)
        train_dataloader = torch.utils.data.DataLoader(train_data, sampler=train_sampler, batch_size=8)
        hidden_size = 16
        encoder = EncoderRNN(vocab, hidden_size)
        decoder = AttnDecoderRNN(hidden_size, vocab)
        print(encoder, decoder)
        encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
        decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01)
        criterion = nn.NLLLoss()

        def train_epoch(dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion):
            total_loss = 0
            for data in dataloader:
                input_tensor, target_tensor = data
                encoder_optimizer.zero_grad()
                decoder_optimizer.zero_grad()
                encoder_outputs, encoder_hidden = encoder(input_tensor)
                decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
                loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
                loss.backward()
                encoder_optimizer.step()
                decoder_optimizer.step()
                total_loss += loss.item()
            return total_loss / len(dataloader)

        for epoch in range(1, 7):
            loss = train_epoch(train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion)
            if epoch % 2 == 0:
                print("(%d %d%%) %.4f" % (epoch, epoch / 6 * 100, loss))
        encoder.eval()
        decoder.eval()
        with torch.no_grad():
            input_tensor = torch.tensor([[3, 4, 5, EOS_token]], dtype=torch.long)
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
            _, topi = decoder_outputs.topk(1)
            decoded_ids = topi.squeeze()
            decoded_words = []
            for idx in decoded_ids:
                if idx.item() == EOS_token:
                    decoded_words.append("<EOS>")
                    break
                decoded_words.append(str(idx.item()))
        print(" ".join(decoded_words), decoder_attn.shape, decoder_attn[0, 0].sum())
        print(decoder_attn[0, :2])
        put("t20_seq2seq.attn", decoder_attn)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=500):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.5):
        super().__init__()
        self.model_type = "Transformer"
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers, enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)
        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src, src_mask=None):
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        output = self.transformer_encoder(src, src_mask)
        output = self.linear(output)
        return output


def section_transformer_lm() -> None:
    torch.manual_seed(4)
    ntokens = 20
    stream = torch.tensor([(3 * i + i // 7) % ntokens for i in range(400)], dtype=torch.long)
    with printed("t20_tlm.log"):
        def batchify(data, bsz):
            seq_len = data.size(0) // bsz
            data = data[:seq_len * bsz]
            data = data.view(bsz, seq_len).t().contiguous()
            return data

        train_data = batchify(stream[:320], 4)
        val_data = batchify(stream[320:], 2)
        print(train_data.shape, val_data.shape, train_data[:3])
        bptt = 10

        def get_batch(source, i):
            seq_len = min(bptt, len(source) - 1 - i)
            data = source[i:i + seq_len]
            target = source[i + 1:i + 1 + seq_len].reshape(-1)
            return data, target

        print(nn.Transformer.generate_square_subsequent_mask(4))
        emsize, d_hid, nlayers, nhead, dropout = 16, 32, 2, 2, 0.2
        model = TransformerModel(ntokens, emsize, nhead, d_hid, nlayers, dropout)
        print(model.transformer_encoder.layers[0])
        criterion = nn.CrossEntropyLoss()
        lr = 1.0
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)

        def train(model):
            model.train()
            total_loss = 0.0
            log_interval = 10
            num_batches = len(train_data) // bptt
            for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
                data, targets = get_batch(train_data, i)
                output = model(data)
                output_flat = output.view(-1, ntokens)
                loss = criterion(output_flat, targets)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                optimizer.step()
                total_loss += loss.item()
                if batch % log_interval == 0 and batch > 0 or batch == num_batches - 1:
                    lr = scheduler.get_last_lr()[0]
                    cur_loss = total_loss / log_interval
                    ppl = math.exp(cur_loss)
                    print(f"| epoch {epoch:3d} | {batch:5d}/{num_batches:5d} batches | "
                          f"lr {lr:02.2f} | loss {cur_loss:5.2f} | ppl {ppl:8.2f}")
                    total_loss = 0

        def evaluate(model, eval_data):
            model.eval()
            total_loss = 0.0
            with torch.no_grad():
                for i in range(0, eval_data.size(0) - 1, bptt):
                    data, targets = get_batch(eval_data, i)
                    seq_len = data.size(0)
                    output = model(data)
                    output_flat = output.view(-1, ntokens)
                    total_loss += seq_len * criterion(output_flat, targets).item()
            return total_loss / (len(eval_data) - 1)

        for epoch in range(1, 3):
            train(model)
            val_loss = evaluate(model, val_data)
            val_ppl = math.exp(val_loss)
            print("-" * 89)
            print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | valid ppl {val_ppl:8.2f}")
            print("-" * 89)
            scheduler.step()
        put("t20_tlm.val", val_loss)
        # the same with batch_first and a key padding mask
        layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True, norm_first=True)
        enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        x = torch.randn(2, 5, 8)
        pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
        out = enc(x, mask=nn.Transformer.generate_square_subsequent_mask(5), src_key_padding_mask=pad)
        print(out.shape, out[1, 0])
        full = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                              dim_feedforward=16, dropout=0.0)
        print(full(torch.randn(4, 2, 8), torch.randn(3, 2, 8)).shape)


class Generator(nn.Module):
    def __init__(self, nz, ngf, nc):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf, nc):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def section_dcgan() -> None:
    torch.manual_seed(999)
    nz, ngf, ndf, nc = 8, 4, 4, 1
    real_images = torch.tanh(torch.randn(24, nc, 16, 16))
    with printed("t20_dcgan.log"):
        netG = Generator(nz, ngf, nc)
        netG.apply(weights_init)
        print(netG)
        netD = Discriminator(ndf, nc)
        netD.apply(weights_init)
        print(netD)
        criterion = nn.BCELoss()
        fixed_noise = torch.randn(4, nz, 1, 1)
        real_label = 1.
        fake_label = 0.
        optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
        optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
        dataloader = torch.utils.data.DataLoader(real_images, batch_size=8, shuffle=True)
        G_losses, D_losses = [], []
        num_epochs = 2
        for epoch in range(num_epochs):
            for i, data in enumerate(dataloader, 0):
                netD.zero_grad()
                real_cpu = data
                b_size = real_cpu.size(0)
                label = torch.full((b_size,), real_label, dtype=torch.float)
                output = netD(real_cpu).view(-1)
                errD_real = criterion(output, label)
                errD_real.backward()
                D_x = output.mean().item()
                noise = torch.randn(b_size, nz, 1, 1)
                fake = netG(noise)
                label.fill_(fake_label)
                output = netD(fake.detach()).view(-1)
                errD_fake = criterion(output, label)
                errD_fake.backward()
                D_G_z1 = output.mean().item()
                errD = errD_real + errD_fake
                optimizerD.step()
                netG.zero_grad()
                label.fill_(real_label)
                output = netD(fake).view(-1)
                errG = criterion(output, label)
                errG.backward()
                D_G_z2 = output.mean().item()
                optimizerG.step()
                print("[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f"
                      % (epoch, num_epochs, i, len(dataloader), errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
                G_losses.append(errG.item())
                D_losses.append(errD.item())
        with torch.no_grad():
            fake = netG(fixed_noise).detach().cpu()
        print(fake.shape, f"{fake.min():.4f} {fake.max():.4f}")
        grid = torch.cat([torch.cat(list(fake[:2, 0]), dim=1), torch.cat(list(fake[2:, 0]), dim=1)], dim=0)
        print(grid.shape, np.transpose(fake[0].numpy(), (1, 2, 0)).shape)
        put("t20_dcgan.fake", fake)


class STNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 6, kernel_size=3)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(6 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 3)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(4, 5, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(nn.Linear(5 * 2 * 2, 16), nn.ReLU(True), nn.Linear(16, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 5 * 2 * 2)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        return x

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 6 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def section_stn() -> None:
    torch.manual_seed(5)
    x_all = torch.randn(32, 1, 14, 14)
    y_all = torch.randint(0, 3, (32,))
    with printed("t20_stn.log"):
        model = STNet()
        optimizer = optim.SGD(model.parameters(), lr=0.01)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_all, y_all), batch_size=8, shuffle=True)

        def train(epoch):
            model.train()
            for batch_idx, (data, target) in enumerate(loader):
                optimizer.zero_grad()
                output = model(data)
                loss = F.nll_loss(output, target)
                loss.backward()
                optimizer.step()
                if batch_idx % 2 == 0:
                    print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                        epoch, batch_idx * len(data), len(loader.dataset),
                        100. * batch_idx / len(loader), loss.item()))

        def test():
            with torch.no_grad():
                model.eval()
                test_loss = 0
                correct = 0
                for data, target in loader:
                    output = model(data)
                    test_loss += F.nll_loss(output, target, reduction="sum").item()
                    pred = output.max(1, keepdim=True)[1]
                    correct += pred.eq(target.view_as(pred)).sum().item()
                test_loss /= len(loader.dataset)
                print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n"
                      .format(test_loss, correct, len(loader.dataset), 100. * correct / len(loader.dataset)))

        for epoch in range(1, 3):
            train(epoch)
            test()
        with torch.no_grad():
            data = x_all[:2]
            transformed = model.stn(data).cpu()
            print(transformed.shape, f"{(transformed - data).abs().max():.6f}")
        theta = torch.tensor([[[0.8, -0.2, 0.1], [0.2, 0.9, -0.1]]], requires_grad=True)
        img = torch.arange(16.).view(1, 1, 4, 4)
        for align in (False, True):
            grid = F.affine_grid(theta, (1, 1, 3, 3), align_corners=align)
            out = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=align)
            print(grid[0, 0], out)
        out.sum().backward()
        print(theta.grad)
        print(F.grid_sample(img, grid.detach(), mode="nearest", padding_mode="border", align_corners=True))
        print(F.grid_sample(img, grid.detach(), mode="bicubic", padding_mode="reflection", align_corners=False))
        put("t20_stn.grad", theta.grad)


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
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def section_style() -> None:
    torch.manual_seed(6)
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), nn.Conv2d(8, 12, 3, padding=1),
        nn.ReLU(inplace=True), nn.Conv2d(12, 12, 3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(2, 2), nn.Conv2d(12, 12, 3, padding=1), nn.ReLU(inplace=True)).eval()
    style_img = torch.rand(1, 3, 16, 16)
    content_img = torch.rand(1, 3, 16, 16)
    with printed("t20_style.log"):
        cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
        cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])
        content_layers_default = ["conv_4"]
        style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]
        print(gram_matrix(style_img[:, :2]), style_img.size() == content_img.size())

        def get_style_model_and_losses(cnn, normalization_mean, normalization_std, style_img, content_img,
                                       content_layers=content_layers_default, style_layers=style_layers_default):
            normalization = Normalization(normalization_mean, normalization_std)
            content_losses = []
            style_losses = []
            model = nn.Sequential(normalization)
            i = 0
            for layer in cnn.children():
                if isinstance(layer, nn.Conv2d):
                    i += 1
                    name = "conv_{}".format(i)
                elif isinstance(layer, nn.ReLU):
                    name = "relu_{}".format(i)
                    layer = nn.ReLU(inplace=False)
                elif isinstance(layer, nn.MaxPool2d):
                    name = "pool_{}".format(i)
                elif isinstance(layer, nn.BatchNorm2d):
                    name = "bn_{}".format(i)
                else:
                    raise RuntimeError("Unrecognized layer: {}".format(layer.__class__.__name__))
                model.add_module(name, layer)
                if name in content_layers:
                    target = model(content_img).detach()
                    content_loss = ContentLoss(target)
                    model.add_module("content_loss_{}".format(i), content_loss)
                    content_losses.append(content_loss)
                if name in style_layers:
                    target_feature = model(style_img).detach()
                    style_loss = StyleLoss(target_feature)
                    model.add_module("style_loss_{}".format(i), style_loss)
                    style_losses.append(style_loss)
            for i in range(len(model) - 1, -1, -1):
                if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                    break
            model = model[:(i + 1)]
            return model, style_losses, content_losses

        input_img = content_img.clone()

        def run_style_transfer(cnn, normalization_mean, normalization_std, content_img, style_img, input_img,
                               num_steps=12, style_weight=1000000, content_weight=1):
            print("Building the style transfer model..")
            model, style_losses, content_losses = get_style_model_and_losses(
                cnn, normalization_mean, normalization_std, style_img, content_img)
            input_img.requires_grad_(True)
            model.eval()
            model.requires_grad_(False)
            optimizer = optim.LBFGS([input_img])
            print("Optimizing..")
            run = [0]
            while run[0] <= num_steps:
                def closure():
                    with torch.no_grad():
                        input_img.clamp_(0, 1)
                    optimizer.zero_grad()
                    model(input_img)
                    style_score = 0
                    content_score = 0
                    for sl in style_losses:
                        style_score += sl.loss
                    for cl in content_losses:
                        content_score += cl.loss
                    style_score *= style_weight
                    content_score *= content_weight
                    loss = style_score + content_score
                    loss.backward()
                    run[0] += 1
                    if run[0] % 5 == 0:
                        print("run {}:".format(run))
                        print("Style Loss : {:4f} Content Loss: {:4f}".format(style_score.item(), content_score.item()))
                        print()
                    return style_score + content_score
                optimizer.step(closure)
            with torch.no_grad():
                input_img.clamp_(0, 1)
            return input_img, model

        output, model = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std,
                                           content_img, style_img, input_img)
        print(model)
        print(output.shape, output.requires_grad, f"{output.mean():.5f}")
        # features captured by forward hooks on the feature stack
        features = {}

        def get_features(name):
            def hook(module, inp, out):
                features[name] = out.detach()
            return hook

        handles = [cnn[i].register_forward_hook(get_features(f"layer{i}")) for i in (0, 5, 10)]
        cnn(content_img)
        print({k: tuple(v.shape) for k, v in features.items()}, f"{features['layer5'].sum():.4f}")
        for h in handles:
            h.remove()
        features.clear()
        cnn(content_img)
        print(features, len(cnn._forward_hooks), len(cnn[0]._forward_hooks))
        put("t20_style.out", output)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, 1)
        self.conv2 = nn.Conv2d(6, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def section_fgsm() -> None:
    torch.manual_seed(7)
    protos = torch.rand(4, 1, 8, 8)
    ys = torch.arange(40) % 4
    xs = (protos[ys] + 0.1 * torch.randn(40, 1, 8, 8)).clamp(0, 1)
    with printed("t20_fgsm.log"):
        epsilons = [0, .05, .1, .2, .3]
        model = LeNet()
        opt = optim.Adam(model.parameters(), lr=0.01)
        for _ in range(15):
            opt.zero_grad()
            F.nll_loss(model(xs), ys).backward()
            opt.step()
        model.eval()

        def fgsm_attack(image, epsilon, data_grad):
            sign_data_grad = data_grad.sign()
            perturbed_image = image + epsilon * sign_data_grad
            perturbed_image = torch.clamp(perturbed_image, 0, 1)
            return perturbed_image

        def denorm(batch, mean=[0.1307], std=[0.3081]):
            if isinstance(mean, list):
                mean = torch.tensor(mean)
            if isinstance(std, list):
                std = torch.tensor(std)
            return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)

        test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=1, shuffle=False)

        def test(model, test_loader, epsilon):
            correct = 0
            adv_examples = []
            for data, target in test_loader:
                data.requires_grad = True
                output = model(data)
                init_pred = output.max(1, keepdim=True)[1]
                if init_pred.item() != target.item():
                    continue
                loss = F.nll_loss(output, target)
                model.zero_grad()
                loss.backward()
                data_grad = data.grad.data
                data_denorm = denorm(data)
                perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
                perturbed_data_normalized = (perturbed_data - 0.1307) / 0.3081
                output = model(perturbed_data_normalized)
                final_pred = output.max(1, keepdim=True)[1]
                if final_pred.item() == target.item():
                    correct += 1
                    if epsilon == 0 and len(adv_examples) < 2:
                        adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                        adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
                else:
                    if len(adv_examples) < 2:
                        adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                        adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
            final_acc = correct / float(len(test_loader))
            print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc}")
            return final_acc, adv_examples

        accuracies = []
        examples = []
        for eps in epsilons:
            acc, ex = test(model, test_loader, eps)
            accuracies.append(acc)
            examples.append(ex)
        print(accuracies, [[(a, b, e.shape, e.dtype) for a, b, e in ex] for ex in examples])
        print(np.arange(0, .35, step=0.05))


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(4, 16)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


class TinyCartPole:
    """A deterministic cart-pole-like system: the pole falls unless pushed back."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        return self.state.copy(), {}

    def step(self, action):
        x, v, th, om = self.state
        force = 1.0 if action == 1 else -1.0
        om = om + 0.05 * (9.8 * math.sin(th) - force * math.cos(th))
        th = th + 0.05 * om
        v = v + 0.05 * force
        x = x + 0.05 * v
        self.state = np.array([x, v, th, om])
        done = abs(th) > 0.3 or abs(x) > 2.4
        return self.state.copy(), 1.0, done, False, {}


def section_reinforce() -> None:
    torch.manual_seed(543)
    with printed("t20_reinforce.log"):
        env = TinyCartPole(543)
        policy = Policy()
        optimizer = optim.Adam(policy.parameters(), lr=1e-2)
        eps = np.finfo(np.float32).eps.item()
        gamma = 0.99

        def select_action(state):
            state = torch.from_numpy(state).float().unsqueeze(0)
            probs = policy(state)
            m = Categorical(probs)
            action = m.sample()
            policy.saved_log_probs.append(m.log_prob(action))
            return action.item()

        def finish_episode():
            R = 0
            policy_loss = []
            returns = []
            for r in policy.rewards[::-1]:
                R = r + gamma * R
                returns.insert(0, R)
            returns = torch.tensor(returns)
            returns = (returns - returns.mean()) / (returns.std() + eps)
            for log_prob, R in zip(policy.saved_log_probs, returns):
                policy_loss.append(-log_prob * R)
            optimizer.zero_grad()
            policy_loss = torch.cat(policy_loss).sum()
            policy_loss.backward()
            optimizer.step()
            del policy.rewards[:]
            del policy.saved_log_probs[:]
            return policy_loss.item()

        running_reward = 10
        for i_episode in range(1, 9):
            state, _ = env.reset()
            ep_reward = 0
            for t in range(1, 60):
                action = select_action(state)
                state, reward, done, _, _ = env.step(action)
                policy.rewards.append(reward)
                ep_reward += reward
                if done:
                    break
            running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
            loss = finish_episode()
            if i_episode % 2 == 0:
                print("Episode {}\tLast reward: {:.2f}\tAverage reward: {:.2f}\tloss {:.5f}".format(
                    i_episode, ep_reward, running_reward, loss))
        m = Categorical(logits=torch.tensor([[0.5, -0.5], [0.0, 2.0]]))
        print(m, m.probs, m.entropy(), m.sample((3,)), m.log_prob(torch.tensor([1, 0])))
        put("t20_reinforce.w", policy.affine2.weight)


SECTIONS = {
    "t20_charrnn": section_char_rnn, "t20_seq2seq": section_seq2seq,
    "t20_tlm": section_transformer_lm, "t20_dcgan": section_dcgan, "t20_stn": section_stn,
    "t20_style": section_style, "t20_fgsm": section_fgsm, "t20_reinforce": section_reinforce,
}
