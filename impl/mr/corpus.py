"""A deterministic sample corpus, so the jobs, tests and benchmark need no download.

The labs use eight public-domain books. This makes eight text files of the same names with
synthetic English-like text: words drawn from a fixed vocabulary with Zipf-distributed
frequencies (a few very common words, a long tail of rare ones), in sentences with
capitals and punctuation. The file names matter: the early_exit app slows down the reduce of
keys holding "sherlock" or "tom", which are file names. The same seed and size give the same
bytes on every machine (only :class:`random.Random` with a fixed seed is used).
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

__all__ = ["BOOKS", "generate_corpus", "vocabulary"]

BOOKS = ("pg-being_ernest.txt", "pg-dorian_gray.txt", "pg-frankenstein.txt", "pg-grimm.txt",
         "pg-huckleberry_finn.txt", "pg-metamorphosis.txt", "pg-sherlock_holmes.txt",
         "pg-tom_sawyer.txt")

_COMMON = """the of and to a in that he was it his i with as had for you her not be is at
on but she by him my which all they have this from so said were me there one we no an or
would when what them their been out if could into then upon more some time very little man
about up who did now your any will only like see know before our well much should made
great down must over after old never over good may such even long other can how two think
being came these might first say again back through where house went yet own life under
eyes night away day without here once head those shall hand thought nothing upon left
still last face sir mind door room looked found heard father mother us tell young always
whom heart while just upon own same felt men people another seemed place course find
water light side far voice why thing lady boy girl dead death poor come each every""".split()

_ONSETS = ["b", "bl", "br", "c", "ch", "cl", "cr", "d", "dr", "f", "fl", "fr", "g", "gl", "gr",
           "h", "j", "k", "l", "m", "n", "p", "pl", "pr", "qu", "r", "s", "sc", "sh", "sl", "sm",
           "sn", "sp", "st", "str", "sw", "t", "th", "tr", "v", "w", "wh", "y", "z"]
_NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oa", "oo", "ou", "y"]
_CODAS = ["", "", "", "b", "ck", "d", "ft", "g", "l", "ld", "m", "n", "nd", "ng", "nt", "p",
          "r", "rd", "rn", "s", "sh", "st", "t", "th", "x"]


def vocabulary(size: int = 30_000, seed: int = 0) -> list[str]:
    """``size`` distinct words, most frequent first: common English words, then made-up ones
    (including "sherlock" and "tom", which the lab's texts are full of)."""
    rng = random.Random(f"faultlab-mr-vocabulary:{seed}")
    words = list(dict.fromkeys(_COMMON + ["sherlock", "holmes", "tom", "sawyer", "huck"]))
    seen = set(words)
    while len(words) < size:
        n = 1 + (rng.random() < 0.5) + (rng.random() < 0.1)
        w = "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS)
                    for _ in range(n))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words[:size]


def generate_corpus(
    directory: str | Path, mb: float = 4.0, *, seed: int = 0, files: int = len(BOOKS),
) -> list[Path]:
    """Write ``files`` text files totalling about ``mb`` megabytes; returns their paths.

    Files are written whole through a temporary name, so an interrupted run leaves no
    half-written file under a book's name."""
    if mb <= 0:
        raise ValueError("the corpus size must be positive")
    if not 1 <= files <= 1000:
        raise ValueError("the number of files must be between 1 and 1000")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary(seed=seed)
    cum = list(itertools.accumulate(1.0 / (r + 1) ** 1.07 for r in range(len(vocab))))
    names = list(BOOKS[:files]) + [f"pg-extra_{i}.txt" for i in range(len(BOOKS), files)]
    target = int(mb * 1_000_000 / files)
    paths = []
    for i, name in enumerate(names):
        rng = random.Random(f"faultlab-mr-corpus:{seed}:{i}")
        parts: list[str] = []
        size = 0
        while size < target:
            words = rng.choices(vocab, cum_weights=cum, k=4000)
            text = _sentences(words, rng)
            parts.append(text)
            size += len(text)
        data = "".join(parts)[:target]
        data = data[: data.rfind("\n") + 1] or data
        path = out / name
        tmp = out / f".{name}.tmp"
        tmp.write_text(data, encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths


def _sentences(words: list[str], rng: random.Random) -> str:
    """Lines of 6-14 words; sentences start with a capital and end with punctuation."""
    lines = []
    i = 0
    start = True
    while i < len(words):
        n = rng.randint(6, 14)
        line = words[i:i + n]
        i += n
        if start and line:
            line[0] = line[0].capitalize()
        start = rng.random() < 0.5
        if start and line:
            line[-1] += rng.choice(".....!?;")
        elif line and rng.random() < 0.3:
            line[-1] += ","
        lines.append(" ".join(line))
    return "\n".join(lines) + "\n"
