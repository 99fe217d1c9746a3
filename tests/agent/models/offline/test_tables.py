"""The offline model's tables, row by row.

Each phrasing reads as its cue, each small-talk row answers its example, each abbreviation and
typo folds to the word the rules know.
"""

from __future__ import annotations

import re

import pytest

from agent.models.offline.facts import read_facts
from agent.models.offline.intents import CUE_TABLE, Cue, Phrase, cues_in
from agent.models.offline.parsing import Slots, read_text
from agent.models.offline.questions import SMALL_TALK, SmallTalk, small_talk
from agent.models.offline.spelling import ABBREVIATIONS, fix_spelling
from tools.domain.directory import DEALERSHIPS

FACTS = read_facts(DEALERSHIPS, now=None, timezone="America/New_York")
CUE_ROWS = [(cue, row) for cue, rows in CUE_TABLE.items() for row in rows]


@pytest.mark.parametrize(("cue", "row"), CUE_ROWS, ids=[r.example for _, r in CUE_ROWS])
def test_each_phrasing_reads_as_its_cue(cue: Cue, row: Phrase) -> None:
    text = read_text(row.example, FACTS)
    assert re.search(row.pattern, text), f"{row.pattern!r} does not match {text!r}"
    assert cue in cues_in(text)


@pytest.mark.parametrize("row", SMALL_TALK, ids=[r.example for r in SMALL_TALK])
def test_each_small_talk_row_answers_its_example(row: SmallTalk) -> None:
    answer = small_talk(read_text(row.example, FACTS), Slots(), FACTS)
    assert answer == row.reply(Slots(), FACTS)
    assert "$" not in answer and answer.strip()


@pytest.mark.parametrize(("short", "word"), sorted(ABBREVIATIONS.items()))
def test_each_abbreviation_expands(short: str, word: str) -> None:
    assert fix_spelling(f"see you {short}", FACTS) == f"see you {word}"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("wether in miamy", "weather in miami"),
        ("addres of the dallas dealrship", "address of the dallas dealership"),
        ("tomorow", "tomorrow"),
        ("seatle on thrusday", "seattle on thursday"),
        ("los angelos", "los angeles"),
        ("san fransisco on wensday", "san francisco on wednesday"),
        ("the roadstr", "the roadster"),
    ],
)
def test_typos_fold_to_the_known_word(typed: str, meant: str) -> None:
    assert fix_spelling(typed, FACTS) == meant


@pytest.mark.parametrize(
    "text",
    ["whether it works", "yours truly", "could i swing by", "supercargt", "the volt", "any chance"],
)
def test_real_words_and_names_are_left_alone(text: str) -> None:
    assert fix_spelling(text, FACTS) == text
