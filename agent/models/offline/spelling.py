"""Customer spelling, folded before the rules read it: abbreviations, then typos by fuzzy match.

Only words close to a word the rules know ("wether", "miamy", "tomorow") are corrected, by
rapidfuzz's normalized Indel similarity; common words and short words are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from agent.models.offline.facts import Facts

MIN_TYPO_LENGTH = 5
"""Shorter words are left alone: one wrong letter in four is too often another word."""
TYPO_SCORE = 85.0
"""Least similarity (0-100) for a correction: "wensday" -> "wednesday" scores 87.5."""
SAME_LENGTH_TYPO_SCORE = 80.0
"""Least similarity for one wrong letter in a word as long as the known one ("miamy" -> "miami")."""

# Words the rules look for, beside the directory's names, the lineup, weekdays and months.
_RULE_WORDS = """weather forecast temperature raining snowing sunny umbrella address directions
dealership dealerships showroom located location hours phone number tomorrow today tonight morning
afternoon evening available availability appointment appointments booking bookings reservation
reservations schedule reschedule cancel cancelled instead change switch slots openings
catalogue catalog models lineup drive please thanks thank weekend""".split()
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = """january february march april june july august september october november
december""".split()

# Words that are a correct spelling of something else close to a rule word: never corrected.
_KEEP = frozenset(
    """whether where there these those three other about above after again which while white
    store stores month months mother money sunday monday today total hello house hours yours
    drove drive driver driving cause close closer closest closed models model mode modern could
    would should shall small smaller start state states still stock sorry something swing
    swinging bring thing things showing saying seeing sitting stopping""".split()
)

# Abbreviations and shorthand as customers type them, by whole word.
ABBREVIATIONS: dict[str, str] = {
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "tmw": "tomorrow",
    "2morrow": "tomorrow",
    "2moro": "tomorrow",
    "tomoz": "tomorrow",
    "appt": "appointment",
    "appts": "appointments",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "ty": "thanks",
    "tues": "tuesday",
    "weds": "wednesday",
    "thur": "thursday",
    "thurs": "thursday",
    "wknd": "weekend",
    "addr": "address",
    "u": "you",
    "r": "are",
    "ur": "your",
}


@lru_cache(maxsize=8)
def _vocabulary(names: tuple[str, ...]) -> tuple[str, ...]:
    words = {*_RULE_WORDS, *_WEEKDAYS, *_MONTHS}
    for name in names:
        words.update(re.findall(r"[a-z]+", name.lower()))
    return tuple(sorted(w for w in words if len(w) >= MIN_TYPO_LENGTH))


def vocabulary(facts: Facts) -> tuple[str, ...]:
    """The words typos are corrected to: rule words and the directory's and lineup's names."""
    names: list[str] = [*facts.car_models]
    for d in facts.dealerships:
        names.extend([d.city, d.name, d.state_name, *d.aliases])
    return _vocabulary(tuple(names))


def correct_word(word: str, known: Iterable[str]) -> str:
    """The known word a typo stands for, or the word itself.

    Args:
        word: One lowercase word.
        known: The vocabulary.

    Returns:
        The closest known word with the same first letter scoring at least `TYPO_SCORE`.
    """
    if len(word) < MIN_TYPO_LENGTH or word in _KEEP or not word.isalpha():
        return word
    candidates = [k for k in known if k[0] == word[0]]
    if word in candidates:
        return word
    best = process.extractOne(
        word, candidates, scorer=fuzz.ratio, score_cutoff=SAME_LENGTH_TYPO_SCORE
    )
    if best is None or word.startswith(str(best[0])):  # "supercargt" is a name plus more
        return word
    known_word, score = str(best[0]), float(best[1])
    if score < TYPO_SCORE and Levenshtein.distance(word, known_word) > 1:  # "chance", "cancel"
        return word
    return known_word


def fix_spelling(text: str, facts: Facts) -> str:
    """Expands abbreviations and corrects typos in lowercase text, keeping everything else.

    Args:
        text: Lowercase customer text.
        facts: The directory and lineup whose names are known words.

    Returns:
        The text with each corrected word replaced in place.
    """
    known = vocabulary(facts)

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        return ABBREVIATIONS.get(word) or correct_word(word, known)

    return re.sub(r"[a-z0-9]+", replace, text)
