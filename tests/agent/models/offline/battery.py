"""The battery: customer turns as customers write them, each with what a good salesperson does.

Each conversation is a list of turns of one kind; every turn is judged. Dates are written relative
to the harness's fixed Tuesday (`day(1)` is tomorrow), so nothing goes stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from tests.agent.models.offline.harness import NOW, TurnResult
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    GET_DEALERSHIP_ADDRESS,
    GET_WEATHER,
    LIST_DEALERSHIPS,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
)

TODAY = NOW.date()  # a Tuesday
ROADSTER = "SuperCar Roadster"
Check = Callable[[TurnResult], str | None]
"""Returns what is wrong with a turn, or None when it is right."""


def day(offset: int) -> str:
    """The ISO date `offset` days after the fixed today."""
    return (TODAY + timedelta(days=offset)).isoformat()


def weekday(name: str, weeks: int = 0) -> str:
    """The first such weekday after today (never today), plus whole weeks."""
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    offset = (names.index(name) - TODAY.weekday() - 1) % 7 + 1
    return day(offset + 7 * weeks)


def month_day(month: int, number: int) -> str:
    """The next such day on or after today."""
    year = TODAY.year if (month, number) >= (TODAY.month, TODAY.day) else TODAY.year + 1
    return f"{year:04d}-{month:02d}-{number:02d}"


def calls(name: str, **args: str) -> Check:
    """The turn calls `name` with at least these arguments."""

    def check(turn: TurnResult) -> str | None:
        made = turn.called(name)
        if any(all(a.get(k) == v for k, v in args.items()) for a in made):
            return None
        return f"expected {name}({args}), made {turn.calls}"

    return check


def no_call(*names: str) -> Check:
    """The turn calls none of these tools (any tool when none are named)."""

    def check(turn: TurnResult) -> str | None:
        made = [n for n, _ in turn.calls if not names or n in names]
        return f"expected no call to {names or 'any tool'}, made {made}" if made else None

    return check


def says(*phrases: str) -> Check:
    """The answer contains every phrase (case-insensitive)."""

    def check(turn: TurnResult) -> str | None:
        missing = [p for p in phrases if p.lower() not in turn.text.lower()]
        return f"answer lacks {missing}: {turn.text!r}" if missing else None

    return check


def either(*checks: Check) -> Check:
    """At least one of the checks passes."""

    def check(turn: TurnResult) -> str | None:
        problems = [c(turn) for c in checks]
        return None if any(p is None for p in problems) else " / ".join(filter(None, problems))

    return check


def books(dealership_id: str, date: str, time: str, model: str) -> list[Check]:
    """The turn books exactly that slot, after a check of that day unless one was just made."""
    args = {"dealership_id": dealership_id, "date": date, "time": time, "car_model": model}
    return [calls(SCHEDULE_APPOINTMENT, **args), no_call(CANCEL_APPOINTMENT), says("booked")]


def moves(**args: str) -> list[Check]:
    """The turn moves a booking in one call (naming the one it replaces), never cancelling apart."""

    def check(turn: TurnResult) -> str | None:
        made = turn.called(SCHEDULE_APPOINTMENT)
        if any(a.get("replaces") and all(a.get(k) == v for k, v in args.items()) for a in made):
            return None
        return f"expected a move {SCHEDULE_APPOINTMENT}({args}, replaces=...), made {turn.calls}"

    return [check, no_call(CANCEL_APPOINTMENT), says("moved")]


def checks(dealership_id: str, date: str) -> Check:
    return calls(CHECK_APPOINTMENT_AVAILABILITY, dealership_id=dealership_id, date=date)


def asks(*phrases: str) -> list[Check]:
    """No tool call; a question naming these things."""
    return [no_call(), says(*phrases, "?")]


@dataclass(frozen=True)
class Turn:
    text: str
    checks: list[Check]


@dataclass(frozen=True)
class Conversation:
    """Turns of one kind in one session; `before` are turns by other customers, not judged."""

    kind: str
    turns: list[Turn]
    before: list[tuple[str, str]] = field(default_factory=list)
    """(customer, message) said first in other sessions, e.g. to take a slot."""
    same_customer_as_before: bool = False


def T(text: str, *checks: Check | list[Check]) -> Turn:
    flat: list[Check] = []
    for item in checks:
        flat.extend(item if isinstance(item, list) else [item])
    return Turn(text, flat)


def one(kind: str, *turns: Turn) -> list[Conversation]:
    """Each turn in a fresh session."""
    return [Conversation(kind, [turn]) for turn in turns]


NAMES = "common names"
TYPOS = "typos and shorthand"
DATES = "dates and times"
QUESTIONS = "bookings asked as questions"
BOOKINGS = "my bookings: list, move, cancel"
SALES = "salesperson flow"
WEATHER = "weather and forecasts"
OFF_SCRIPT = "small talk and off-script"
SPANISH = "other languages"
FOLLOW_UPS = "follow-ups"

BATTERY: list[Conversation] = [
    *one(
        NAMES,
        T(
            "what's the address of the NYC store?",
            calls(GET_DEALERSHIP_ADDRESS, dealership_id="new-york"),
        ),
        T("weather in LA", calls(GET_WEATHER, city="Los Angeles")),
        T("is it sunny in SF today", calls(GET_WEATHER, city="San Francisco")),
        T(
            "where's the san fran dealership",
            calls(GET_DEALERSHIP_ADDRESS, dealership_id="san-francisco"),
        ),
        T("any showrooms in Texas?", calls(LIST_DEALERSHIPS, city="Texas")),
        T("free times at the chi town store tomorrow", checks("chicago", day(1))),
        T("directions to supercar dallas", calls(GET_DEALERSHIP_ADDRESS, dealership_id="dallas")),
        T(
            "phone number for the Denver location",
            calls(GET_DEALERSHIP_ADDRESS, dealership_id="denver"),
        ),
        T("do you have a dealership in California", calls(LIST_DEALERSHIPS, city="California")),
        T("Is there a store in Florida?", calls(LIST_DEALERSHIPS, city="Florida")),
        T(
            "address for the Manhattan showroom",
            calls(GET_DEALERSHIP_ADDRESS, dealership_id="new-york"),
        ),
        T("hours of the Seattle store", calls(GET_DEALERSHIP_ADDRESS, dealership_id="seattle")),
        T("weather in new york city", calls(GET_WEATHER, city="New York")),
        T("weather in Boston", calls(GET_WEATHER, city="Boston")),
        T("address of the Boston dealership", no_call(), says("Boston")),
        T(
            "is the L.A. dealership open on sunday",
            calls(GET_DEALERSHIP_ADDRESS, dealership_id="los-angeles"),
        ),
        T("SF availability on saturday", checks("san-francisco", weekday("saturday"))),
        T(
            "whats the weather like in dallas and denver",
            calls(GET_WEATHER, city="Dallas"),
            calls(GET_WEATHER, city="Denver"),
        ),
        T("where is the dfw dealership?", calls(GET_DEALERSHIP_ADDRESS, dealership_id="dallas")),
        T("free slots at the bay area store on friday", checks("san-francisco", weekday("friday"))),
    ),
    *one(
        TYPOS,
        T("wether in miamy", calls(GET_WEATHER, city="Miami")),
        T("addres of the dallas dealrship", calls(GET_DEALERSHIP_ADDRESS, dealership_id="dallas")),
        T("free slots in chicgo tomorow", checks("chicago", day(1))),
        T("is it rainning in seatle", calls(GET_WEATHER, city="Seattle")),
        T(
            "whats the adress of the los angelos store",
            calls(GET_DEALERSHIP_ADDRESS, dealership_id="los-angeles"),
        ),
        T("availabilty at denvr on friday", checks("denver", weekday("friday"))),
        T(
            "book the roadstr at dallas tmrw at 11am",
            books("dallas", day(1), "11:00", "SuperCar Roadster"),
        ),
        T(
            "can i test drive the volt in san fransisco on wensday at 2pm",
            checks("san-francisco", weekday("wednesday")),
            no_call(SCHEDULE_APPOINTMENT),
            says("free"),
        ),
        T("show me my apointments", calls(LIST_MY_APPOINTMENTS)),
        T("wats the wether in chicago", calls(GET_WEATHER, city="Chicago")),
        T("temprature in miami pls", calls(GET_WEATHER, city="Miami")),
        T("thnks", no_call(), says("welcome")),
        T("slots at the miami dealershp on thrusday", checks("miami", weekday("thursday"))),
        T(
            "appt at seattle tmrw for the GT at 3pm",
            books("seattle", day(1), "15:00", "SuperCar GT"),
        ),
    ),
    *one(
        DATES,
        T("free slots at miami on the 3rd", checks("miami", month_day(12, 3))),
        T("what's free at dallas on Wednesday the 9th", checks("dallas", month_day(12, 9))),
        T(
            "I'd like to book the GT in Miami on Dec 5 at 11am",
            books("miami", month_day(12, 5), "11:00", "SuperCar GT"),
        ),
        T(
            "book the volt at LA tomorrow at noon",
            books("los-angeles", day(1), "12:00", "SuperCar Volt"),
        ),
        T("any openings at the chicago dealership this afternoon?", checks("chicago", day(0))),
        T("slots in denver next friday", checks("denver", weekday("friday"))),
        T("what's free in miami the tuesday after next", checks("miami", weekday("tuesday", 1))),
        T("free times at miami the day after tomorrow", checks("miami", day(2))),
        T("availability at dallas in 3 days", checks("dallas", day(3))),
        T("any free slots in seattle this weekend", checks("seattle", weekday("saturday"))),
        T(
            "book the terra at new york on 12/4 at 3pm",
            books("new-york", month_day(12, 4), "15:00", "SuperCar Terra"),
        ),
        T("can I get a test drive at dallas on sat at 10", asks("model")),
        T("slots at SF on November 30th", checks("san-francisco", month_day(11, 30))),
        T(
            "book the apex in LA a week from today at 4pm",
            books("los-angeles", day(7), "16:00", "SuperCar Apex"),
        ),
        T("free slots at dallas on thurs", checks("dallas", weekday("thursday"))),
        T("free slots at miami for next tuesday", checks("miami", weekday("tuesday"))),
        T(
            "book the GT at chicago tomorrow at half past 2",
            checks("chicago", day(1)),
            no_call(SCHEDULE_APPOINTMENT),
            says("14:30", "14:00"),
        ),  # not on the hour grid
        T(
            "book the gt at denver on friday at 2:00 pm",
            books("denver", weekday("friday"), "14:00", "SuperCar GT"),
        ),
    ),
    Conversation(
        DATES,
        [
            T(
                "book me in for the roadster at LA on friday morning",
                checks("los-angeles", weekday("friday")),
                no_call(SCHEDULE_APPOINTMENT),
                says("in the morning", "10:30"),
            ),
            T("10:30 please", books("los-angeles", weekday("friday"), "10:30", ROADSTER)),
        ],
    ),
    *one(
        DATES,
        T(
            "free slots in miami tomorrow evening",
            checks("miami", day(1)),
            says("in the evening", "17:00 and 18:00"),
        ),
    ),
    *one(
        QUESTIONS,
        T(
            "can I come to Seattle on Monday at 3pm for the Terra",
            checks("seattle", weekday("monday")),
            no_call(SCHEDULE_APPOINTMENT),
            says("closed on Mondays", "15:00"),
        ),
        T(
            "could I swing by the dallas store friday at 2pm to drive the GT",
            checks("dallas", weekday("friday")),
            no_call(SCHEDULE_APPOINTMENT),
            says("14:00", "free"),
        ),
        T(
            "can I come in to denver on sunday at noon for the gt?",
            no_call(SCHEDULE_APPOINTMENT),
            says("closed on Sundays"),
        ),
        T(
            "could I try the roadster at SF on saturday around 4?",
            checks("san-francisco", weekday("saturday")),
            says("16:00"),
        ),
        T("can I swing by Miami tomorrow?", checks("miami", day(1))),
        T("when can I come to chicago on friday", checks("chicago", weekday("friday"))),
        T(
            "any chance I could see the apex in NYC on the 28th around 3",
            checks("new-york", month_day(11, 28)),
            no_call(SCHEDULE_APPOINTMENT),
            says("15:00"),
        ),
    ),
    Conversation(
        QUESTIONS,
        [
            T(
                "can I take the Volt out in Miami tomorrow at 10?",
                checks("miami", day(1)),
                no_call(SCHEDULE_APPOINTMENT),
                says("free", "Shall I book"),
            ),
            T("yes please", books("miami", day(1), "10:00", "SuperCar Volt")),
        ],
    ),
    Conversation(
        QUESTIONS,
        [
            T(
                "could I pop in to new york on friday at 11 for the apex?",
                checks("new-york", weekday("friday")),
                no_call(SCHEDULE_APPOINTMENT),
            ),
            T("great, book it", books("new-york", weekday("friday"), "11:00", "SuperCar Apex")),
        ],
    ),
    Conversation(
        BOOKINGS,
        [
            T(
                "book the GT at miami tomorrow at 10am",
                books("miami", day(1), "10:00", "SuperCar GT"),
            ),
            T(
                "what appointments do I have",
                calls(LIST_MY_APPOINTMENTS),
                says("SuperCar GT", "10:00"),
            ),
            T("actually make it 4pm instead", no_call(), says("16:00", "Shall I move it?")),
            T(
                "yes",
                moves(dealership_id="miami", date=day(1), time="16:00", car_model="SuperCar GT"),
            ),
            T("move it to Saturday", no_call(), says(weekday("saturday"), "Shall I move it?")),
            T("yep", moves(date=weekday("saturday"), time="16:00")),
            T("call it off", no_call(), says("Shall I cancel it?")),
            T("yes please", calls(CANCEL_APPOINTMENT), says("cancelled")),
            T(
                "do I have anything booked?",
                calls(LIST_MY_APPOINTMENTS),
                says("no test drives booked"),
            ),
        ],
    ),
    Conversation(
        BOOKINGS,
        [
            T(
                "cancel my test drive",
                calls(LIST_MY_APPOINTMENTS),
                no_call(CANCEL_APPOINTMENT),
                says("Shall I cancel it?"),
            ),
            T("yes", calls(CANCEL_APPOINTMENT), says("cancelled")),
        ],
        before=[("same", "book the terra at chicago on friday at 11am")],
        same_customer_as_before=True,
    ),
    Conversation(
        BOOKINGS,
        [
            T("I need to reschedule my test drive", calls(LIST_MY_APPOINTMENTS), says("Terra")),
            T("friday at 2pm", no_call(), says("Shall I move it?", "14:00")),
            T("sure", moves(time="14:00", date=weekday("friday"))),
            T("when is my test drive?", calls(LIST_MY_APPOINTMENTS), says("14:00")),
        ],
        before=[("same", "book the terra at dallas tomorrow at 9am")],
        same_customer_as_before=True,
    ),
    Conversation(
        BOOKINGS,
        [
            T(
                "i can't make it anymore, please cancel",
                calls(LIST_MY_APPOINTMENTS),
                says("no test drives booked"),
            ),
            T("show my bookings", calls(LIST_MY_APPOINTMENTS)),
            T("what do I have booked?", calls(LIST_MY_APPOINTMENTS)),
        ],
    ),
    Conversation(
        BOOKINGS,
        [
            T(
                "book the gt at denver on thursday at 10",
                books("denver", weekday("thursday"), "10:00", "SuperCar GT"),
            ),
            T(
                "book the volt at denver on friday at 10",
                books("denver", weekday("friday"), "10:00", "SuperCar Volt"),
            ),
            T("cancel the volt one", no_call(), says("Volt", "Shall I cancel it?")),
            T("yes", calls(CANCEL_APPOINTMENT), says("cancelled")),
            T("what appointments do i have?", calls(LIST_MY_APPOINTMENTS), says("SuperCar GT")),
        ],
    ),
    Conversation(
        SALES,
        [
            T(
                "book the terra at dallas tomorrow at 10am",
                checks("dallas", day(1)),
                no_call(SCHEDULE_APPOINTMENT),
                says("not free", "11:00"),
            ),
            T("what about 11?", books("dallas", day(1), "11:00", "SuperCar Terra")),
        ],
        before=[("someone", "book the gt at dallas tomorrow at 10am")],
    ),
    Conversation(
        SALES,
        [
            T(
                "book the gt at miami on thursday at 10",
                books("miami", weekday("thursday"), "10:00", "SuperCar GT"),
            ),
            T("move my booking to friday", no_call(), says("Shall I move it?")),
            T(
                "yes",
                checks("miami", weekday("friday")),
                no_call(CANCEL_APPOINTMENT),
                says("not free", "stays"),
            ),
            T("ok 11am then", no_call(), says("11:00", "Shall I move it?")),
            T("yes", moves(time="11:00")),
        ],
        before=[("someone", "book the volt at miami on friday at 10")],
    ),
    *one(
        SALES,
        T(
            "book the gt at miami on sunday at 11",
            no_call(SCHEDULE_APPOINTMENT),
            says("closed on Sundays"),
        ),
        T(
            "book the volt at chicago tomorrow at 8pm",
            checks("chicago", day(1)),
            no_call(SCHEDULE_APPOINTMENT),
            says("not free", "18:00"),
        ),
        T("book the terra at LA tomorrow at 11", no_call(), says("not available", "Los Angeles")),
        T("book a test drive at Denver tomorrow at 10", asks("model", "Volt")),
        T(
            "I'd like to book the GT in Miami at 10 and the Volt in Dallas at 3 tomorrow",
            asks("one test drive at a time", "SuperCar Miami or SuperCar Dallas"),
        ),
        T("I'd like a test drive", asks("dealership")),
        T("book the gt at the Boston dealership tomorrow at 10", no_call(), says("Boston")),
        T("book the gt at seattle yesterday at 10", no_call(SCHEDULE_APPOINTMENT)),
        T(
            "reserve the roadster at SF on saturday at 10:30",
            books("san-francisco", weekday("saturday"), "10:30", "SuperCar Roadster"),
        ),
    ),
    *one(
        WEATHER,
        T(
            "forecast for Chicago tomorrow",
            calls(GET_WEATHER, city="Chicago"),
            either(says("today"), calls(GET_WEATHER, date=day(1))),
        ),
        T(
            "will it rain in seattle on saturday",
            calls(GET_WEATHER, city="Seattle"),
            either(says("today"), calls(GET_WEATHER, date=weekday("saturday"))),
        ),
        T("what's the temperature in Denver right now", calls(GET_WEATHER, city="Denver")),
        T("do I need an umbrella in miami today", calls(GET_WEATHER, city="Miami")),
        T("weather in Paris", calls(GET_WEATHER, city="Paris")),
        T("how cold is it in chicago", calls(GET_WEATHER, city="Chicago")),
        T("is it snowing in denver?", calls(GET_WEATHER, city="Denver")),
    ),
    Conversation(
        WEATHER,
        [
            T("what's the weather like?", asks("city")),
            T("dallas", calls(GET_WEATHER, city="Dallas")),
            T("and in Miami?", calls(GET_WEATHER, city="Miami")),
        ],
    ),
    *one(
        OFF_SCRIPT,
        T("tell me a joke", no_call(), says("test drive")),
        T("yes", no_call(), says("What would you like")),
        T("do you sell used cars?", no_call(), says("used")),
        T("what models do you have?", no_call(), says("Apex", "Volt")),
        T("Volt or Terra?", no_call(), says("drive")),
        T("closest dealership to San Diego", no_call(), says("Los Angeles")),
        T("how much is the roadster", no_call(), says("prices")),
        T("what's the range on the volt", no_call(), says("specifications")),
        T("are you a real person?", no_call(), says("Lex")),
        T("thanks!", no_call(), says("welcome")),
        T("hi", no_call(), says("Lex")),
        T(
            "which dealership has the Apex",
            no_call(),
            says("Los Angeles", "New York", "San Francisco"),
        ),
        T("what can I test drive in Dallas?", no_call(), says("Roadster", "Terra")),
        T("bye", no_call(), says("great day")),
        T("do you do financing", no_call(), says("financing")),
        T("what's 2+2", no_call(), says("I can")),
        T("good morning!", no_call(), says("Lex")),
        T("who are you", no_call(), says("Lex")),
        T("how are you today?", no_call(), says("test drive")),
        T("where can I drive the roadster?", no_call(), says("Miami", "Dallas")),
        T("no thanks", no_call(), says("No problem")),
        T("what colours does the GT come in", no_call(), says("specifications")),
        T("can I trade in my old car", no_call(), says("prices")),
    ),
    *one(
        SPANISH,
        T("hola", no_call(), says("inglés")),
        T("quiero reservar una prueba de manejo en Miami mañana", no_call(), says("inglés")),
        T("¿dónde está el concesionario de Dallas?", no_call(), says("inglés")),
        T("gracias", no_call(), says("inglés")),
        T("buenos días, ¿puedo probar el Volt?", no_call(), says("inglés")),
    ),
    Conversation(
        FOLLOW_UPS,
        [
            T("free slots at dallas tomorrow", checks("dallas", day(1))),
            T("what about friday?", checks("dallas", weekday("friday"))),
            T(
                "can I book the GT at 3pm then",
                books("dallas", weekday("friday"), "15:00", "SuperCar GT"),
            ),
            T("thanks", no_call(), says("welcome")),
        ],
    ),
    Conversation(
        FOLLOW_UPS,
        [
            T("weather in Miami", calls(GET_WEATHER, city="Miami")),
            T("what about Denver?", calls(GET_WEATHER, city="Denver")),
            T(
                "and the address of the Denver dealership",
                calls(GET_DEALERSHIP_ADDRESS, dealership_id="denver"),
            ),
            T("book a test drive there tomorrow", asks("SuperCar Denver")),
            T("10am, the Volt", books("denver", day(1), "10:00", "SuperCar Volt")),
        ],
    ),
    Conversation(
        FOLLOW_UPS,
        [
            T("book a test drive at Miami tomorrow", asks("time", "model")),
            T("11am", asks("model")),
            T("the roadster", books("miami", day(1), "11:00", "SuperCar Roadster")),
        ],
    ),
    Conversation(
        FOLLOW_UPS,
        [
            T("any free slots at seattle on friday?", checks("seattle", weekday("friday"))),
            T(
                "what about 6pm?",
                books("seattle", weekday("friday"), "18:00", "SuperCar GT")[1],
                asks("model"),
            ),
            T("the terra", books("seattle", weekday("friday"), "18:00", "SuperCar Terra")),
        ],
    ),
    Conversation(
        FOLLOW_UPS,
        [
            T(
                "address of the chicago dealership",
                calls(GET_DEALERSHIP_ADDRESS, dealership_id="chicago"),
            ),
            T(
                "sure, tomorrow at 2pm with the volt",
                books("chicago", day(1), "14:00", "SuperCar Volt"),
            ),
            T("cancel it", no_call(), says("Shall I cancel it?")),
            T("no, keep it", no_call(CANCEL_APPOINTMENT), says("kept your booking SC-")),
        ],
    ),
    Conversation(
        FOLLOW_UPS,
        [
            T("what's the weather in dallas", calls(GET_WEATHER, city="Dallas")),
            T("ok", no_call()),
            T(
                "saturday at 10 for the terra",
                books("dallas", weekday("saturday"), "10:00", "SuperCar Terra"),
            ),
        ],
    ),
]
"""Every conversation of the battery."""


def turn_count() -> int:
    return sum(len(c.turns) for c in BATTERY)
