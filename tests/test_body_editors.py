"""The body editors the sanitiser uses where a parser's document is not enough.

Each one must leave what it does not change byte for byte, must never raise on
input it is documented to take, and must give a valid body of its own syntax
back when a value changes.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
import pytest
from graphql import parse
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.sanitize import graphqldoc, jsonedit, jsontext, multipart, xmlbody
from parity.traffic.kinds import Kind


def keep(key: str, value: Any, kind: Kind | None) -> Any:
    return value


def redact(key: str, value: Any, kind: Kind | None) -> Any:
    """Every string under a sensitive name becomes a marker; other values stay."""
    return f"[redacted:{kind.value}]" if kind is not None and isinstance(value, str) else value


def seen(into: list[tuple[str, Any, Kind | None]]):
    def leaf(key: str, value: Any, kind: Kind | None) -> Any:
        into.append((key, value, kind))
        return value

    return leaf


json_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "password", "note", "email", 'a"b', "é"]), children, max_size=4
        )
    ),
    max_leaves=20,
)


# -- JSON text ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_json_text_is_never_refused_and_kept_as_it_was(text) -> None:
    assert jsontext.rewrite_tokens(text, keep) == (text, False)
    jsontext.rewrite_tokens(text, redact)  # any text at all: no exception


@settings(max_examples=300, deadline=None)
@given(document=json_documents, indent=st.sampled_from([None, 2]))
def test_json_text_changes_what_the_parsed_walk_changes(document, indent) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    rewritten, changed = jsontext.rewrite_tokens(text, redact)
    expected, expected_changed = jsonedit.rewrite_leaves(orjson.loads(text), redact)
    assert json.loads(rewritten) == expected
    assert changed == expected_changed


def test_json_text_sanitises_each_of_two_duplicate_keys_and_cut_off_values() -> None:
    text = '{"password": "first", "id": 7, "password": "sec\\"ond", "note": "x", "email": "cut'
    rewritten, changed = jsontext.rewrite_tokens(text, redact)
    assert changed
    assert rewritten == (
        '{"password": "[redacted:password]", "id": 7, "password": "[redacted:password]", '
        '"note": "x", "email": "[redacted:email]'
    )


def test_json_text_has_no_depth_limit_and_passes_keys_as_values() -> None:
    heard: list[tuple[str, Any, Kind | None]] = []
    text = '{"user": ' * 5000 + '{"pin": 1234}' + "}" * 5000
    assert jsontext.rewrite_tokens(text, seen(heard)) == (text, False)
    assert ("", "pin", None) in heard and ("pin", 1234, Kind.PASSWORD) in heard


# -- GraphQL documents ----------------------------------------------------------------------------


DOCUMENT = """mutation Login($remember: Boolean = true, $pin: Int = 4321) {
  # the user signs in
  login(email: "quinn@example.com", password: \"\"\"hunter2\"\"\",
        input: {newPassword: "s3cret", tags: ["a", "b"], age: 41}) { token }
}"""


def test_graphql_literals_are_replaced_in_place_and_the_rest_kept() -> None:
    rewritten, changed = graphqldoc.rewrite_literals(DOCUMENT, redact)
    assert changed
    assert rewritten == DOCUMENT.replace('"quinn@example.com"', '"[redacted:email]"').replace(
        '"""hunter2"""', '"[redacted:password]"'
    ).replace('"s3cret"', '"[redacted:password]"')
    parse(rewritten)


def test_graphql_literals_are_passed_under_their_argument_and_field_names() -> None:
    heard: list[tuple[str, Any, Kind | None]] = []
    assert graphqldoc.rewrite_literals(DOCUMENT, seen(heard)) == (DOCUMENT, False)
    assert ("pin", 4321, Kind.PASSWORD) in heard
    assert ("tags", "a", None) in heard and ("age", 41, None) in heard
    assert ("newPassword", "s3cret", Kind.PASSWORD) in heard


@pytest.mark.parametrize("document", ["query { a(", "{ a }", "", "mutation { x(id: 1 }"])
def test_graphql_documents_that_do_not_parse_or_hold_no_literal_are_kept(document) -> None:
    assert graphqldoc.rewrite_literals(document, redact) == (document, False)


# -- multipart ------------------------------------------------------------------------------------


FORM = (
    b"preamble\r\n--XyZ\r\n"
    b'content-disposition: form-data; name="new_password"\r\n\r\nhunter22\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="notes.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\nline one\nline two\r\n"
    b"--XyZ--\r\nepilogue"
)
FORM_TYPE = 'multipart/form-data; boundary="XyZ"'


def test_multipart_parts_are_read_with_their_names_and_types() -> None:
    parts = multipart.parse_multipart(FORM, FORM_TYPE)
    assert [(p.name, p.filename, p.content_type, p.content) for p in parts] == [
        ("new_password", None, None, b"hunter22"),
        ("upload", "notes.txt", "text/plain", b"line one\nline two"),
    ]
    assert multipart.rebuild_multipart(FORM, FORM_TYPE, parts) == FORM


def test_multipart_rebuild_changes_only_the_changed_part() -> None:
    parts = multipart.parse_multipart(FORM, FORM_TYPE)
    parts[0] = dataclasses.replace(parts[0], content=b"[redacted:password]")
    assert multipart.rebuild_multipart(FORM, FORM_TYPE, parts) == FORM.replace(
        b"hunter22", b"[redacted:password]"
    )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (FORM, "multipart/form-data"),  # no boundary
        (FORM[: FORM.index(b"--XyZ--")], FORM_TYPE),  # no closing delimiter
        (b"nothing of the kind", FORM_TYPE),
    ],
)
def test_multipart_bodies_that_cannot_be_read_whole_are_refused(content, content_type) -> None:
    with pytest.raises(multipart.UnreadableMultipart):
        multipart.parse_multipart(content, content_type)


# -- XML ------------------------------------------------------------------------------------------


SOAP = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- sent by the client -->\n'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    b'<user email="quinn@example.com" id="7"><password><![CDATA[hunter22]]></password>'
    b"<note>fine</note></user></s:Body></s:Envelope>"
)


def test_xml_that_holds_nothing_is_returned_as_sent() -> None:
    plain = SOAP.replace(b"password", b"colour").replace(b' email="quinn@example.com"', b"")
    assert xmlbody.rewrite_xml(plain, redact) == (plain, False)


def test_xml_texts_and_attributes_are_replaced_and_the_rest_kept() -> None:
    content, changed = xmlbody.rewrite_xml(SOAP, redact)
    assert changed
    assert b"hunter22" not in content and b"quinn@" not in content
    assert b'email="[redacted:email]" id="7"' in content
    assert b"<password>[redacted:password]</password><note>fine</note>" in content
    assert content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<!-- sent by the client -->" in content and b"<s:Body>" in content


@pytest.mark.parametrize(
    "content",
    [
        b"<a><b></a>",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "secret">]><a>&x;</a>',
    ],
)
def test_xml_that_cannot_be_read_whole_or_safely_is_refused(content) -> None:
    with pytest.raises(xmlbody.UnreadableXml):
        xmlbody.rewrite_xml(content, keep)
