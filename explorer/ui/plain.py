"""Untrusted text (from a URL or a file) as markdown that shows exactly that text, capped in length.

Not for our own messages with deliberate formatting. Streamlit renders st.warning, st.error and
st.markdown as GitHub markdown plus its own :colour[...] and :icon: directives; a backslash before
every ASCII punctuation character makes each one literal (CommonMark), so no link, image, emphasis,
HTML or directive can form. GitHub's autolinks (www., https://, user@host) ignore escapes: an
invisible word joiner after "www", ":" and "@" breaks them.
"""
from __future__ import annotations

import re
import string

MAX_CHARS = 2_000  # of one message shown (a run file's message is at most 500); longer ones end in an ellipsis
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_SPACE = re.compile(r"\s+")
_AUTOLINK = re.compile(r"(?i)(www(?=\\\.)|[:@])")  # runs on escaped text: "www\\."
WORD_JOINER = "\u2060"


def plain(text: object, limit: int = MAX_CHARS) -> str:
    """`text` as markdown that renders as that text, on one line, at most `limit` characters."""
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in str(text))).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _PUNCTUATION.sub(r"\\\1", text)
    return _AUTOLINK.sub(lambda m: m.group(1) + WORD_JOINER, text)
