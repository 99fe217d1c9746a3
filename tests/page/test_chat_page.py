"""The chat page in a real browser against a real server on the offline model.

Each test does what a customer does (types, clicks, reloads) and checks what they would see.
Screenshots of the states reached go to `test-artifacts/page/`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.page.conftest import ServerFactory

WEATHER = "What's the weather in Miami?"
AVAILABILITY = "Which times are free at the Miami dealership tomorrow?"
ADDRESS = "Where is the Miami dealership?"
GREETING = "hello"  # the offline model's longest fixed answer: about 30 tokens
LAST_ANSWER = "article.message-assistant >> nth=-1"
USER_TEXTS = ".message-user .message-text"


def open_chat(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.wait_for_selector("body[data-ready=true]")


def is_status_document(url: str) -> bool:
    """Matches `GET /`, which answers the page (a navigation) and the status document (a fetch)."""
    return urlsplit(url).path == "/"


def send(page: Any, text: str) -> None:
    """Types into the message box and presses Enter, as a keyboard user does."""
    page.get_by_label("Message Lex").fill(text)
    page.get_by_label("Message Lex").press("Enter")


def wait_idle(page: Any) -> None:
    """Waits until no answer streams: the Send button is enabled again."""
    page.wait_for_selector("#send:not([disabled])")
    page.wait_for_selector("article.message-assistant[aria-busy]", state="detached")


def answer_text(page: Any) -> str:
    text: str = page.locator(LAST_ANSWER).locator(".message-text").all_inner_texts()
    return " ".join(text)


def shot(page: Any, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"{name}.png"))


def current_session(page: Any) -> str:
    session_id: str = page.evaluate("localStorage.getItem('lex.sessionId')")
    assert session_id
    return session_id


def current_secret(page: Any, session_id: str) -> str:
    """The secret the page keeps for a chat it created."""
    chats = page.evaluate("JSON.parse(localStorage.getItem('lex.chats'))")
    secret: str = next(chat["secret"] for chat in chats if chat["id"] == session_id)
    return secret


def test_answer_streams_token_by_token_with_a_weather_card(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server(offline_token_delay_s=0.05) as url:
        open_chat(page, url)
        assert page.get_by_role("note").inner_text().startswith("Offline model in use")
        assert page.get_by_role("log", name="Conversation").count() == 1

        send(page, WEATHER)
        # Part of the answer is on screen while the rest is still coming.
        page.wait_for_function(
            """() => {
                const answer = document.querySelector('article.message-assistant[aria-busy]');
                const text = answer?.querySelector('.message-text')?.textContent ?? '';
                return text.length > 0 && !text.includes('test drive?');
            }"""
        )
        assert page.get_by_role("status").inner_text() == "Lex is answering…"
        assert page.get_by_role("button", name="Stop").is_visible()
        shot(page, artifacts_dir, "01-answer-streaming")

        wait_idle(page)
        card = page.locator(".card[data-tool=get_weather]")
        assert card.get_attribute("class") == "card card-done"
        assert re.search(r"\d+°C", card.inner_text())
        assert "The weather in Miami is" in card.inner_text()
        assert answer_text(page).startswith("The weather in Miami is")
        assert answer_text(page).endswith("Would you like to book a test drive?")
        assert not page.get_by_role("button", name="Stop").is_visible()
        shot(page, artifacts_dir, "02-weather-card")


def test_clicking_a_free_slot_fills_in_a_booking_request_that_books(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server() as url:
        open_chat(page, url)
        send(page, AVAILABILITY)
        wait_idle(page)
        slot = page.get_by_role("button", name="Book 10:00 on 2026-11-25")
        assert page.locator(".slot").count() == 10
        slot.click()
        message_box = page.get_by_label("Message Lex")
        assert message_box.input_value() == (
            "Please book a test drive at SuperCar Miami on 2026-11-25 at 10:00."
        )
        assert message_box.evaluate("box => box === document.activeElement")
        shot(page, artifacts_dir, "03-slot-filled-in")

        message_box.press("Enter")
        wait_idle(page)
        assert "Which model would you like" in answer_text(page)
        send(page, "SuperCar GT")
        wait_idle(page)
        card = page.locator(".card[data-tool=schedule_appointment]")
        assert "Booked" in card.inner_text()
        assert re.fullmatch(r"SC-[A-Z0-9]+", card.locator(".confirmation-id").inner_text())
        assert "2026-11-25 at 10:00" in card.inner_text()
        shot(page, artifacts_dir, "04-booking-confirmed")

        # Booked for real: the slot is no longer offered.
        send(page, AVAILABILITY)
        wait_idle(page)
        assert page.get_by_role("button", name="Book 10:00 on 2026-11-25").count() == 1


def test_after_a_reload_the_chat_is_in_the_sidebar_and_reopens(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server() as url:
        open_chat(page, url)
        send(page, WEATHER)
        wait_idle(page)
        send(page, ADDRESS)
        wait_idle(page)

        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        sidebar = page.get_by_role("complementary")
        entry = sidebar.get_by_role("button", name=re.compile("^" + re.escape(WEATHER)))
        entry.wait_for()
        assert entry.get_attribute("aria-current") == "true"
        assert "2 messages" in entry.inner_text()
        # The last chat is open again, cards included.
        page.locator(".card[data-tool=get_dealership_address]").wait_for()
        assert page.locator(USER_TEXTS).all_inner_texts() == [WEATHER, ADDRESS]
        address_card = page.locator(".card[data-tool=get_dealership_address]")
        assert "+1 (305) 555-0142" in address_card.inner_text()
        shot(page, artifacts_dir, "05-sidebar-after-reload")

        page.get_by_role("button", name="New chat").click()
        assert page.locator(".message").count() == 0
        assert page.get_by_role("heading", name="New chat").is_visible()

        entry.click()
        page.locator(".card[data-tool=get_weather]").wait_for()
        assert page.locator(USER_TEXTS).all_inner_texts() == [WEATHER, ADDRESS]


def test_replay_plays_a_saved_chat_back(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server() as url:
        open_chat(page, url)
        send(page, WEATHER)
        wait_idle(page)
        send(page, AVAILABILITY)
        wait_idle(page)
        page.get_by_role("button", name="New chat").click()

        with page.expect_response(lambda response: "/replay?" in response.url) as replay:
            page.get_by_role("button", name=f"Replay {WEATHER}").click()
        assert replay.value.status == 200
        wait_idle(page)
        assert page.locator(USER_TEXTS).all_inner_texts() == [WEATHER, AVAILABILITY]
        assert page.locator(".card-done").count() == 2
        assert page.locator(".slot").count() == 10
        assert answer_text(page).endswith("Would you like me to book one of these times?")
        assert page.get_by_role("heading", name=WEATHER).is_visible()
        shot(page, artifacts_dir, "06-replayed")


def test_stop_cancels_the_running_answer(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server(offline_token_delay_s=0.1) as url:
        open_chat(page, url)
        send(page, GREETING)
        page.locator(LAST_ANSWER).locator(".message-text").wait_for()
        shot(page, artifacts_dir, "07-answering-with-stop-button")

        with page.expect_response(lambda response: response.url.endswith("/cancel")) as cancel:
            page.get_by_role("button", name="Stop").click()
        assert cancel.value.status == 200
        wait_idle(page)
        answer = page.locator(LAST_ANSWER)
        assert answer.locator(".message-status").inner_text() == "Stopped."
        assert "How can I help?" not in answer_text(page)
        shot(page, artifacts_dir, "08-stopped")

        # The chat goes on after a stop.
        send(page, WEATHER)
        wait_idle(page)
        assert answer_text(page).endswith("Would you like to book a test drive?")


def test_a_busy_session_is_shown_as_still_answering(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server(offline_token_delay_s=0.05) as url:
        open_chat(page, url)
        send(page, WEATHER)
        wait_idle(page)
        session_id = current_session(page)

        # Another client with the chat's secret (a direct fetch) starts a turn on the session...
        status = page.evaluate(
            """async ([body, secret]) => {
                const response = await fetch('/query', {
                    method: 'POST',
                    headers: {
                        'Content-Type': 'application/json',
                        Authorization: `Bearer ${secret}`,
                    },
                    body: JSON.stringify(body),
                });
                return response.status;
            }""",
            [
                {"query": GREETING, "session_id": session_id, "stream_format": "json"},
                current_secret(page, session_id),
            ],
        )
        assert status == 200
        # ...so the page's next message meets a 409 while that answer runs.
        with page.expect_response(lambda response: response.url.endswith("/query")) as busy:
            send(page, ADDRESS)
        assert busy.value.status == 409
        notice = page.get_by_role("alert").filter(has_text="still answering")
        notice.wait_for()
        assert "Lex is still answering the previous message in this chat" in notice.inner_text()
        assert "Not sent" in page.locator(".message-user").last.inner_text()
        # Nothing typed is lost: the message is back in the box to send again.
        assert page.get_by_label("Message Lex").input_value() == ADDRESS
        assert page.locator("#send").is_enabled()
        shot(page, artifacts_dir, "09-still-answering")


def test_a_reload_mid_answer_rejoins_the_stream_after_the_last_event(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server(offline_token_delay_s=0.1) as url:
        open_chat(page, url)
        send(page, GREETING)
        page.wait_for_function(
            "() => (document.querySelector('.message-assistant .message-text')?.textContent ?? '')"
            ".split(' ').length > 4"
        )
        rejoins: list[dict[str, str]] = []
        page.on(
            "request",
            lambda request: rejoins.append(request.headers) if "/stream?" in request.url else None,
        )
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        wait_idle(page)

        assert len(rejoins) == 1
        assert re.fullmatch(r"[0-9a-f-]{36}:\d+", rejoins[0]["last-event-id"])
        text = answer_text(page)
        assert text.startswith("Hi, I'm Lex, SuperCar's virtual assistant.")
        assert text.endswith("How can I help?")
        assert text.count("Hi, I'm Lex") == 1  # what came before the reload is not repeated
        assert page.locator(USER_TEXTS).all_inner_texts() == [GREETING]
        shot(page, artifacts_dir, "10-rejoined-after-reload")

        session_id = current_session(page)
        auth = {"Authorization": f"Bearer {current_secret(page, session_id)}"}
        saved = httpx.get(f"{url}/sessions/{session_id}", headers=auth, timeout=10).json()
        assert saved["messages"][-1]["text"] == text


def test_a_dropped_stream_is_retried_and_resumed_after_the_last_event(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server() as url:

        def cut_after_three_events(route: Any) -> None:
            # The server's real answer, cut off as a dropped connection would cut it.
            events = route.fetch().text().split("\n\n")
            cut = "\n\n".join(events[:3]) + "\n\n"
            route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=cut)

        page.route("**/query", cut_after_three_events)
        rejoins: list[dict[str, str]] = []
        page.on(
            "request",
            lambda request: rejoins.append(request.headers) if "/stream?" in request.url else None,
        )
        open_chat(page, url)
        send(page, WEATHER)
        banner = page.get_by_role("alert").filter(has_text="Connection lost")
        banner.wait_for()
        assert "Retrying in 1 s (attempt 1 of 5)" in banner.inner_text()
        assert page.get_by_role("status").inner_text() == "Reconnecting…"
        shot(page, artifacts_dir, "11-connection-lost-retrying")

        wait_idle(page)
        assert not banner.is_visible()
        assert rejoins[0]["last-event-id"].endswith(":2")  # tool_use, tool_output, first chunk
        assert answer_text(page).startswith("The weather in Miami is")
        assert answer_text(page).endswith("Would you like to book a test drive?")
        assert page.locator(".card[data-tool=get_weather]").count() == 1


def test_phone_width_keeps_everything_reachable(
    browser: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        with lex_server() as url:
            open_chat(page, url)
            send(page, ADDRESS)
            wait_idle(page)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, "the page scrolls sideways at phone width"
            sidebar = page.get_by_role("complementary")
            toggle = page.get_by_role("button", name="Chats")
            assert not sidebar.get_by_role("heading", name="Saved chats").is_visible()
            shot(page, artifacts_dir, "12-phone-chat")

            toggle.click()
            assert toggle.get_attribute("aria-expanded") == "true"
            entry = sidebar.get_by_role("button", name=re.compile("^" + re.escape(ADDRESS)))
            entry.wait_for()
            page.wait_for_timeout(300)  # let the slide-in finish before the picture
            shot(page, artifacts_dir, "13-phone-sidebar-open")
            # The first saved chat has the focus, and Escape closes the panel.
            assert entry.evaluate("button => button === document.activeElement")
            page.keyboard.press("Escape")
            assert toggle.get_attribute("aria-expanded") == "false"
            assert toggle.evaluate("button => button === document.activeElement")
            # So does its Close button.
            toggle.click()
            sidebar.get_by_role("button", name="Close").click()
            assert toggle.get_attribute("aria-expanded") == "false"
    finally:
        context.close()


def test_a_server_without_saved_sessions_still_chats(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    """Optional endpoints are detected: without them their controls are hidden, chat works."""
    with lex_server() as url:

        def without_sessions(route: Any) -> None:
            # The status document stands for a server that lists no session routes.
            if route.request.resource_type == "document":
                route.continue_()
                return
            status = json.loads(route.fetch().text())
            status["features"] = {
                name: path for name, path in status["features"].items() if "/sessions" not in path
            }
            route.fulfill(json=status)

        page.route(is_status_document, without_sessions)
        open_chat(page, url)
        assert page.evaluate("document.body.dataset.features") == ""
        assert page.get_by_text("Saved chats are not available on this server.").is_visible()
        send(page, WEATHER)
        wait_idle(page)
        assert page.locator(".card-done[data-tool=get_weather]").count() == 1
        assert not page.get_by_role("button", name="Replay").is_visible()
        assert not page.get_by_role("button", name="Stop").is_visible()
        shot(page, artifacts_dir, "14-without-session-endpoints")


def test_a_server_that_lists_no_features_and_has_no_sessions_still_chats(
    page: Any, lex_server: ServerFactory
) -> None:
    """Without `features` (an older server) every feature is assumed and the 404s are handled.

    The chat goes on bound to this browser, as on a server without session routes.
    """
    with lex_server() as url:

        def older_status(route: Any) -> None:
            if route.request.resource_type == "document":
                route.continue_()
                return
            route.fulfill(json={"status": "ok"})

        def no_such_route(route: Any) -> None:
            route.fulfill(status=404, json={"detail": "Not Found"})

        page.route(is_status_document, older_status)
        page.route(lambda url: urlsplit(url).path.startswith("/sessions"), no_such_route)
        open_chat(page, url)
        features = page.evaluate("document.body.dataset.features")
        assert features == "sessions sessionDetail replay cancel rejoin"
        send(page, WEATHER)
        wait_idle(page)
        assert page.locator(".card-done[data-tool=get_weather]").count() == 1
        assert page.locator(".message-failed").count() == 0
        assert current_session(page).startswith("web-")
        assert page.get_by_text("Saved chats are not available on this server.").is_visible()


def test_loading_the_page_makes_no_request_that_is_refused(
    page: Any, lex_server: ServerFactory
) -> None:
    """A customer's load, fresh or with a saved chat to reopen, has no request refused.

    The page learns its features from the public status document, not the operator's schema.
    """
    answered: list[tuple[int, str, str]] = []
    page.on(
        "response",
        lambda response: answered.append((response.status, response.request.method, response.url)),
    )
    with lex_server() as url:
        open_chat(page, url)
        assert page.evaluate("document.body.dataset.features") == (
            "sessions sessionDetail replay cancel rejoin"
        )
        send(page, WEATHER)
        wait_idle(page)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.locator(".card[data-tool=get_weather]").wait_for()

    refused = [entry for entry in answered if entry[0] >= 400]
    assert refused == []
    loads = [entry for entry in answered if entry[1] == "GET" and entry[2] == f"{url}/"]
    assert len(loads) == 4  # twice the page, twice the status document beside it
    assert not [entry for entry in answered if "openapi" in entry[2]]


def test_a_booking_move_and_cancellation_in_natural_sentences(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    with lex_server() as url:
        open_chat(page, url)
        send(page, "hi! can I come to the Miami store tomorrow at 10 to drive the GT?")
        wait_idle(page)
        assert page.locator(".card[data-tool=check_appointment_availability]").count() == 1
        assert "10:00 on Wednesday 2026-11-25 is free" in answer_text(page)
        assert answer_text(page).endswith("Shall I book it for you?")
        send(page, "yes please")
        wait_idle(page)
        booked = page.locator(".card[data-tool=schedule_appointment]")
        assert "2026-11-25 at 10:00" in booked.inner_text()
        first_id = booked.locator(".confirmation-id").inner_text()
        assert first_id in answer_text(page)
        shot(page, artifacts_dir, "11-natural-booking")

        send(page, "actually can you make it 11am instead")
        wait_idle(page)
        assert first_id in answer_text(page) and answer_text(page).endswith("Shall I move it?")
        send(page, "yes")
        wait_idle(page)
        moved = page.locator(".card[data-tool=schedule_appointment] >> nth=-1")
        assert "2026-11-25 at 11:00" in moved.inner_text()
        second_id = moved.locator(".confirmation-id").inner_text()
        assert second_id != first_id
        # One booking replaced the old one: no separate cancellation.
        tools = page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.tool)")
        assert tools[-2:] == ["check_appointment_availability", "schedule_appointment"]
        assert first_id in moved.inner_text()  # "It replaces SC-..., now cancelled."
        assert answer_text(page).startswith("Done, your test drive is moved.")
        shot(page, artifacts_dir, "12-natural-move")

        send(page, "sorry, something came up, please call it off")
        wait_idle(page)
        assert second_id in answer_text(page) and answer_text(page).endswith("Shall I cancel it?")
        send(page, "yes")
        wait_idle(page)
        assert "is cancelled" in answer_text(page)
        send(page, "what appointments do I have?")
        wait_idle(page)
        assert "You have no test drives booked" in answer_text(page)
        assert "Cancelled: the SuperCar GT" in answer_text(page)
        shot(page, artifacts_dir, "13-natural-cancellation")
