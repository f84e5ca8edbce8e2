"""Topics and sentiment of one verbatim, from lexicons shipped with Parallax: no model, no
download, every decision traceable to a line of ``parallax/insights/lexicon/<language>.toml``.

1. **Language**: each language scores one point per stop word of its lexicon found in the
   text, half a point per word its topic or sentiment lexicon knows, and two when a letter
   only it uses appears (ä ö ü ß: German; ñ ¿ ¡ á í ó ú: Spanish; è ê ç à œ …: French). The
   highest score wins; nothing, or a tie, is ``und`` (undetermined, e.g. "ok") and the text is
   read with every lexicon.
2. **Cues**: the text is cut into words and punctuation; at each word the longest lexicon entry
   that matches (phrases before words; ``slow*`` matches any ending) is taken.
3. **Negation**: a cue is negated when a negator (not, nicht, pas, no, any word ending in n't,
   …) stands within the three words before it, with no punctuation or "but" between. A negated
   complaint is praise ("not slow", "nicht langsam"), a negated praise a complaint ("not fast
   enough"); a negated valence counts −0.75 times (VADER's rule).
4. **Sentiment**: the sum of the cues' valences (×1.5 after an intensifier: very, sehr, très,
   muy, …); at least +0.5 is positive, at most −0.5 negative, else neutral. In a negative
   verbatim every topic named and not praised counts as complained about ("payment failed,
   very annoying": payment and errors).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["LANGUAGES", "TOPICS", "Analysis", "Lexicon", "analyse", "detect_language",
           "lexicons"]

LANGUAGES = ("en", "de", "fr", "es")
TOPICS = ("slowness", "errors", "payment", "price", "usability", "delivery", "stock",
          "support", "account")
UNDETERMINED = "und"
NEGATED_VALENCE = -0.75
INTENSIFIED = 1.5
WINDOW = 3
_LETTERS = {"de": "äöüß", "es": "ñ¿¡áíóú", "fr": "èêçàœëîôù"}
_TOKEN = re.compile(r"[\w'-]+|[.,;:!?()\"]")
_ENTRY = re.compile(r"[\w'-]+\*?")  # lexicon entries keep their trailing *


@dataclass(frozen=True)
class Cue:
    words: tuple[str, ...]  # a trailing * on a word: any ending
    topics: tuple[tuple[str, str], ...]  # (topic, term | complaint | praise)
    valence: float


@dataclass(frozen=True)
class Lexicon:
    language: str
    stopwords: frozenset[str]
    negators: frozenset[str]
    intensifiers: frozenset[str]
    breaks: frozenset[str]
    cues: dict[str, tuple[Cue, ...]]  # by first word's stem, longest first


@dataclass(frozen=True)
class Analysis:
    language: str  # en | de | fr | es | und
    sentiment: float
    label: str  # positive | neutral | negative
    topics: tuple[str, ...]  # every topic named, in TOPICS order
    complaints: tuple[str, ...]  # topics complained about
    praise: tuple[str, ...]  # topics praised (and not complained about)

    def complains_of(self, *topics: str) -> bool:
        return any(t in self.complaints for t in topics)


def tokens(text: str, pattern: re.Pattern[str] = _TOKEN) -> list[str]:
    return pattern.findall(text.lower().replace("’", "'").replace("`", "'"))


@cache
def lexicons() -> dict[str, Lexicon]:
    folder = resources.files("parallax.insights").joinpath("lexicon")
    return {lang: _compile(tomllib.loads(folder.joinpath(f"{lang}.toml").read_text("utf-8")))
            for lang in LANGUAGES}


def _compile(data: dict) -> Lexicon:
    entries: dict[tuple[str, ...], tuple[list, float | None]] = {}

    def entry(phrase: str) -> tuple[list, float | None]:
        return entries.setdefault(tuple(tokens(phrase, _ENTRY)), ([], None))

    for topic, kinds in data.get("topics", {}).items():
        for kind in ("terms", "complaints", "praise"):
            for phrase in kinds.get(kind, []):
                entry(phrase)[0].append((topic, kind[:-1] if kind != "praise" else kind))
    for phrase, valence in data.get("sentiment", {}).items():
        key = tuple(tokens(phrase, _ENTRY))
        entries[key] = (entries.get(key, ([], None))[0], float(valence))
    by_first: dict[str, list[Cue]] = {}
    for words, (topics, valence) in entries.items():
        kinds = {k for _, k in topics}
        # A complaint cue without a valence of its own reads as mildly negative, praise as
        # mildly positive: "slow" needs no second entry under [sentiment].
        v = valence if valence is not None else (
            -1.0 if "complaint" in kinds else 1.0 if "praise" in kinds else 0.0)
        cue = Cue(words, tuple(dict.fromkeys(topics)), v)
        by_first.setdefault(words[0].rstrip("*")[:3], []).append(cue)
    cues = {k: tuple(sorted(v, key=lambda c: -len(c.words))) for k, v in by_first.items()}
    return Lexicon(data["language"], frozenset(data.get("stopwords", [])),
                   frozenset(data.get("negators", [])), frozenset(data.get("intensifiers", [])),
                   frozenset(data.get("clause_breaks", [])), cues)


def detect_language(text: str, lexica: dict[str, Lexicon] | None = None) -> str:
    lexica = lexica or lexicons()
    words = tokens(text)
    scores = {lang: sum(w in lx.stopwords for w in words)
              + 2 * any(ch in text.lower() for ch in _LETTERS.get(lang, ""))
              + 0.5 * sum(_find([lx], words, i) is not None
                          for i in range(len(words)) if words[i][0].isalnum())
              for lang, lx in lexica.items()}
    best = max(scores.values(), default=0)
    winners = [lang for lang, s in scores.items() if s == best]
    return winners[0] if best > 0 and len(winners) == 1 else UNDETERMINED


def _matches(pattern: tuple[str, ...], words: list[str], i: int) -> bool:
    if i + len(pattern) > len(words):
        return False
    for p, w in zip(pattern, words[i:i + len(pattern)], strict=False):
        if not (w.startswith(p[:-1]) if p.endswith("*") else w == p):
            return False
    return True


def _find(lexica: Iterable[Lexicon], words: list[str], i: int) -> Cue | None:
    best: Cue | None = None
    for lx in lexica:
        for cue in lx.cues.get(words[i][:3], ()):
            if (best is None or len(cue.words) > len(best.words)) and _matches(
                    cue.words, words, i):
                best = cue
                break  # longest first within a lexicon
    return best


def _negated(words: list[str], i: int, lexica: list[Lexicon]) -> bool:
    for w in reversed(words[max(0, i - WINDOW):i]):
        if not w[0].isalnum() or any(w in lx.breaks for lx in lexica):
            return False
        if w.endswith("n't") or any(w in lx.negators for lx in lexica):
            return True
    return False


def analyse(text: str, language: str | None = None) -> Analysis:
    """Topics and sentiment of one verbatim (``language`` None: detected)."""
    all_lexica = lexicons()
    lang = language or detect_language(text, all_lexica)
    lexica = [all_lexica[lang]] if lang in all_lexica else list(all_lexica.values())
    words = tokens(text)
    named: set[str] = set()
    complained: set[str] = set()
    praised: set[str] = set()
    score, i = 0.0, 0
    while i < len(words):
        cue = _find(lexica, words, i) if words[i][0].isalnum() else None
        if cue is None:
            i += 1
            continue
        # A cue that starts with a negator carries its negation ("pas cher", "no stock").
        negated = not any(cue.words[0] in lx.negators for lx in lexica) and _negated(
            words, i, lexica)
        boost = INTENSIFIED if i and any(words[i - 1] in lx.intensifiers for lx in lexica) else 1
        score += cue.valence * boost * (NEGATED_VALENCE if negated else 1.0)
        for topic, kind in cue.topics:
            named.add(topic)
            if kind == "complaint":
                (praised if negated else complained).add(topic)
            elif kind == "praise":
                (complained if negated else praised).add(topic)
        i += len(cue.words)
    label = "positive" if score >= 0.5 else "negative" if score <= -0.5 else "neutral"
    if label == "negative":  # "payment failed, very annoying": a complaint about payment too
        complained |= named - praised
    order = lambda s: tuple(t for t in TOPICS if t in s) + tuple(sorted(s - set(TOPICS)))  # noqa: E731
    return Analysis(lang, round(score, 3), label, order(named), order(complained),
                    order(praised - complained))
