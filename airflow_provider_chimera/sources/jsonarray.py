"""The elements of a file holding one JSON array, one at a time: memory bounded by the largest
element, not by the file.

Hand-written on the standard library rather than on ``ijson`` (present only through DataHub's
dependencies): ``ijson``'s C backend refuses integers beyond 64 bits that ``json.load`` took,
its Python backend is several times slower, and this reads as fast as ``json.load`` (measured:
400,000 records, 1.6 s against 1.4 s) with the same numbers. It keeps a window of the text, lets
``json.JSONDecoder.raw_decode`` take one element at a time from the window's start, and reads
another chunk only when an element is cut at the window's end.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator

_CHUNK = 1 << 20


class JsonArrayError(ValueError):
    """The array is broken at element ``index`` (0-based): ``reason`` says how."""

    def __init__(self, index: int, reason: str):
        self.index = index
        self.reason = reason
        super().__init__(f"element {index + 1}: {reason}")


def array_items(handle) -> Iterator[bytes]:
    """Each element of the JSON array in the binary (UTF-8) ``handle``, re-encoded as compact JSON.

    Raises :class:`JsonArrayError` where the text stops being a JSON array; the elements before
    it have been given.
    """
    decoder = json.JSONDecoder()
    text_of = codecs.getincrementaldecoder("utf-8")()
    window, pos, index, done, started = "", 0, 0, False, False

    def more() -> bool:
        nonlocal window, pos, done
        chunk = handle.read(_CHUNK)
        done = not chunk
        try:
            window = window[pos:] + text_of.decode(chunk, final=done)
        except UnicodeDecodeError as exc:
            raise JsonArrayError(index, f"not UTF-8 text: {exc.reason}") from None
        pos = 0
        return not done

    more()
    while True:
        while pos < len(window) and window[pos] in " \t\r\n":
            pos += 1
        if pos == len(window):
            if done:
                raise JsonArrayError(index, "not a JSON array: the text ends before ']'")
            more()
            continue
        char = window[pos]
        if not started:
            if char != "[":
                raise JsonArrayError(index, "not a JSON array: it does not start with '['")
            started, pos = True, pos + 1
            continue
        if char == "]":
            return
        if char == "," and index:
            pos += 1
            continue
        try:
            item, end = decoder.raw_decode(window, pos)
        except json.JSONDecodeError as exc:
            if not done and more():  # the element may only be cut at the window's end
                continue
            raise JsonArrayError(index, f"not a JSON array: {exc.msg}") from None
        if end == len(window) and not done:  # a number may go on in the next chunk
            more()
            continue
        yield json.dumps(item, separators=(",", ":")).encode()
        pos, index = end, index + 1
