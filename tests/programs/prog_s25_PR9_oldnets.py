"""Old-style whole networks (PR9, session 25), as 2017-2020 tutorials and repositories wrote
them and people still copy them: the LSTM part-of-speech tagger with a hidden tuple of
Variables, word_language_model (batchify / narrow / repackage_hidden, clip_grad_norm without
the underscore, ``p.data.add_(-lr, p.grad.data)``), the attention seq2seq tutorial (one token at
a time, ``topv, topi = out.data.topk(1)``, teacher forcing by random.random()), the 2017 VAE
(BCE with size_average=False, F.sigmoid, ``std.data.new(std.size()).normal_()``), DCGAN
(labels by FloatTensor(n).fill_, ``output.data.mean()``, the %-format log line), REINFORCE
with saved log-probs and a running reward, the 2017 DQN (ByteTensor masks, volatile
Variables, grads clamped through .data), the name-classification char-RNN (one-hot line
tensors, a manual cell, ``p.data.add_(p.grad.data, alpha=-lr)``), fine-tuning with frozen
parameters and the 2018 scheduler-before-optimizer order, a packed LSTM classifier over
sorted lengths. Tiny sizes, fixed seeds; run by prog_s25_PR9_all.py.
"""
# ruff: noqa: UP004, UP008, UP031, UP032 - the old-style code (super(Cls, self), %-formats, .format)
# is what these programs test

import random
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put, put_state
from torch.autograd import Variable
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def section_lstm_tagger() -> None:
    training_data = [("the dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
                     ("everybody read that book".split(), ["NN", "V", "DET", "NN"])]
    word_to_ix = {}
    for sent, _tags in training_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        tensor = torch.LongTensor(idxs)
        return Variable(tensor)

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super(LSTMTagger, self).__init__()
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)
            self.hidden = self.init_hidden()

        def init_hidden(self):
            return (Variable(torch.zeros(1, 1, self.hidden_dim)),
                    Variable(torch.zeros(1, 1, self.hidden_dim)))

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, self.hidden = self.lstm(embeds.view(len(sentence), 1, -1), self.hidden)
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            return F.log_softmax(tag_space, dim=1)

    torch.manual_seed(1)
    model = LSTMTagger(6, 6, len(word_to_ix), len(tag_to_ix))
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with printed("tagger.log"):
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        print(model(inputs))
        for epoch in range(30):
            total = 0.0
            for sentence, tags in training_data:
                model.zero_grad()
                model.hidden = model.init_hidden()
                sentence_in = prepare_sequence(sentence, word_to_ix)
                targets = prepare_sequence(tags, tag_to_ix)
                tag_scores = model(sentence_in)
                loss = loss_function(tag_scores, targets)
                loss.backward()
                optimizer.step()
                total += loss.data.item()
            if epoch % 10 == 9:
                print("epoch %d loss %.4f" % (epoch + 1, total))
        tag_scores = model(inputs)
        print(tag_scores.max(1)[1], tag_scores.data.numpy().argmax(1))
    put("tagger.scores", tag_scores)
    put_state("tagger.model", model)


def section_word_lm() -> None:
    class RNNModel(nn.Module):
        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.2):
            super(RNNModel, self).__init__()
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            self.decoder.weight = self.encoder.weight  # tied
            self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers
            initrange = 0.1
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.fill_(0)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output.view(output.size(0) * output.size(1), output.size(2)))
            return decoded.view(output.size(0), output.size(1), decoded.size(1)), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters()).data
            if self.rnn_type == "LSTM":
                return (Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()),
                        Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()))
            return Variable(weight.new(self.nlayers, bsz, self.nhid).zero_())

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    def get_batch(source, i, bptt=5):
        seq_len = min(bptt, len(source) - 1 - i)
        return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)

    torch.manual_seed(1111)
    corpus = torch.LongTensor([(i * 7 + i // 3) % 11 for i in range(130)])
    train_data = batchify(corpus, 4)
    criterion = nn.CrossEntropyLoss()
    results = {}
    with printed("wordlm.log"):
        for rnn_type in ("LSTM", "GRU"):
            model = RNNModel(rnn_type, 11, 8, 8, 2)
            lr = 5.0
            for epoch in range(1, 3):
                model.train()
                total_loss = 0
                hidden = model.init_hidden(4)
                for batch, i in enumerate(range(0, train_data.size(0) - 1, 5)):
                    data, targets = get_batch(train_data, i)
                    hidden = repackage_hidden(hidden)
                    model.zero_grad()
                    output, hidden = model(data, hidden)
                    loss = criterion(output.view(-1, 11), targets)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm(model.parameters(), 0.25)
                    for p in model.parameters():
                        p.data.add_(-lr, p.grad.data)
                    total_loss += loss.data
                    if batch % 3 == 2:
                        cur_loss = total_loss.item() / 3
                        print("| epoch {:3d} | {:5d}/{:5d} batches | lr {:02.2f} | loss {:5.2f} | "
                              "ppl {:8.2f}".format(epoch, batch, len(train_data) // 5, lr,
                                                   cur_loss, np.exp(cur_loss)))
                        total_loss = 0
                lr /= 4.0
            model.eval()
            with torch.no_grad():
                output, _ = model(train_data[:6], model.init_hidden(4))
            print(rnn_type, tuple(output.shape), type(hidden).__name__)
            results[rnn_type] = output
            put_state(f"wordlm.{rnn_type}", model)
    put("wordlm.out", [results["LSTM"], results["GRU"]])


def section_seq2seq() -> None:
    SOS, EOS, H, V = 0, 1, 8, 7

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size):
            super(EncoderRNN, self).__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size)

        def forward(self, input, hidden):
            embedded = self.embedding(input).view(1, 1, -1)
            return self.gru(embedded, hidden)

        def initHidden(self):
            return Variable(torch.zeros(1, 1, self.hidden_size))

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1, max_length=6):
            super(AttnDecoderRNN, self).__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attn = nn.Linear(hidden_size * 2, max_length)
            self.attn_combine = nn.Linear(hidden_size * 2, hidden_size)
            self.dropout = nn.Dropout(dropout_p)
            self.gru = nn.GRU(hidden_size, hidden_size)
            self.out = nn.Linear(hidden_size, output_size)

        def forward(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input).view(1, 1, -1))
            attn_weights = F.softmax(self.attn(torch.cat((embedded[0], hidden[0]), 1)), dim=1)
            attn_applied = torch.bmm(attn_weights.unsqueeze(0), encoder_outputs.unsqueeze(0))
            output = torch.cat((embedded[0], attn_applied[0]), 1)
            output = F.relu(self.attn_combine(output).unsqueeze(0))
            output, hidden = self.gru(output, hidden)
            return F.log_softmax(self.out(output[0]), dim=1), hidden, attn_weights

    torch.manual_seed(2)
    random.seed(2)
    encoder, decoder = EncoderRNN(V, H), AttnDecoderRNN(H, V)
    enc_opt = optim.SGD(encoder.parameters(), lr=0.05)
    dec_opt = optim.SGD(decoder.parameters(), lr=0.05)
    criterion = nn.NLLLoss()
    pairs = [([2, 3, 4, EOS], [4, 3, 2, EOS]), ([5, 6, EOS], [6, 5, EOS]),
             ([3, 3, 5, EOS], [5, 3, 3, EOS])]
    losses = []
    with printed("s2s.log"):
        print_loss_total = 0
        for it in range(1, 13):
            inp, tgt = pairs[(it - 1) % 3]
            input_variable = Variable(torch.LongTensor(inp).view(-1, 1))
            target_variable = Variable(torch.LongTensor(tgt).view(-1, 1))
            encoder_hidden = encoder.initHidden()
            enc_opt.zero_grad()
            dec_opt.zero_grad()
            encoder_outputs = Variable(torch.zeros(6, H))
            for ei in range(input_variable.size()[0]):
                encoder_output, encoder_hidden = encoder(input_variable[ei], encoder_hidden)
                encoder_outputs[ei] = encoder_output[0][0]
            decoder_input = Variable(torch.LongTensor([[SOS]]))
            decoder_hidden = encoder_hidden
            loss = 0
            use_teacher_forcing = random.random() < 0.5
            for di in range(target_variable.size()[0]):
                decoder_output, decoder_hidden, attn = decoder(decoder_input, decoder_hidden,
                                                               encoder_outputs)
                loss += criterion(decoder_output, target_variable[di])
                if use_teacher_forcing:
                    decoder_input = target_variable[di]
                else:
                    topv, topi = decoder_output.data.topk(1)
                    ni = topi[0][0]
                    decoder_input = Variable(torch.LongTensor([[ni]]))
                    if ni == EOS:
                        break
            loss.backward()
            enc_opt.step()
            dec_opt.step()
            value = loss.data.item() / target_variable.size()[0]
            losses.append(value)
            print_loss_total += value
            if it % 4 == 0:
                print("%d %d%% %.4f tf=%s" % (it, it / 12 * 100, print_loss_total / 4,
                                               use_teacher_forcing))
                print_loss_total = 0
        print(attn.data.shape, attn.sum().item() > 0.99, type(ni), ni)
    put("s2s.losses", losses)
    put("s2s.attn", attn)
    put_state("s2s.dec", decoder)


def section_vae_2017() -> None:
    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()
            self.fc1 = nn.Linear(16, 8)
            self.fc21 = nn.Linear(8, 2)
            self.fc22 = nn.Linear(8, 2)
            self.fc3 = nn.Linear(2, 8)
            self.fc4 = nn.Linear(8, 16)
            self.relu = nn.ReLU()
            self.sigmoid = nn.Sigmoid()

        def encode(self, x):
            h1 = self.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparametrize(self, mu, logvar):
            std = logvar.mul(0.5).exp_()
            eps = Variable(std.data.new(std.size()).normal_())
            return eps.mul(std).add_(mu)

        def decode(self, z):
            return F.sigmoid(self.fc4(self.relu(self.fc3(z))))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 16))
            return self.decode(self.reparametrize(mu, logvar)), mu, logvar

    reconstruction_function = nn.BCELoss(size_average=False)

    def loss_function(recon_x, x, mu, logvar):
        BCE = reconstruction_function(recon_x, x.view(-1, 16))
        KLD_element = mu.pow(2).add_(logvar.exp()).mul_(-1).add_(1).add_(logvar)
        KLD = torch.sum(KLD_element).mul_(-0.5)
        return BCE + KLD

    torch.manual_seed(3)
    data_all = (torch.rand(32, 1, 4, 4) > 0.6).float()
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    with printed("vae.log"):
        for epoch in range(1, 4):
            model.train()
            train_loss = 0
            for batch_idx in range(4):
                data = Variable(data_all[batch_idx * 8:(batch_idx + 1) * 8])
                optimizer.zero_grad()
                recon_batch, mu, logvar = model(data)
                loss = loss_function(recon_batch, data, mu, logvar)
                loss.backward()
                train_loss += loss.data.item()
                optimizer.step()
            losses.append(train_loss)
            print("====> Epoch: {} Average loss: {:.4f}".format(epoch, train_loss / 32))
        model.eval()
        sample = Variable(torch.randn(4, 2), volatile=True)
        sample = model.decode(sample).cpu()
        print(sample.data.view(4, 1, 4, 4).shape, F.tanh(torch.zeros(1)))
    put("vae.losses", losses)
    put("vae.sample", sample)
    put_state("vae.model", model)


def section_dcgan_2017() -> None:
    nz, ngf, ndf = 4, 4, 4
    netG = nn.Sequential(nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
                         nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
                         nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False), nn.Tanh())
    netD = nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(ndf, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            m.weight.data.normal_(0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            m.weight.data.normal_(1.0, 0.02)
            m.bias.data.fill_(0)

    torch.manual_seed(4)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    bs = 6
    input = torch.FloatTensor(bs, 1, 8, 8)
    noise = torch.FloatTensor(bs, nz, 1, 1)
    fixed_noise = torch.FloatTensor(bs, nz, 1, 1).normal_(0, 1)
    label = torch.FloatTensor(bs)
    real_label, fake_label = 1, 0
    fixed_noise = Variable(fixed_noise)
    optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_all = torch.rand(18, 1, 8, 8) * 2 - 1
    rows = []
    with printed("dcgan.log"):
        for epoch in range(2):
            for i in range(3):
                netD.zero_grad()
                real_cpu = real_all[i * bs:(i + 1) * bs]
                input.resize_as_(real_cpu).copy_(real_cpu)
                label.resize_(bs).fill_(real_label)
                inputv, labelv = Variable(input), Variable(label)
                output = netD(inputv).view(-1)
                errD_real = criterion(output, labelv)
                errD_real.backward()
                D_x = output.data.mean()
                noise.resize_(bs, nz, 1, 1).normal_(0, 1)
                fake = netG(Variable(noise))
                labelv = Variable(label.fill_(fake_label))
                output = netD(fake.detach()).view(-1)
                errD_fake = criterion(output, labelv)
                errD_fake.backward()
                D_G_z1 = output.data.mean()
                errD = errD_real + errD_fake
                optimizerD.step()
                netG.zero_grad()
                labelv = Variable(label.fill_(real_label))
                output = netD(fake).view(-1)
                errG = criterion(output, labelv)
                errG.backward()
                D_G_z2 = output.data.mean()
                optimizerG.step()
                print("[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f"
                      % (epoch, 2, i, 3, errD.data.item(), errG.data.item(), D_x, D_G_z1,
                         D_G_z2))
                rows.append([errD.item(), errG.item(), D_x.item()])
        fake = netG(fixed_noise)
        print(fake.data.shape, fake.data.min() >= -1)
    put("dcgan.rows", rows)
    put("dcgan.fake", fake)
    put_state("dcgan.G", netG)


def section_reinforce() -> None:
    class Policy(nn.Module):
        def __init__(self):
            super(Policy, self).__init__()
            self.affine1 = nn.Linear(4, 16)
            self.affine2 = nn.Linear(16, 2)
            self.saved_log_probs = []
            self.rewards = []

        def forward(self, x):
            return F.softmax(self.affine2(F.relu(self.affine1(x))), dim=1)

    torch.manual_seed(543)
    np.random.seed(543)
    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    gamma = 0.99

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = policy(Variable(state))
        m = torch.distributions.Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    running_reward = 10
    rows = []
    with printed("reinforce.log"):
        for i_episode in range(1, 7):
            state = np.random.randn(4)
            for _t in range(12):  # a toy environment: reward for matching the sign of x0
                action = select_action(state)
                reward = 1.0 if (state[0] > 0) == (action == 1) else 0.0
                policy.rewards.append(reward)
                state = np.random.randn(4)
            R = 0
            policy_loss = []
            rewards = []
            for r in policy.rewards[::-1]:
                R = r + gamma * R
                rewards.insert(0, R)
            rewards = torch.Tensor(rewards)
            rewards = (rewards - rewards.mean()) / (rewards.std() + eps)
            for log_prob, reward in zip(policy.saved_log_probs, rewards):
                policy_loss.append(-log_prob * reward)
            optimizer.zero_grad()
            policy_loss = torch.cat(policy_loss).sum()
            policy_loss.backward()
            optimizer.step()
            total = sum(policy.rewards)
            del policy.rewards[:]
            del policy.saved_log_probs[:]
            running_reward = running_reward * 0.99 + total * 0.01
            rows.append([policy_loss.item(), total, running_reward])
            print("Episode {}\tLast length: {:5d}\tAverage length: {:.2f}".format(
                i_episode, int(total), running_reward))
    put("reinforce.rows", rows)
    put_state("reinforce.policy", policy)


def section_dqn_2017() -> None:
    Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))

    class ReplayMemory(object):
        def __init__(self, capacity):
            self.capacity, self.memory, self.position = capacity, [], 0

        def push(self, *args):
            if len(self.memory) < self.capacity:
                self.memory.append(None)
            self.memory[self.position] = Transition(*args)
            self.position = (self.position + 1) % self.capacity

        def sample(self, batch_size):
            return random.sample(self.memory, batch_size)

        def __len__(self):
            return len(self.memory)

    torch.manual_seed(5)
    random.seed(5)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = optim.RMSprop(model.parameters(), lr=1e-2)
    memory = ReplayMemory(50)
    FloatTensor, LongTensor, ByteTensor = torch.FloatTensor, torch.LongTensor, torch.ByteTensor
    for k in range(40):
        state = FloatTensor([[k % 5 / 5.0, (k % 3) - 1.0, 0.5]])
        action = LongTensor([[k % 2]])
        next_state = None if k % 7 == 6 else FloatTensor([[(k + 1) % 5 / 5.0, 0.0, 0.5]])
        memory.push(state, action, next_state, FloatTensor([float(k % 2 == k % 5 % 2)]))
    losses = []
    with printed("dqn.log"):
        for step in range(8):
            transitions = memory.sample(8)
            batch = Transition(*zip(*transitions))
            non_final_mask = ByteTensor(tuple(map(lambda s: s is not None, batch.next_state)))
            non_final_next_states = Variable(torch.cat([s for s in batch.next_state
                                                        if s is not None]), volatile=True)
            state_batch = Variable(torch.cat(batch.state))
            action_batch = Variable(torch.cat(batch.action))
            reward_batch = Variable(torch.cat(batch.reward))
            state_action_values = model(state_batch).gather(1, action_batch)
            next_state_values = Variable(torch.zeros(8).type(FloatTensor))
            next_state_values[non_final_mask.bool()] = model(non_final_next_states).max(1)[0]
            next_state_values.volatile = False
            expected = (next_state_values.detach() * 0.9) + reward_batch
            loss = F.smooth_l1_loss(state_action_values, expected.unsqueeze(1))
            optimizer.zero_grad()
            loss.backward()
            for param in model.parameters():
                param.grad.data.clamp_(-1, 1)
            optimizer.step()
            losses.append(loss.item())
            print("step %d loss %.5f mask %s" % (step, loss.data.item(),
                                                 non_final_mask.tolist()))
        print(model(Variable(FloatTensor([[0.2, 0.0, 0.5]]), volatile=True)).data.max(1)[1]
              .view(1, 1))
    put("dqn.losses", losses)
    put_state("dqn.model", model)


def section_char_rnn_names() -> None:
    all_letters = "abcdefghijklmnopqrstuvwxyz"
    n_letters = len(all_letters)
    categories = ["en", "it"]
    data = {"en": ["smith", "brown", "taylor", "wilson"], "it": ["rossi", "russo", "ferrari",
                                                                   "bianchi"]}

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(input_size + hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            combined = torch.cat((input, hidden), 1)
            return self.softmax(self.i2o(combined)), self.i2h(combined)

        def initHidden(self):
            return Variable(torch.zeros(1, self.hidden_size))

    torch.manual_seed(6)
    random.seed(6)
    rnn = RNN(n_letters, 12, 2)
    criterion = nn.NLLLoss()
    learning_rate = 0.05
    losses = []
    with printed("names.log"):
        current_loss = 0
        for it in range(1, 41):
            category = random.choice(categories)
            line = random.choice(data[category])
            category_tensor = Variable(torch.LongTensor([categories.index(category)]))
            line_tensor = Variable(lineToTensor(line))
            hidden = rnn.initHidden()
            rnn.zero_grad()
            for i in range(line_tensor.size()[0]):
                output, hidden = rnn(line_tensor[i], hidden)
            loss = criterion(output, category_tensor)
            loss.backward()
            for p in rnn.parameters():
                p.data.add_(p.grad.data, alpha=-learning_rate)
            current_loss += loss.item()
            losses.append(loss.item())
            if it % 10 == 0:
                top_n, top_i = output.data.topk(1)
                guess = categories[top_i[0][0]]
                correct = "✓" if guess == category else "✗ (%s)" % category
                print("%d %d%% %.4f %s / %s %s" % (it, it / 40 * 100, current_loss / 10, line,
                                                   guess, correct))
                current_loss = 0
    put("names.losses", losses)
    put_state("names.rnn", rnn)


def section_finetune_2018() -> None:
    torch.manual_seed(8)
    backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = nn.Sequential(backbone, nn.Linear(4, 3))
    for param in backbone.parameters():
        param.requires_grad = False
    model[1] = nn.Linear(4, 2)
    optimizer = optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1,
                          momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    inputs_all = torch.randn(12, 3, 6, 6)
    labels_all = torch.LongTensor([0, 1] * 6)
    criterion = nn.CrossEntropyLoss()
    history = []
    with printed("finetune.log"):
        print(sum(p.numel() for p in model.parameters() if p.requires_grad),
              [p.requires_grad for p in model.parameters()])
        for epoch in range(3):
            print("Epoch {}/{}".format(epoch, 2))
            print("-" * 10)
            for phase in ["train", "val"]:
                if phase == "train":
                    scheduler.step()  # (2018's order: before the optimizer's steps)
                    model.train(True)
                else:
                    model.train(False)
                running_loss = 0.0
                running_corrects = 0
                for k in range(2):
                    inputs = Variable(inputs_all[k * 6:(k + 1) * 6])
                    labels = Variable(labels_all[k * 6:(k + 1) * 6])
                    optimizer.zero_grad()
                    outputs = model(inputs)
                    _, preds = torch.max(outputs.data, 1)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                    running_loss += loss.data.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                epoch_loss = running_loss / 12
                epoch_acc = running_corrects.double() / 12
                history.append([epoch_loss, epoch_acc.item()])
                print("{} Loss: {:.4f} Acc: {:.4f}".format(phase, epoch_loss, epoch_acc))
        print(scheduler.get_last_lr(), optimizer.param_groups[0]["lr"])
    put("finetune.history", history)
    put_state("finetune.model", model)


def section_packed_classifier() -> None:
    class Classifier(nn.Module):
        def __init__(self):
            super(Classifier, self).__init__()
            self.emb = nn.Embedding(10, 5, padding_idx=0)
            self.lstm = nn.LSTM(5, 6, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(12, 2)

        def forward(self, x, lengths, sort=True):
            if sort:  # the pre-1.1 way: sort by length, unsort after
                lengths, perm_idx = lengths.sort(0, descending=True)
                x = x[perm_idx]
            packed = pack_padded_sequence(self.emb(x), lengths.tolist(), batch_first=True,
                                          enforce_sorted=sort)
            out, (h, c) = self.lstm(packed)
            out, out_lengths = pad_packed_sequence(out, batch_first=True)
            feat = torch.cat([h[-2], h[-1]], 1)
            if sort:
                _, unperm = perm_idx.sort(0)
                feat, out = feat[unperm], out[unperm]
            return self.fc(feat), out.contiguous().view(-1, 12), out_lengths

    torch.manual_seed(9)
    model = Classifier()
    x = torch.LongTensor([[3, 4, 0, 0], [5, 6, 7, 8], [2, 0, 0, 0], [9, 1, 2, 0]])
    lengths = torch.LongTensor([2, 4, 1, 3])
    y = torch.LongTensor([0, 1, 0, 1])
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    with printed("packed.log"):
        for step in range(6):
            logits, flat, out_lengths = model(x, lengths, sort=step % 2 == 0)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward(retain_graph=True)
            losses.append(loss.item())
            optimizer.step()
            print("step {} loss {:.4f} lengths {}".format(step, loss.item(),
                                                            out_lengths.tolist()))
        a, _, _ = model(x, lengths, sort=True)
        b, _, _ = model(x, lengths, sort=False)
        print((a - b).abs().max().item() < 1e-6, flat.shape)
    put("packed.losses", losses)
    put("packed.flat", flat)
    put_state("packed.model", model)


SECTIONS = {
    "lstm_tagger": section_lstm_tagger, "word_lm": section_word_lm, "seq2seq": section_seq2seq,
    "vae_2017": section_vae_2017, "dcgan_2017": section_dcgan_2017,
    "reinforce": section_reinforce, "dqn_2017": section_dqn_2017,
    "char_rnn_names": section_char_rnn_names, "finetune_2018": section_finetune_2018,
    "packed_classifier": section_packed_classifier,
}

if __name__ == "__main__":
    from prog_s25_PR9_harness import run

    run(SECTIONS)
