"""Sanitising by structure: each part of a request is read as what it is, only the
sensitive part is replaced, and what is stored is still a request a replay can send."""

from __future__ import annotations

import base64
import gzip
import json

import h11
import orjson
import pytest

from parity.sanitize.engine import Sanitiser
from parity.sanitize.findings import is_credential_header
from parity.sanitize.pseudonym import Pseudonymiser
from parity.sanitize.scan import suspects
from parity.traffic.endpoint import identify
from parity.traffic.exchange import Body
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from tests.factories import make_exchange, make_request, make_response

KEY = b"structure-key"


def sanitised(exchange, key=KEY):  # type: ignore[no-untyped-def]
    return Sanitiser(Pseudonymiser(key))(exchange)


def stored(exchange) -> str:  # type: ignore[no-untyped-def]
    return orjson.dumps(exchange.to_record()).decode()


# -- names as people write them ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("newPassword", Kind.PASSWORD),
        ("new_password", Kind.PASSWORD),
        ("pass", Kind.PASSWORD),
        ("user[password]", Kind.PASSWORD),
        ("password_confirmation", Kind.PASSWORD),
        ("currentPasswordHash", Kind.PASSWORD),
        ("card_cvv", Kind.PASSWORD),
        ("otp_code", Kind.PASSWORD),
        ("customer_name", Kind.NAME),
        ("mobile_phone", Kind.PHONE),
        ("contactEmail", Kind.EMAIL),
        ("billing.address", Kind.ADDRESS),
        ("X-Amz-Signature", Kind.TOKEN),
        ("client-secret", Kind.TOKEN),
        # Names that only look alike: a GraphQL operation, a file, a page cursor, a count.
        ("operationName", None),
        ("file_name", None),
        ("product_name", None),
        ("server_address", None),
        ("next_page_token", None),
        ("max_tokens", None),
        ("email_verified", None),
        ("order_id", None),
    ],
)
def test_field_names_are_read_by_their_words(name, kind) -> None:
    assert kind_of_field(name) is kind


@pytest.mark.parametrize(
    "name",
    [
        "x-session-token",
        "x-client-secret",
        "private-token",
        "x-shopify-access-token",
        "x-refresh-token",
        "x-forwarded-authorization",
        "x-api-signature",
        "x-credentials",
    ],
)
def test_headers_named_like_credentials_are_credentials(name) -> None:
    assert is_credential_header(name)


@pytest.mark.parametrize("name", ["www-authenticate", "content-type", "keep-alive", "x-request-id"])
def test_other_headers_are_not(name) -> None:
    assert not is_credential_header(name)


def test_a_header_holding_a_uuid_under_a_credential_name_is_dropped_and_removed_elsewhere() -> None:
    token = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    exchange = make_exchange(
        request=make_request(headers=[("X-Refresh-Token", token), ("Accept", "*/*")]),
        response=make_response(body=orjson.dumps({"echo": token})),
    )
    assert token not in stored(sanitised(exchange))


def test_a_short_base64_json_header_is_looked_into() -> None:
    hidden = base64.b64encode(b'{"email":"quinn@example.com"}').decode()
    exchange = make_exchange(request=make_request(headers=[("X-User-Context", hidden)]))
    clean = sanitised(exchange)
    assert hidden not in stored(clean) and "quinn" not in stored(clean)
    assert clean.request.headers.get("x-user-context") not in (None, hidden)
    unkeyed = sanitised(exchange, None)
    assert unkeyed.request.headers.get("x-user-context") == "[redacted:email]"


# -- URLs: path segments, query names and values -------------------------------------------------


def test_a_base64_path_segment_is_left_alone_and_a_sensitive_one_replaced_as_a_segment() -> None:
    plain = make_exchange(request=make_request(path="/base64/SFRUUEJJTiBpcyBhd2Vzb21l"))
    assert sanitised(plain).request == plain.request
    personal = make_exchange(request=make_request(path="/users/quinn%40example.com/profile"))
    path = sanitised(personal, None).request.path
    assert path == "/users/redacted-email/profile"
    keyed = sanitised(personal).request.path
    assert keyed.startswith("/users/user-") and keyed.endswith("@example.com/profile")


def test_query_names_and_values_take_url_safe_stand_ins() -> None:
    exchange = make_exchange(
        request=make_request(path="/find", query=[("quinn@example.com", "1"), ("name", "Quinn")])
    )
    clean = sanitised(exchange, None).request
    assert list(clean.query) == [("redacted-email", "1"), ("name", "redacted-name")]
    assert "%5B" not in clean.target


def test_signature_parameters_and_oauth_codes_are_secrets() -> None:
    query = [
        ("X-Amz-Signature", "a" * 64),
        ("sig", "abc123def456"),
        ("code", "4/P7q7W91a"),
        ("state", "xyz"),
    ]
    clean = sanitised(make_exchange(request=make_request(path="/cb", query=query))).request
    assert dict(clean.query) == {
        "X-Amz-Signature": "redacted-token",
        "sig": "redacted-token",
        "code": "redacted-token",
        "state": "xyz",
    }


@pytest.mark.parametrize("escaped", [False, True], ids=["raw JSON text", "JSON with escapes"])
def test_a_marker_written_where_a_url_puts_a_value_takes_its_url_form(escaped) -> None:
    # A backslash anywhere makes the sanitiser rewrite the parsed strings instead of
    # the JSON text: both ways must agree.
    document = {
        "email": "quinn@example.com",
        "link": "/users/quinn@example.com",
        "search": "/find?email=quinn@example.com&page=2",
        "note": 'quinn@example.com wrote "hi"' if escaped else "quinn@example.com",
    }
    response = make_response(body=orjson.dumps(document))
    clean = sanitised(make_exchange(response=response), None)
    assert orjson.loads(clean.response.body.content) == {
        "email": "[redacted:email]",
        "link": "/users/redacted-email",
        "search": "/find?email=redacted-email&page=2",
        "note": '[redacted:email] wrote "hi"' if escaped else "[redacted:email]",
    }


def test_the_services_own_loopback_address_is_kept() -> None:
    request = make_request(
        host="127.0.0.1", headers=[("Host", "127.0.0.1:18110"), ("X-Forwarded-For", "203.0.113.9")]
    )
    response = make_response(
        body=orjson.dumps({"url": "http://127.0.0.1:18110/get", "origin": "127.0.0.1"})
    )
    clean = sanitised(make_exchange(request=request, response=response), None)
    assert clean.request.headers.get("host") == "127.0.0.1:18110"
    assert clean.request.headers.get("x-forwarded-for") == "[redacted:ip]"
    assert orjson.loads(clean.response.body.content)["url"] == "http://127.0.0.1:18110/get"


def test_derived_fields_lose_what_the_request_loses() -> None:
    exchange = make_exchange(
        request=make_request(
            path="/users/quinn@example.com/profile", headers=[("X-Request-ID", "quinn@example.com")]
        ),
        endpoint="GET /users/quinn@example.com/profile",
        correlation_id="quinn@example.com",
    )
    clean = sanitised(exchange, None)
    assert "quinn" not in (clean.endpoint or "") + (clean.correlation_id or "")
    assert identify(exchange.request) == identify(clean.request) == "GET /users/{email}/profile"


# -- bodies -------------------------------------------------------------------------------------


def test_a_changed_body_states_its_new_length_and_the_echo_of_it_follows() -> None:
    body = b"password=hunter22&note=hi"
    request = make_request(
        method="POST",
        body=body,
        headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", str(len(body))),
        ],
    )
    echo = orjson.dumps({"headers": {"Content-Length": str(len(body))}, "form": {"note": "hi"}})
    response = make_response(
        body=echo,
        headers=[("Content-Type", "application/json"), ("Content-Length", str(len(echo)))],
    )
    clean = sanitised(make_exchange(request=request, response=response))
    length = len(clean.request.body.content)
    assert length != len(body)
    assert clean.request.headers.get("content-length") == str(length)
    assert orjson.loads(clean.response.body.content)["headers"]["Content-Length"] == str(length)
    assert clean.response.headers.get("content-length") == str(len(clean.response.body.content))


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (
            [("Content-Type", "application/json"), ("Content-Encoding", "x-custom")],
            gzip.compress(b'{"password": "hunter22"}', mtime=0),
            "content-encoding",
        ),
        (
            [("Content-Type", "application/json")],
            b"[" * 1100 + b'{"password": "hunter22"}' + b"]" * 1100,
            "deeper than 1024",
        ),
        (
            [("Content-Type", "multipart/form-data; boundary=xyz")],
            b'--xyz\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter22\r\n',
            "multipart",
        ),
        (
            [("Content-Type", "application/xml")],
            b'<!DOCTYPE a [<!ENTITY p "hunter22">]><a>&p;</a>',
            "XML",
        ),
    ],
    ids=["unknown-coding", "too-deep", "bad-multipart", "xml-entity"],
)
def test_a_body_that_cannot_be_read_whole_is_dropped_with_its_reason(headers, body, reason) -> None:
    request = make_request(method="POST", headers=headers, body=body)
    clean = sanitised(make_exchange(request=request))
    assert clean.request.body == Body(b"", len(body), "")
    assert reason in clean.meta["sanitised"]["dropped_bodies"]["request"]
    assert "hunter22" not in stored(clean)


def test_duplicate_json_keys_are_each_sanitised_and_both_kept() -> None:
    body = b'{"password": "hunter22", "password": "other-one", "note": "x"}'
    request = make_request(method="POST", headers=[("Content-Type", "application/json")], body=body)
    content = sanitised(make_exchange(request=request)).request.body.content
    assert b"hunter22" not in content and b"other-one" not in content
    assert content.count(b'"password"') == 2


def test_multipart_fields_and_file_parts_are_sanitised_by_their_own_types() -> None:
    body = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="new_password"\r\n\r\nhunter22\r\n'
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="cv"; filename="cv.json"\r\n'
        b"Content-Type: application/json\r\n\r\n"
        b'{"customer_name": "Quinn Harper", "id": 7}\r\n'
        b"--b0undary--\r\n"
    )
    request = make_request(
        method="POST",
        body=body,
        headers=[("Content-Type", "multipart/form-data; boundary=b0undary")],
    )
    content = sanitised(make_exchange(request=request), None).request.body.content
    assert b"hunter22" not in content and b"Quinn" not in content
    assert b'name="cv"; filename="cv.json"' in content and b'"id":7' in content
    assert content.endswith(b"--b0undary--\r\n")


def test_soap_passwords_and_xml_attributes_are_replaced_keeping_the_document() -> None:
    body = (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecext-1.0.xsd">'
        b"<soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>ann</wsse:Username>"
        b"<wsse:Password>hunter22</wsse:Password></wsse:UsernameToken></wsse:Security>"
        b'</soap:Header><soap:Body><user email="quinn@example.com"><fullName>Quinn Harper'
        b"</fullName></user></soap:Body></soap:Envelope>"
    )
    request = make_request(method="POST", body=body, headers=[("Content-Type", "text/xml")])
    content = sanitised(make_exchange(request=request), None).request.body.content
    for secret in (b"hunter22", b"quinn@", b"Quinn Harper"):
        assert secret not in content
    # Below <wsse:UsernameToken> every value is a token's part, as below a JSON "token" key.
    assert b"<wsse:Password>[redacted:token]</wsse:Password>" in content
    assert b'<user email="[redacted:email]"><fullName>[redacted:name]</fullName>' in content


def test_ndjson_lines_and_graphql_literals_are_read() -> None:
    lines = b'{"id": 1}\n{"password": "hunter22"}\n\n{"id": 3}\n'
    request = make_request(
        method="POST", body=lines, headers=[("Content-Type", "application/x-ndjson")]
    )
    content = sanitised(make_exchange(request=request)).request.body.content
    assert b"hunter22" not in content and content.count(b"\n") == 4
    document = 'mutation { login(user: "ann", password: "hunter22") { token } }'
    graphql = make_request(
        method="POST",
        path="/graphql",
        body=json.dumps({"query": document}).encode(),
        headers=[("Content-Type", "application/json")],
    )
    query = orjson.loads(sanitised(make_exchange(request=graphql)).request.body.content)["query"]
    assert query == 'mutation { login(user: "ann", password: "[redacted:password]") { token } }'


def test_encoded_emails_in_html_and_names_in_free_text_are_found() -> None:
    html = b"<p>Write to quinn&#64;example.com or quinn%40example.com. Quinn Harper, Leeds</p>"
    response = make_response(body=html, headers=[("Content-Type", "text/html")])
    content = sanitised(make_exchange(response=response), None).response.body.content
    assert b"quinn" not in content.lower() and b"Harper" not in content


# -- what is stored is a request that can be sent ------------------------------------------------


def test_every_sanitised_request_is_valid_http() -> None:
    request = make_request(
        path="/base64/SFRUUEJJTiBpcyBhd2Vzb21l/quinn@example.com",
        query=[("token", "abc def ghi jkl mno"), ("quinn@example.com", "x")],
        headers=[
            ("Host", "127.0.0.1:8000"),
            ("X-AKIAIOSFODNN7EXAMPLE", "1"),
            ("X-Note", "quinn@example.com"),
        ],
    )
    for key in (KEY, None):
        clean = sanitised(make_exchange(request=request), key).request
        assert clean.path.startswith("/")
        h11.Request(method=clean.method, target=clean.target, headers=list(clean.headers))


def test_scan_never_prints_a_value_nor_a_name_holding_one() -> None:
    exchange = make_exchange(
        request=make_request(
            path="/users/quinn@example.com",
            query=[("quinn@example.com", "1")],
            headers=[("X-Session-Token", "s3cr3t-s3ss10n"), ("X-Note", "call +44 20 7946 0958")],
        )
    )
    found = list(suspects(exchange))
    printed = "\n".join(suspect.describe() for suspect in found)
    assert len(found) >= 4
    for secret in ("quinn", "s3cr3t", "7946"):
        assert secret not in printed
    assert "credential header" in printed
