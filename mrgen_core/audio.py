"""Per-frame audio features aligned to a motion's frame rate (co-speech gesture control).

Motion frame ``t`` covers the time ``[t / fps, (t + 1) / fps)``. The default extractor needs only numpy and scipy:
13 MFCCs (from a 26-band log-mel spectrum), log energy, pitch (F0 by YIN, 0 where unvoiced), a voiced flag and an
onset strength (see :func:`feature_names`). Audio is read with :mod:`scipy.io.wavfile` (int/float PCM, any channel
count, any sample rate), mixed to mono and resampled to 16 kHz. Optional: :func:`wavlm_features` from a local WavLM
checkpoint (needs the ``transformers`` package, which mrgen does not install).
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from .errors import ModelFileError, MotionFormatError, MrgenError
from .limits import MAX_AUDIO_SECONDS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, input_file

#: Sample rate every feature is computed at.
SAMPLE_RATE = 16000
N_MELS = 26
N_MFCC = 13
N_FFT = 512
WIN_LENGTH = 400  # 25 ms analysis window for the spectrum
MAX_HOP = 160  # 10 ms between analysis frames (smaller when the motion frame rate needs it)
F0_MIN, F0_MAX = 60.0, 500.0
YIN_WINDOW = 512  # 32 ms integration window for the pitch tracker
YIN_THRESHOLD = 0.25  # speech (espeak-ng) needs more than the paper's 0.1; noise stays well above
_LOG_FLOOR = 1e-10
_BLOCK = 3000  # analysis frames processed at a time (30 s of audio at the 10 ms hop)


def feature_names() -> list[str]:
    """Names of the channels :func:`audio_features` returns, in order.

    ``mfcc_0``..``mfcc_12``: MFCCs of the frame's mean mel power (``mfcc_0`` tracks loudness); ``log_energy``: natural
    log of the mean squared sample over exactly the frame's time span (-23 for silence); ``f0_hz``: pitch in Hz, 0 where
    unvoiced; ``voiced``: 1 where most of the frame is voiced; ``onset``: positive log-mel flux (rises at syllable and
    word onsets).
    """
    return [f"mfcc_{i}" for i in range(N_MFCC)] + ["log_energy", "f0_hz", "voiced", "onset"]


def load_wav(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read a WAV file as mono float32 in [-1, 1] at ``sample_rate``.

    Raises :class:`MotionFormatError` naming the file when it is missing, not a WAV audio file, or holds no samples.
    """
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    path = os.fspath(input_file(path, "audio", missing="audio file not found"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown chunks (LIST, cue) are fine
            sr, data = wavfile.read(path, mmap=True)  # the header only: samples are read once checked
    except Exception as exc:  # scipy raises ValueError, EOFError, struct.error, ... on bad files
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise MotionFormatError(f"not a WAV audio file ({reason})", path) from None
    if data.size == 0 or data.shape[0] == 0:
        raise MotionFormatError("not a WAV audio file with sound: it holds no audio samples", path)
    sr = int(sr)
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise MotionFormatError(f"sample rate {sr} Hz; mrgen reads {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz", path)
    if data.shape[0] / sr > MAX_AUDIO_SECONDS:
        raise MotionFormatError(f"{data.shape[0] / sr:.0f} s of audio; the limit is {MAX_AUDIO_SECONDS:g} s", path)
    data = np.array(data)  # read the samples (and let go of the memory map)
    if data.dtype == np.uint8:
        x = (data.astype(np.float64) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        x = data.astype(np.float64) / float(-np.iinfo(data.dtype).min)
    elif np.issubdtype(data.dtype, np.floating):
        x = data.astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise MotionFormatError("not a usable WAV audio file: samples contain NaN or infinite values", path)
    else:
        raise MotionFormatError(f"not a WAV audio file (unsupported sample type {data.dtype})", path)
    if x.ndim > 1:
        x = x.mean(axis=tuple(range(1, x.ndim)))
    if sr != sample_rate:
        g = math.gcd(sr, int(sample_rate))
        x = resample_poly(x, int(sample_rate) // g, sr // g)
    return x.astype(np.float32)


def _num_frames(num_samples: int, sample_rate: int, fps: float) -> int:
    return max(1, int(math.ceil(num_samples * fps / sample_rate - 1e-9)))


def _check_fps(fps: float, path: str) -> float:
    fps = float(fps)
    if not (math.isfinite(fps) and 0 < fps <= SAMPLE_RATE / 8):
        raise MrgenError(f"fps must be a positive number up to {SAMPLE_RATE // 8}, got {fps}", path)
    return fps


def _mel_filterbank(n_mels: int, n_fft: int, sr: int, fmin: float = 20.0, fmax: float | None = None) -> np.ndarray:
    """Triangular HTK-mel filters (n_mels, n_fft // 2 + 1), area-normalised (Slaney)."""
    fmax = sr / 2 if fmax is None else fmax
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lo) / (mid - lo)
    down = (hi - freqs) / (hi - mid)
    fb = np.clip(np.minimum(up, down), 0.0, None)
    return fb * (2.0 / (hi - lo))


def _frames(x: np.ndarray, centres: np.ndarray, length: int) -> np.ndarray:
    """Windows of ``length`` samples centred on ``centres`` (zero padding outside the signal): (K, length)."""
    half = length // 2
    pad_l = half
    pad_r = max(0, int(centres.max()) + length - half - len(x)) + 1
    xp = np.pad(x, (pad_l, pad_r))
    view = np.lib.stride_tricks.sliding_window_view(xp, length)
    return view[centres]  # centre c starts at c - half in x, i.e. c in xp


def _yin(frames: np.ndarray, sr: int, fmin: float, fmax: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """YIN pitch (de Cheveigne & Kawahara 2002) of each row of ``frames`` (K, W + max_lag): (f0 Hz, voiced bool)."""
    w = YIN_WINDOW
    tau_min = max(2, int(sr / fmax))
    tau_max = int(math.ceil(sr / fmin))
    n = frames.shape[1]
    nfft = 1 << int(math.ceil(math.log2(n + w)))
    fx = np.fft.rfft(frames, nfft)
    fw = np.fft.rfft(frames[:, :w], nfft)
    r = np.fft.irfft(np.conj(fw) * fx, nfft)[:, : tau_max + 2]  # r[tau] = sum_j x_j x_{j+tau}, j < w
    cs = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames.astype(np.float64) ** 2, axis=1)], axis=1)
    lags = np.arange(tau_max + 2)
    e_tau = cs[:, lags + w] - cs[:, lags]
    d = np.clip(e_tau[:, :1] + e_tau - 2.0 * r, 0.0, None)  # difference function
    d[:, 0] = 0.0
    csum = np.cumsum(d[:, 1:], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cmnd = np.ones_like(d)
        cmnd[:, 1:] = np.where(csum > 1e-12, d[:, 1:] * lags[1:] / csum, 1.0)
    seg = cmnd[:, tau_min: tau_max + 1]
    below = seg < threshold
    voiced = below.any(axis=1)
    first = np.argmax(below, axis=1)
    # walk downhill from the first dip under the threshold to its local minimum
    idx = np.arange(seg.shape[1])
    rising = np.concatenate([seg[:, 1:] >= seg[:, :-1], np.ones((len(seg), 1), bool)], axis=1)
    local = np.argmax(rising & (idx[None] >= first[:, None]), axis=1)
    tau = local + tau_min
    rows = np.arange(len(seg))
    a, b, c = cmnd[rows, tau - 1], cmnd[rows, tau], cmnd[rows, tau + 1]
    den = a - 2 * b + c
    shift = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(np.abs(den) > 1e-12, den, 1.0), 0.0)
    tau_f = tau + np.clip(shift, -1.0, 1.0)
    f0 = np.where(voiced, sr / tau_f, 0.0)
    return f0, voiced


def audio_features(wav_path: str | os.PathLike, fps: float, num_frames: int | None = None) -> np.ndarray:
    """Per-frame audio features ``(T, F)`` float32 of a WAV file, aligned to motion frames at ``fps``.

    ``T = ceil(duration * fps)``, or ``num_frames`` when given (the audio is cut or padded with silence).
    Channels: :func:`feature_names`. Raises :class:`MotionFormatError` when the file is not a WAV audio file.
    """
    from scipy.fft import dct

    path = os.fspath(wav_path)
    fps = _check_fps(fps, path)
    sr = SAMPLE_RATE
    x = load_wav(path, sr).astype(np.float64)
    t_frames = _num_frames(len(x), sr, fps) if num_frames is None else int(num_frames)
    if t_frames < 1:
        raise MrgenError(f"num_frames must be at least 1, got {num_frames}", path)
    bounds = np.rint(np.arange(t_frames + 1) * (sr / fps)).astype(np.int64)  # frame t: samples [b_t, b_t+1)
    total = int(bounds[-1])
    x = np.pad(x[:total], (0, max(0, total - len(x))))

    # log energy over exactly each frame's span
    cs = np.concatenate([[0.0], np.cumsum(x * x)])
    span = np.maximum(bounds[1:] - bounds[:-1], 1)
    log_energy = np.log((cs[bounds[1:]] - cs[bounds[:-1]]) / span + _LOG_FLOOR)

    # short-time analysis frames; every motion frame holds at least one analysis centre
    hop = max(1, min(MAX_HOP, int(sr // fps)))
    centres = np.arange(hop // 2, total, hop)
    owner = np.minimum(np.searchsorted(bounds, centres, side="right") - 1, t_frames - 1)
    counts = np.bincount(owner, minlength=t_frames).astype(np.float64)
    counts_safe = np.maximum(counts, 1.0)

    def per_frame(values: np.ndarray) -> np.ndarray:  # mean over each motion frame's analysis frames
        out = np.zeros((t_frames,) + values.shape[1:])
        np.add.at(out, owner, values)
        return out / counts_safe.reshape((-1,) + (1,) * (values.ndim - 1))

    # the analysis runs over blocks of analysis frames, so memory stays flat however long the audio is
    win = np.hanning(WIN_LENGTH + 2)[1:-1]
    fb = _mel_filterbank(N_MELS, N_FFT, sr).T
    max_lag = int(math.ceil(sr / F0_MIN)) + 2
    mel_rows, f0, voiced, rms = [], [], [], []
    for b in range(0, len(centres), _BLOCK):
        c = centres[b:b + _BLOCK]
        mel_rows.append((np.abs(np.fft.rfft(_frames(x, c, WIN_LENGTH) * win, N_FFT)) ** 2) @ fb)
        # pitch: YIN on analysis frames, gated by loudness, averaged over the voiced ones of each motion frame
        pframes = _frames(x, c, YIN_WINDOW + max_lag)
        f0_b, voiced_b = _yin(pframes, sr, F0_MIN, F0_MAX, YIN_THRESHOLD)
        f0.append(f0_b)
        voiced.append(voiced_b)
        rms.append(np.sqrt(np.mean(pframes[:, :YIN_WINDOW] ** 2, axis=1)))
    f0, voiced, rms = np.concatenate(f0), np.concatenate(voiced), np.concatenate(rms)
    mel_power = per_frame(np.concatenate(mel_rows))
    log_mel = np.log(mel_power + _LOG_FLOOR)
    mfcc = dct(log_mel, type=2, norm="ortho", axis=1)[:, :N_MFCC]
    onset = np.zeros(t_frames)
    onset[1:] = np.clip(np.diff(log_mel, axis=0), 0.0, None).mean(axis=1)

    voiced &= (rms > 1e-4) & (rms > 0.03 * (rms.max() if len(rms) else 0.0))
    n_voiced = per_frame(voiced.astype(np.float64)) * counts_safe
    f0_sum = per_frame(np.where(voiced, f0, 0.0)) * counts_safe
    is_voiced = n_voiced >= 0.5 * counts
    f0_frame = np.where(is_voiced & (n_voiced > 0), f0_sum / np.maximum(n_voiced, 1.0), 0.0)

    feats = np.concatenate([mfcc, log_energy[:, None], f0_frame[:, None],
                            (is_voiced & (n_voiced > 0)).astype(np.float64)[:, None], onset[:, None]], axis=1)
    return feats.astype(np.float32)


def normalize(features: np.ndarray, stats: dict | None = None) -> tuple[np.ndarray, dict]:
    """Standardise each channel: ``(features - mean) / std``; returns the result and ``{"mean", "std"}``.

    Pass the ``stats`` of the training audio to normalize new audio the same way.
    """
    features = np.asarray(features, dtype=np.float32)
    if stats is None:
        mean = features.mean(axis=0)
        std = features.std(axis=0)
        stats = {"mean": mean, "std": np.where(std > 1e-6, std, 1.0).astype(np.float32)}
    return ((features - stats["mean"]) / stats["std"]).astype(np.float32), stats


def wavlm_features(wav_path: str | os.PathLike, fps: float, checkpoint_dir: str | os.PathLike,
                   num_frames: int | None = None, layer: int = -1) -> np.ndarray:
    """WavLM hidden states ``(T, hidden)`` float32 from a local checkpoint folder, aligned to motion frames.

    ``checkpoint_dir`` is a Hugging Face ``WavLMModel`` folder (``config.json`` + weights) on disk; nothing is
    downloaded. Needs the optional ``transformers`` package (raises :class:`MrgenError` saying so when missing).
    """
    path = os.fspath(wav_path)
    fps = _check_fps(fps, path)
    x = load_wav(path, SAMPLE_RATE)
    try:
        from transformers import WavLMModel
        import torch
    except ImportError:
        raise MrgenError("WavLM features need the transformers package: pip install transformers") from None
    ckpt = os.fspath(checkpoint_dir)
    if not os.path.isfile(os.path.join(ckpt, "config.json")):
        raise ModelFileError("not a WavLM checkpoint folder (no config.json)", ckpt)
    try:
        model = WavLMModel.from_pretrained(ckpt, local_files_only=True)
    except Exception as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelFileError(f"cannot load the WavLM checkpoint ({reason})", ckpt) from None
    model.eval()
    t_frames = _num_frames(len(x), SAMPLE_RATE, fps) if num_frames is None else int(num_frames)
    xin = (x - x.mean()) / (x.std() + 1e-7)  # what WavLM's feature extractor does
    with torch.no_grad():
        out = model(torch.from_numpy(xin[None].astype(np.float32)), output_hidden_states=True)
    hidden = out.hidden_states[layer][0].numpy().astype(np.float64)  # (N, H) at ~50 Hz
    # WavLM frame k covers ~[k*hop, k*hop + 400) samples; sample each motion frame at its centre time
    hop = len(x) / max(len(hidden), 1)
    t_centre = (np.arange(t_frames) + 0.5) / fps * SAMPLE_RATE
    pos = np.clip(t_centre / hop - 0.5, 0, len(hidden) - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(hidden) - 1)
    w = (pos - i0)[:, None]
    return (hidden[i0] * (1 - w) + hidden[i1] * w).astype(np.float32)


def control_features(wav_path: str | os.PathLike, fps: float, num_frames: int | None = None,
                     wavlm: str | os.PathLike | None = None) -> tuple[np.ndarray, str]:
    """The per-frame audio control of a WAV file and its kind: WavLM hidden states (``"wavlm"``) when a local
    checkpoint folder is given, else the default MFCC, energy and pitch features (``"audio"``)."""
    if wavlm is not None:
        return wavlm_features(wav_path, fps, wavlm, num_frames=num_frames), "wavlm"
    return audio_features(wav_path, fps, num_frames=num_frames), "audio"
