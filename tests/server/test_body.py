"""``parse_form``'s fast path (no ``%``, no ``+``) gives what ``parse_qsl`` gives."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agave_server.api.body import _plain_pairs, parse_form
from agave_server.errors import BadRequest

# What a form body can hold without percent-escapes: separators, '=', and plain characters.
PLAIN = st.text(alphabet="ab=&;.-_~*é", max_size=40)


@given(PLAIN)
def test_plain_bodies_split_as_parse_qsl_does(text: str) -> None:
    assert _plain_pairs(text) == parse_qsl(text, keep_blank_values=True)


def test_escaped_bodies_are_unquoted_and_repeated_fields_refused() -> None:
    assert parse_form(b"token=a%2Bb&hint=x+y") == {"token": "a+b", "hint": "x y"}
    assert parse_form(b"a=1&&b&=c") == {"a": "1", "b": "", "": "c"}
    with pytest.raises(BadRequest, match="given more than once"):
        parse_form(b"token=a&token=b")
