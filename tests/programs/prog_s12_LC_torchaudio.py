"""Probe program (LC, session 12): torchaudio's pure-Python side (functional, transforms,
compliance.kaldi, models) on torch tensors, seeded and small. Every number goes to an .npz.

Run as ``python prog_s12_LC_torchaudio.py OUT.npz [PARTS]`` with torchaudio on the path (it
lives in ``.venv/tv-extra``), on the real PyTorch or under ``python -m deltagrad run``
unchanged; ``test_s12_LC_torchaudio.py`` compares the two. PyPI's newest torchaudio (2.11) is
built for an older torch: its C++ extension loads under neither library, so both sides declare
it absent before the import (torchaudio then takes its Python loops, as it does on a build
without the extension).
"""
import sys
import types

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness

_extension = types.ModuleType("torchaudio._extension")
_extension._IS_TORCHAUDIO_EXT_AVAILABLE = False
_extension._IS_ALIGN_AVAILABLE = False


def _no_align(function):
    def fail(*args, **kwargs):
        raise RuntimeError("torchaudio's alignment extension is not available")
    return fail


_extension.fail_if_no_align = _no_align
sys.modules["torchaudio._extension"] = _extension


def train(model, inputs, loss_fn, prefix, steps=3, lr=1e-3):
    """A few Adam steps; the losses and the first parameter's gradient recorded."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(*inputs))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put(prefix + ".losses", np.array(losses))
    put(prefix + ".grad0", next(p for p in model.parameters() if p.grad is not None).grad)


@part("functional", "torchaudio")
def functional_part():
    import torchaudio.functional as F

    wav = torch.randn(2, 1600)
    window = torch.hann_window(256)
    spec = F.spectrogram(wav, pad=0, window=window, n_fft=256, hop_length=64, win_length=256,
                         power=2.0, normalized=False)
    put("functional.spectrogram", spec)
    fbanks = F.melscale_fbanks(129, f_min=0.0, f_max=4000.0, n_mels=20, sample_rate=8000,
                               norm="slaney", mel_scale="slaney")
    put("functional.fbanks", fbanks)
    put("functional.linear_fbanks", F.linear_fbanks(129, 0.0, 4000.0, 12, 8000))
    mel = torch.matmul(spec.transpose(-1, -2), fbanks).transpose(-1, -2)
    db = F.amplitude_to_DB(mel, multiplier=10.0, amin=1e-10, db_multiplier=0.0, top_db=80.0)
    put("functional.db", db)
    put("functional.db_back", F.DB_to_amplitude(db, ref=1.0, power=1.0))
    put("functional.dct", F.create_dct(13, 20, norm="ortho"))
    put("functional.deltas", F.compute_deltas(db, win_length=5))
    put("functional.resample", F.resample(wav, 8000, 6000))
    put("functional.resample_kaiser", F.resample(wav, 8000, 11025,
                                                 resampling_method="sinc_interp_kaiser"))
    a = torch.tensor([1.0, -0.6, 0.2])
    b = torch.tensor([0.4, 0.3, 0.1])
    put("functional.lfilter", F.lfilter(wav, a, b, clamp=False))
    put("functional.filtfilt", F.filtfilt(wav, a, b, clamp=False))
    for name in ("lowpass_biquad", "highpass_biquad", "bandpass_biquad", "allpass_biquad"):
        put(f"functional.{name}", getattr(F, name)(wav, 8000, 1000.0))
    put("functional.equalizer", F.equalizer_biquad(wav, 8000, 1000.0, gain=3.0))
    put("functional.mu_law", F.mu_law_encoding(wav.clamp(-1, 1), 256))
    put("functional.mu_law_back", F.mu_law_decoding(F.mu_law_encoding(wav.clamp(-1, 1), 256),
                                                    256))
    put("functional.gain", F.gain(wav, 3.0))
    put("functional.preemphasis", F.preemphasis(wav))
    put("functional.deemphasis", F.deemphasis(wav))
    put("functional.centroid", F.spectral_centroid(wav, 8000, 0, window, 256, 64, 256))
    put("functional.cmn", F.sliding_window_cmn(db.transpose(-1, -2), cmn_window=20))
    noise = torch.randn(2, 1600)
    put("functional.add_noise", F.add_noise(wav, noise, torch.tensor([10.0, 3.0])))
    kernel = torch.randn(2, 33)
    put("functional.convolve", F.convolve(wav, kernel))
    put("functional.fftconvolve", F.fftconvolve(wav, kernel, mode="same"))
    put("functional.pitch", F.detect_pitch_frequency(torch.sin(
        torch.arange(4000) * 2 * torch.pi * 220 / 8000).unsqueeze(0), 8000))
    put("functional.overdrive", F.overdrive(wav.clamp(-1, 1) * 0.5))
    put("functional.edit_distance", np.array(F.edit_distance([1, 2, 3, 4], [1, 3, 4, 5])))
    # Gradients: through resample and the convolutions; torchaudio's Python lfilter loop (the
    # one it takes without its extension) writes its output in place, which autograd must
    # refuse on both sides.
    signal = wav.clone().requires_grad_()
    coeffs = torch.tensor([0.4, 0.3, 0.1], requires_grad=True)
    taps = kernel.clone().requires_grad_()
    (F.resample(signal, 8000, 6000).pow(2).mean() + F.convolve(signal, taps).pow(2).mean()
     + F.fftconvolve(signal, taps).pow(3).mean()).backward()
    put("functional.grad.signal", signal.grad)
    put("functional.grad.taps", taps.grad)
    try:
        F.lfilter(signal, a, coeffs, clamp=False).sum().backward()
        put("functional.iir_grad", "no error")
    except RuntimeError as error:
        put("functional.iir_grad", "in-place" if "inplace" in str(error) else str(error))


@part("transforms", "torchaudio")
def transforms_part():
    import torchaudio.transforms as T

    wav = torch.randn(2, 1600)
    put("transforms.spectrogram", T.Spectrogram(n_fft=256, hop_length=64)(wav))
    mel = T.MelSpectrogram(sample_rate=8000, n_fft=256, hop_length=64, n_mels=24)
    put("transforms.mel", mel(wav))
    put("transforms.mfcc", T.MFCC(sample_rate=8000, n_mfcc=12, melkwargs={
        "n_fft": 256, "hop_length": 64, "n_mels": 24})(wav))
    put("transforms.lfcc", T.LFCC(sample_rate=8000, n_lfcc=12, speckwargs={
        "n_fft": 256, "hop_length": 64})(wav))
    put("transforms.db", T.AmplitudeToDB(top_db=60.0)(mel(wav)))
    put("transforms.resample", T.Resample(8000, 16000)(wav))
    put("transforms.vol", T.Vol(0.5)(wav))
    put("transforms.centroid", T.SpectralCentroid(8000, n_fft=256, hop_length=64)(wav))
    put("transforms.deltas", T.ComputeDeltas()(mel(wav).log()))
    complex_spec = T.Spectrogram(n_fft=256, hop_length=64, power=None)(wav)
    put("transforms.complex_spec", complex_spec)
    stretch = T.TimeStretch(hop_length=64, n_freq=129, fixed_rate=1.25)
    put("transforms.stretch", stretch(complex_spec).abs())
    put("transforms.inverse", T.InverseSpectrogram(n_fft=256, hop_length=64)(complex_spec,
                                                                            length=1600))
    torch.manual_seed(3)
    put("transforms.griffinlim", T.GriffinLim(n_fft=256, hop_length=64, n_iter=4,
                                              rand_init=False)(complex_spec.abs().pow(2)))
    torch.manual_seed(4)
    masked = T.TimeMasking(time_mask_param=5)(T.FrequencyMasking(freq_mask_param=8)(
        mel(wav)))
    put("transforms.masked", masked)
    torch.manual_seed(5)
    put("transforms.specaugment", T.SpecAugment(n_time_masks=2, time_mask_param=4,
                                                n_freq_masks=2, freq_mask_param=5)(mel(wav)))
    put("transforms.fade", T.Fade(fade_in_len=100, fade_out_len=200, fade_shape="logarithmic")(
        wav))
    put("transforms.mu_law", T.MuLawEncoding(64)(wav.clamp(-1, 1)))
    # A learnable front end: gradients through MelSpectrogram into the waveform.
    signal = wav.clone().requires_grad_()
    T.MFCC(sample_rate=8000, n_mfcc=12, melkwargs={"n_fft": 256, "hop_length": 64,
                                                   "n_mels": 24})(signal).pow(2).mean().backward()
    put("transforms.grad", signal.grad)


@part("kaldi", "torchaudio")
def kaldi_part():
    import torchaudio.compliance.kaldi as kaldi

    wav = torch.randn(1, 4000) * 0.1
    put("kaldi.fbank", kaldi.fbank(wav, num_mel_bins=23, sample_frequency=8000, dither=0.0))
    put("kaldi.mfcc", kaldi.mfcc(wav, num_ceps=13, num_mel_bins=23, sample_frequency=8000,
                                 dither=0.0))
    put("kaldi.spectrogram", kaldi.spectrogram(wav, sample_frequency=8000, dither=0.0))


@part("models", "torchaudio")
def models_part():
    from torchaudio import models

    # (not Wav2Letter: its fixed 250- and 2000-channel layers hold 20M parameters)
    speech = models.DeepSpeech(n_feature=16, n_hidden=32, n_class=5)
    features = torch.randn(2, 1, 12, 16)
    put("models.deepspeech", speech(features))
    targets = torch.randint(1, 5, (2, 3))

    def ctc(log_probs):
        log_probs = log_probs.transpose(0, 1)  # (time, batch, classes)
        lengths = torch.full((2,), log_probs.shape[0], dtype=torch.long)
        return torch.nn.functional.ctc_loss(log_probs, targets, lengths,
                                            torch.tensor([3, 2]))
    train(speech, (features,), ctc, "models.deepspeech.train")
    tasnet = models.ConvTasNet(num_sources=2, enc_kernel_size=8, enc_num_feats=16,
                               msk_kernel_size=3, msk_num_feats=8, msk_num_hidden_feats=16,
                               msk_num_layers=2, msk_num_stacks=1)
    mixture = torch.randn(2, 1, 400)
    put("models.convtasnet", tasnet(mixture))
    train(tasnet, (mixture,), lambda out: out.pow(2).mean(), "models.convtasnet.train")
    conformer = models.Conformer(input_dim=16, num_heads=2, ffn_dim=32, num_layers=2,
                                 depthwise_conv_kernel_size=5)
    features = torch.randn(2, 10, 16)
    lengths = torch.tensor([10, 7])
    conformer.eval()
    out, out_lengths = conformer(features, lengths)
    put("models.conformer", out)
    put("models.conformer.lengths", out_lengths)
    w2v = models.wav2vec2_model(
        extractor_mode="group_norm", extractor_conv_layer_config=[(8, 10, 5), (8, 3, 2)],
        extractor_conv_bias=False, encoder_embed_dim=16, encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=4, encoder_pos_conv_groups=2, encoder_num_layers=2,
        encoder_num_heads=2, encoder_attention_dropout=0.0, encoder_ff_interm_features=32,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=False,
        encoder_layer_drop=0.0, aux_num_out=5)
    w2v.eval()
    audio = torch.randn(2, 400)
    emissions, emission_lengths = w2v(audio, torch.tensor([400, 300]))
    put("models.wav2vec2", emissions)
    put("models.wav2vec2.lengths", emission_lengths)
    put("models.wav2vec2.features", w2v.extract_features(audio)[0][-1])
    w2v.train()
    train(w2v, (audio,), lambda out: out[0].logsumexp(-1).mean(), "models.wav2vec2.train")
    rnn = models.WaveRNN(upsample_scales=[2, 2], n_classes=16, hop_length=4, n_res_block=1,
                         n_rnn=16, n_fc=16, kernel_size=3, n_freq=8, n_hidden=8, n_output=8)
    specgram = torch.randn(2, 1, 8, 6)
    waveform = torch.randn(2, 1, (6 - 2) * 4)
    put("models.wavernn", rnn(waveform, specgram))


if __name__ == "__main__":
    main()
