"""Tool argument types whose JSON schema the model reads: enums and patterns from the directory.

A model then cannot invent a dealership id or a car model, or write "next Friday" for a date.

Validation stays lenient on purpose ("Miami" still finds the `miami` dealership, "volt" the
SuperCar Volt): the schema steers the model, the tools forgive a human-style value.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import WithJsonSchema

from tools.domain.directory import CAR_MODELS, DEALERSHIPS

DATE_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN: Final = r"^([01]\d|2[0-3]):[0-5]\d$"

DealershipIdArg = Annotated[
    str, WithJsonSchema({"type": "string", "enum": [d.id for d in DEALERSHIPS]})
]
"""A dealership id from the directory."""
CarModelArg = Annotated[str, WithJsonSchema({"type": "string", "enum": list(CAR_MODELS)})]
"""A model of the SuperCar lineup."""
DateArg = Annotated[str, WithJsonSchema({"type": "string", "pattern": DATE_PATTERN})]
"""A day as YYYY-MM-DD."""
OptionalDateArg = Annotated[str | None, WithJsonSchema({"type": "string", "pattern": DATE_PATTERN})]
"""A day as YYYY-MM-DD, or left out."""
TimeArg = Annotated[str, WithJsonSchema({"type": "string", "pattern": TIME_PATTERN})]
"""A time of day as HH:MM, 24-hour."""
OptionalConfirmationIdArg = Annotated[str | None, WithJsonSchema({"type": "string"})]
"""A booking's confirmation id such as "SC-7K3F9Q", or left out."""
