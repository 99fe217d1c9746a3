"""Which errors get the 422 of a body that is not JSON Lex can read."""

from __future__ import annotations

from fastapi import HTTPException

from api.errors import unreadable_body_problem


def parse_failure(cause: Exception) -> HTTPException:
    """FastAPI's answer to a body its parser failed on, raised from the parser's exception."""
    try:
        try:
            raise cause
        except Exception as exc:
            raise HTTPException(400, "There was an error parsing the body") from exc
    except HTTPException as answer:
        return answer


def test_a_body_the_parser_failed_on_is_told_apart_from_other_errors() -> None:
    assert unreadable_body_problem(parse_failure(RecursionError())) == "nested too deeply to read"
    assert unreadable_body_problem(parse_failure(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x")))
    assert unreadable_body_problem(parse_failure(KeyError("x"))) is None
    assert unreadable_body_problem(HTTPException(400, "Bad request")) is None
    assert unreadable_body_problem(HTTPException(404)) is None
