#!/usr/bin/env python3
"""Synthesises Accord's default soundboard sounds into src/cdn/default_sounds/{id}.ogg.

Discord's default sounds (ids 1-6) are Discord's own recordings, which Accord cannot ship. The
CDN serves these synthesised stand-ins under the same ids and names instead, so a client that
plays a default sound gets audio rather than a 404. An operator replaces one by putting a file
at `<cdn dir>/soundboard-sounds/<id>`.

The audio is the same on every run (fixed seed); the files differ only in the Ogg stream's random
serial number. Needs numpy and soundfile (`pip install numpy soundfile`). Run it
from the repository root after changing a sound, and commit the .ogg files it writes.
"""
import pathlib

import numpy as np
import soundfile as sf

RATE = 24_000
rng = np.random.default_rng(2015)


def t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


def envelope(n: int, attack: float, release: float) -> np.ndarray:
    env = np.ones(n)
    a, r = int(attack * RATE), int(release * RATE)
    env[:a] = np.linspace(0, 1, a)
    env[n - r :] *= np.linspace(1, 0, r)
    return env


def saw(freq: np.ndarray) -> np.ndarray:
    phase = np.cumsum(freq) / RATE
    return 2 * (phase % 1.0) - 1


def lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    y = np.empty_like(x)
    acc = 0.0
    for i, v in enumerate(x):
        acc += alpha * (v - acc)
        y[i] = acc
    return y


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def quack() -> np.ndarray:
    def one() -> np.ndarray:
        tt = t(0.22)
        freq = 620 - 260 * tt / tt[-1]
        nasal = saw(freq) + 0.6 * saw(freq * 2.01)
        return lowpass(nasal, 0.35) * envelope(len(tt), 0.01, 0.08)

    return np.concatenate([one(), silence(0.08), one()])


def airhorn() -> np.ndarray:
    tt = t(1.3)
    wobble = 1 + 0.004 * np.sin(2 * np.pi * 6 * tt)
    chord = sum(saw(f * wobble * np.ones_like(tt)) for f in (466.2, 554.4, 622.3))
    return np.tanh(1.8 * lowpass(chord, 0.5)) * envelope(len(tt), 0.03, 0.15)


def cricket() -> np.ndarray:
    out = []
    for _ in range(3):
        tt = t(0.18)
        pulses = (np.sin(2 * np.pi * 32 * tt) > 0).astype(float)
        out += [np.sin(2 * np.pi * 4400 * tt) * pulses * envelope(len(tt), 0.01, 0.03), silence(0.25)]
    return np.concatenate(out)


def golf_clap() -> np.ndarray:
    out = []
    for gap in (0.55, 0.6, 0.5, 0.0):
        tt = t(0.12)
        burst = rng.standard_normal(len(tt)) * np.exp(-tt * 45)
        out += [burst - lowpass(burst, 0.08), silence(gap)]
    return np.concatenate(out)


def sad_horn() -> np.ndarray:
    out = []
    for freq, length in ((311.1, 0.35), (293.7, 0.35), (277.2, 0.35), (261.6, 1.1)):
        tt = t(length)
        vibrato = 1 + (0.012 * np.sin(2 * np.pi * 5.5 * tt) if length > 1 else 0)
        note = saw(freq * vibrato * np.ones_like(tt))
        out += [lowpass(note, 0.18) * envelope(len(tt), 0.04, 0.12), silence(0.05)]
    return np.concatenate(out)


def ba_dum_tss() -> np.ndarray:
    def drum(freq: float) -> np.ndarray:
        tt = t(0.25)
        sweep = freq * (1 + 1.5 * np.exp(-tt * 30))
        return np.sin(2 * np.pi * np.cumsum(sweep) / RATE) * np.exp(-tt * 14)

    tt = t(1.0)
    noise = rng.standard_normal(len(tt))
    cymbal = (noise - lowpass(noise, 0.6)) * np.exp(-tt * 4.5) * 0.7
    return np.concatenate([drum(180), silence(0.05), drum(130), silence(0.1), cymbal])


SOUNDS = {1: quack, 2: airhorn, 3: cricket, 4: golf_clap, 5: sad_horn, 6: ba_dum_tss}

if __name__ == "__main__":
    out = pathlib.Path("src/cdn/default_sounds")
    out.mkdir(parents=True, exist_ok=True)
    for sound_id, make in SOUNDS.items():
        audio = make()
        audio = 0.8 * audio / np.max(np.abs(audio))
        path = out / f"{sound_id}.ogg"
        sf.write(path, audio.astype(np.float32), RATE, format="OGG", subtype="VORBIS")
        print(f"{path}: {path.stat().st_size} bytes, {len(audio) / RATE:.2f} s")
