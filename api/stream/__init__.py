"""The outbound stream: turn events, the tool cards they carry, and their SSE framing."""
