// Server-Sent Events parsing as the HTML Living Standard describes it ("Interpreting an event
// stream"). The page POSTs its messages, which EventSource cannot do, so it reads the response
// body with fetch and a ReadableStream and feeds the text through this parser.

/**
 * An incremental parser: feed it text as it arrives, it calls `onEvent` once per dispatched event.
 * Each event is `{ type, data, lastEventId }`; `type` defaults to "message" as in EventSource.
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    // A chunk may end between the \r and \n of one line break; the \n must not count twice.
    this.dropLeadingLineFeed = false;
    this.lastEventId = "";
    this.resetEvent();
  }

  resetEvent() {
    this.eventType = "";
    this.data = "";
  }

  /** Consumes the next piece of decoded text; complete lines are processed at once. */
  feed(text) {
    if (!text) return;
    if (this.dropLeadingLineFeed && text.startsWith("\n")) text = text.slice(1);
    this.dropLeadingLineFeed = false;
    const buffer = this.buffer + text;
    let lineStart = 0;
    for (let i = 0; i < buffer.length; i++) {
      const char = buffer[i];
      if (char !== "\r" && char !== "\n") continue;
      this.processLine(buffer.slice(lineStart, i));
      if (char === "\r") {
        if (i + 1 < buffer.length) {
          if (buffer[i + 1] === "\n") i++;
        } else {
          this.dropLeadingLineFeed = true;
        }
      }
      lineStart = i + 1;
    }
    this.buffer = buffer.slice(lineStart);
  }

  processLine(line) {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return; // a comment, e.g. the server's keep-alive ping
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data += value + "\n";
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      default:
        // `retry` and unknown fields: the page schedules its own reconnects.
        break;
    }
  }

  dispatch() {
    // The last event id outlives the event: it is what a reconnect sends as Last-Event-ID.
    if (this.data === "") {
      this.resetEvent();
      return;
    }
    const event = {
      type: this.eventType || "message",
      data: this.data.slice(0, -1),
      lastEventId: this.lastEventId,
    };
    this.resetEvent();
    this.onEvent(event);
  }
}

/**
 * Reads a fetch Response body as an event stream until it closes.
 * Resolves when the server closes the stream; rejects if the connection breaks or is aborted.
 * An event left without its closing blank line is dropped, as the standard says.
 */
export async function readEventStream(response, onEvent) {
  const parser = new SseParser(onEvent);
  // TextDecoderStream keeps multi-byte characters split across chunks intact and drops a BOM.
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.feed(value);
  }
}
