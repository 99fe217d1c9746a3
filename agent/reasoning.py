"""Keeps a model's reasoning from the customer: `<think>...</think>` blocks and reasoning fields.

Reasoning models are asked not to return their reasoning (see `agent.models.groq.chat_options`);
this is the last guard, for a model or setting that writes it into the answer anyway. The filter
works token by token, so a tag split across streamed pieces is still caught.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
REASONING_KEYS = ("reasoning_content", "reasoning")
"""Where LangChain clients keep a message's reasoning in `additional_kwargs`."""


def _partial_tag_length(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could begin `tag` (0 when none)."""
    for length in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-length:]):
            return length
    return 0


class ThinkFilter:
    """Removes `<think>...</think>` blocks from text fed piece by piece.

    Text that might start a tag is held back until the next piece tells; `flush` releases it at
    the end. An unclosed block hides everything after its opening tag (the model ran out of
    tokens while reasoning). White space right after a closing tag is dropped too.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._inside = False
        self._after_block = False

    def feed(self, piece: str) -> str:
        """Returns the part of the text so far that is safe to show."""
        self._pending += piece
        shown: list[str] = []
        while self._pending:
            if self._inside:
                end = self._pending.find(THINK_CLOSE)
                if end < 0:
                    keep = _partial_tag_length(self._pending, THINK_CLOSE)
                    self._pending = self._pending[len(self._pending) - keep :]
                    break
                self._pending = self._pending[end + len(THINK_CLOSE) :]
                self._inside, self._after_block = False, True
                continue
            if self._after_block:
                self._pending = self._pending.lstrip()
                if not self._pending:
                    break
                self._after_block = False
            start = self._pending.find(THINK_OPEN)
            if start >= 0:
                shown.append(self._pending[:start])
                self._pending = self._pending[start + len(THINK_OPEN) :]
                self._inside = True
                continue
            keep = _partial_tag_length(self._pending, THINK_OPEN)
            shown.append(self._pending[: len(self._pending) - keep])
            self._pending = self._pending[len(self._pending) - keep :]
            break
        return "".join(shown)

    def flush(self) -> str:
        """Returns the text held back at the end (nothing inside an unclosed block)."""
        rest = "" if self._inside else self._pending
        self._pending = ""
        return rest


def strip_think_blocks(text: str) -> str:
    """Returns `text` without its `<think>...</think>` blocks."""
    if "<think" not in text:
        return text
    think = ThinkFilter()
    return think.feed(text) + think.flush()


def without_reasoning(message: AIMessage) -> AIMessage:
    """Returns `message` with no reasoning in its content or `additional_kwargs`."""
    extra = {k: v for k, v in message.additional_kwargs.items() if k not in REASONING_KEYS}
    content = message.content
    if isinstance(content, str):
        content = strip_think_blocks(content)
    else:
        content = [
            {**block, "text": strip_think_blocks(str(block.get("text", "")))}
            if isinstance(block, dict) and block.get("type") == "text"
            else block
            for block in content
            if not (isinstance(block, dict) and block.get("type") in ("reasoning", "thinking"))
        ]
    if content == message.content and extra == message.additional_kwargs:
        return message
    return message.model_copy(update={"content": content, "additional_kwargs": extra})
