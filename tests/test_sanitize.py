"""Sanitising: planted secrets and personal data never survive, and pseudonyms keep relations."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import random
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic import detectors
from parity.traffic.detectors import Finder, find, luhn_valid
from parity.traffic.exchange import Body, Exchange
from parity.traffic.fieldnames import _FIELD_KINDS as FIELD_KINDS
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from tests.factories import T0, make_exchange, make_request, make_response

KEY = b"test-key-never-stored"
ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def sanitised(exchange: Exchange, key: bytes | None = KEY) -> Exchange:
    return Sanitiser(Pseudonymiser(key))(exchange)


def encoded(exchange: Exchange) -> str:
    return orjson.dumps(exchange.to_record()).decode()


def json_exchange(request_doc: Any = None, response_doc: Any = None, **request: Any) -> Exchange:
    headers = [("Content-Type", "application/json")]
    return make_exchange(
        request=make_request(
            method="POST",
            headers=request.pop("headers", headers),
            body=orjson.dumps(request_doc) if request_doc is not None else b"",
            **request,
        ),
        response=make_response(headers=headers, body=orjson.dumps(response_doc or {})),
    )


# -- planted values of every kind --------------------------------------------------------------


def _luhn_completed(prefix: str, length: int, filler: str) -> str:
    body = (prefix + filler)[: length - 1]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


cards = st.builds(
    _luhn_completed,
    st.sampled_from(["4", "51", "55", "37", "6011"]),
    st.sampled_from([15, 16]),
    st.text("0123456789", min_size=18, max_size=18),
)


def _generated(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(ALPHANUMERIC) for _ in range(rng.randint(32, 48)))


#: Generated secrets are random, so they come from a seed: shrinking the characters
#: themselves towards "aaaa..." would test strings that are no longer secrets.
tokens = (
    st.integers(0, 2**32)
    .map(_generated)
    .filter(
        lambda t: (
            any(c.isdigit() for c in t)
            and any(c.isupper() for c in t)
            and any(c.islower() for c in t)
        )
    )
)
planted = st.one_of(
    st.builds(
        "{}.{}@{}.com".format,
        st.text("abcdefghij", min_size=3, max_size=8),
        st.text("klmnopqrst", min_size=3, max_size=8),
        st.text("uvwxyz", min_size=3, max_size=6),
    ),
    st.builds(
        lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}",
        st.text(ALPHANUMERIC, min_size=10, max_size=20),
        st.text(ALPHANUMERIC, min_size=10, max_size=30),
        st.text(ALPHANUMERIC, min_size=10, max_size=30),
    ),
    st.builds(
        lambda t: "AKIA" + t, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16)
    ),
    tokens,
    st.builds(
        lambda body: f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----",
        st.text(ALPHANUMERIC, min_size=20, max_size=60),
    ),
    cards,
    st.builds("+44 20 {} {}".format, st.integers(1000, 9999), st.integers(1000, 9999)),
    st.builds(
        "({}) {}-{}".format, st.integers(201, 989), st.integers(200, 999), st.integers(1000, 9999)
    ),
    st.ip_addresses(v=4).filter(lambda ip: ip.packed[0] not in (0, 127)).map(str),
    st.ip_addresses(v=6)
    .filter(lambda ip: ip.exploded.count("0000") < 4)
    .map(lambda ip: ip.exploded),
    st.builds(
        "{:03d}-{:02d}-{:04d}".format,
        st.integers(100, 665),
        st.integers(10, 99),
        st.integers(1000, 9999),
    ),
    st.builds(
        "{}{}{:06d}{}".format,
        st.sampled_from("ABCEGHJKLMNPRSTWXYZ"),
        st.sampled_from("ABCEGHJKLMNPRSTWXYZ"),
        st.integers(0, 999999),
        st.sampled_from("ABCD"),
    ),
)
places = st.sampled_from(
    [
        "header",
        "query",
        "cookie",
        "json",
        "json-key",
        "deep-json",
        "graphql",
        "text",
        "path",
        "response",
    ]
)
words = st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


def _plant(place: str, value: str, filler: str) -> Exchange:
    json_headers = [("Content-Type", "application/json")]
    if place == "header":
        return make_exchange(
            request=make_request(headers=[("X-Note", f"{filler} {value} {filler}")])
        )
    if place == "query":
        return make_exchange(request=make_request(query=[("q", f"{filler} {value}"), ("n", "1")]))
    if place == "cookie":
        return make_exchange(request=make_request(headers=[("Cookie", f"sid={value}; a=b")]))
    if place == "json":
        return json_exchange({"note": f"{filler} {value} {filler}", "count": 3})
    if place == "json-key":  # maps keyed by email address, say
        return json_exchange({"by": {value: {filler: 1}, filler: 2}})
    if place == "deep-json":
        document: Any = {filler: [1, {"text": value}]}
        for _ in range(30):
            document = {"level": [document, filler]}
        return json_exchange(document)
    if place == "graphql":
        body = {
            "query": "query Find($who: String) { user(id: $who) { id } }",
            "variables": {"who": value, "limit": 5},
        }
        return json_exchange(body, path="/graphql")
    if place == "text":
        return make_exchange(
            request=make_request(
                method="POST",
                headers=[("Content-Type", "text/plain")],
                body=f"Dear {filler},\n{value}\nregards".encode(),
            )
        )
    if place == "path":
        return make_exchange(request=make_request(path=f"/api/{filler}/{quote(value, safe='')}"))
    return make_exchange(
        response=make_response(
            headers=json_headers,
            body=orjson.dumps({"items": [{"detail": f"{filler}: {value}"}]}),
        )
    )


def _forms(value: str) -> set[str]:
    """How `value` could appear in an encoded record: as is, JSON-escaped (once, or twice
    inside a JSON body stored as text), URL-encoded, base64."""
    escaped = json.dumps(value)[1:-1]
    forms = {
        value,
        escaped,
        json.dumps(escaped)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(value.encode()).decode(),
    }
    return {form for form in forms if len(form) >= 4}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=planted, place=places, filler=words, keyed=st.booleans())
def test_no_planted_value_survives_anywhere_in_the_record(value, place, filler, keyed) -> None:
    exchange = _plant(place, value, filler)
    assert any(form in encoded(exchange) for form in _forms(value))  # planted indeed
    record = encoded(sanitised(exchange, KEY if keyed else None))
    for form in _forms(value):
        assert form not in record, (place, value, form)


@settings(max_examples=100, deadline=None)
@given(token=tokens, place=st.sampled_from(["header", "json", "text"]), filler=words)
def test_bearer_tokens_in_text_are_removed(token, place, filler) -> None:
    record = encoded(sanitised(_plant(place, f"Authorization: Bearer {token}", filler)))
    assert token not in record


@settings(max_examples=100, deadline=None)
@given(
    name=st.text("abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=10).map(str.title),
    field=st.sampled_from(["name", "firstName", "last_name", "Surname", "full-name"]),
)
def test_a_value_caught_by_its_field_is_replaced_everywhere_else_too(name, field) -> None:
    exchange = json_exchange(
        {field: name, "notes": f"spoke to {name} today"},
        {"greeting": f"Hello {name}!"},
        query=[("who", name)],
    )
    record = encoded(sanitised(exchange))
    assert name not in record


# -- relations survive ---------------------------------------------------------------------------


def test_the_same_email_gets_the_same_pseudonym_in_request_response_and_dependency() -> None:
    email = "Jane.Doe@corp.example.org"
    inbound = json_exchange(
        {"email": email}, {"owner": email.lower(), "id": 7}, query=[("contact", email)]
    )
    # The call the monolith made to a dependency while answering, recorded beside it.
    dependency = dataclasses.replace(
        json_exchange({"user": {"mail": email}}, path="/directory/lookup"),
        correlation_id="req-42",
        parent_id=inbound.id,
    )
    inbound = dataclasses.replace(inbound, correlation_id="req-42")
    clean, call = sanitised(inbound), sanitised(dependency)
    assert (call.correlation_id, call.parent_id) == ("req-42", inbound.id)
    token = json.loads(clean.request.body.content)["email"]
    assert re.fullmatch(r"user-[0-9a-f]{12}@example\.com", token)
    assert json.loads(clean.response.body.content)["owner"] == token
    assert clean.request.query.get("contact") == token
    assert json.loads(call.request.body.content)["user"]["mail"] == token
    other = sanitised(inbound, b"another key")
    assert json.loads(other.request.body.content)["email"] != token


def test_pseudonyms_keep_their_shape() -> None:
    pseudonymiser = Pseudonymiser(KEY)
    replaced = pseudonymiser.replace
    assert uuid.UUID(replaced(Kind.PERSONAL, str(uuid.uuid4()))).version == 4
    assert ipaddress.ip_address(replaced(Kind.IP, "81.2.69.142")).is_private  # documentation nets
    assert ipaddress.ip_address(replaced(Kind.IP, "2a00:1450:4009:81f::200e")) in (
        ipaddress.ip_network("2001:db8::/32")
    )
    date.fromisoformat(replaced(Kind.BIRTH_DATE, "1984-02-29"))
    card = replaced(Kind.CARD, "4111 1111 1111 1111")
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", card)
    assert luhn_valid(card.replace(" ", ""))
    assert not find(card)  # no longer looks like a real card (brand prefixes are kept out)
    assert re.fullmatch(
        r"[A-Z][a-z]+ [A-Z][a-z]+-[A-Z][a-z]+", replaced(Kind.NAME, "Mary Ann-Smith")
    )
    assert pseudonymiser.replace_number(Kind.PHONE, 4155550123) >= 10**9


def test_secrets_are_redacted_even_with_a_key_and_everything_without_one() -> None:
    exchange = json_exchange({"password": "hunter2hunter2", "email": "a.person@mail.example.com"})
    keyed = json.loads(sanitised(exchange).request.body.content)
    assert keyed["password"] == "[redacted:password]"
    assert keyed["email"].endswith("@example.com")
    unkeyed = json.loads(sanitised(exchange, None).request.body.content)
    assert unkeyed == {"password": "[redacted:password]", "email": "[redacted:email]"}


def test_credential_headers_are_dropped_and_their_values_removed_elsewhere() -> None:
    session = "s3ss10n-9f8e7d6c5b"
    exchange = make_exchange(
        request=make_request(
            headers=[
                ("Cookie", f"sid={session}; theme=dark"),
                ("Authorization", "Bearer abcdefghijklmnopqrstuvwx0123"),
            ]
        ),
        response=make_response(
            headers=[("Set-Cookie", f"sid={session}; HttpOnly"), ("Content-Type", "text/plain")],
            body=f"your session is {session}".encode(),
        ),
    )
    clean = sanitised(exchange)
    assert "cookie" not in clean.request.headers and "authorization" not in clean.request.headers
    assert "set-cookie" not in clean.response.headers
    assert clean.response.body.content == b"your session is [redacted:token]"
    changed = clean.meta["sanitised"]["changed"]
    assert changed["header:cookie"] == changed["header:set-cookie"] == 1
    assert changed["cookie:sid"] == 2
    assert changed["cookie:theme"] == 1
    assert clean.meta["sanitised"]["key"].startswith("hmac-sha256:")
    assert KEY.decode() not in encoded(clean)


# -- what is left alone --------------------------------------------------------------------------

ORDINARY = {
    "order": "ORD-2026-000123",
    "orders": [1234567890123, 4111111111111112, 98765],
    "created": "2026-11-24T10:00:00Z",
    "epoch": 1795406400,
    "price": "1249.99",
    "versions": ["1.2.3", "v2.14.1", "3.11.7", "10.0.1"],
    "id": "01M839EANW008P4BPFFCZXDR7X",
    "etag": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "sku": "A1B2-C3D4",
    "text": "The quick brown fox jumps over the lazy dog. Ships in 3-5 days; call us at 10:30.",
    "time": "12:30:45",
    "ratio": 0.123456789,
    "route": "/api/v1/orders/42",
}


def test_ordinary_values_are_not_taken_for_secrets_or_personal_data() -> None:
    exchange = json_exchange(ORDINARY, ORDINARY, query=[("page", "2"), ("since", "2026-11-01")])
    clean = sanitised(exchange)
    assert clean == exchange  # nothing found: the very same exchange, bytes and all
    for value in ORDINARY.values():
        for text in value if isinstance(value, list) else [value]:
            assert not find(str(text)), text


def test_ids_made_of_hex_digits_are_never_taken_for_card_numbers() -> None:
    # About one random UUID in 1,600 holds, between letters, 13 or more digits in groups
    # that pass the Luhn check; a candidate's fresh request id then compared as a card.
    rng = random.Random(1)
    for _ in range(20_000):
        value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        assert not find(value), value
    for found in (
        "card 4111 1111 1111 1111 expires",
        "4111-1111-1111-1111",
        "pan=4111111111111111",
    ):
        assert [f.kind.value for f in find(found)] == ["card"], found


#: Where a service runs and what it is asked for: nothing here is anyone's data.
ADDRESSABLE = [
    ("127.0.0.1", 8080, "/base64/SFRUUEJJTiBpcyBhd2Vzb21l"),
    ("10.0.3.17", 8443, "/api/files/aGVsbG8gd29ybGQ=/meta"),
    ("192.168.1.20", 80, "/v1/objects/dGVzdC1vYmplY3QtMQ"),
    ("::1", 9000, "/api/coupons/SAVE20/redeem"),
    ("172.16.4.2", 3000, "/api/orders/ORD-2026-000123/lines/3"),
]


@pytest.mark.parametrize(("host", "port", "path"), ADDRESSABLE)
def test_base64_parameters_service_addresses_and_short_codes_are_left_alone(
    host, port, path
) -> None:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = make_request(
        host=host,
        port=port,
        path=path,
        query=[("promo", "SPRING24"), ("ref", "X7K2"), ("lang", "en-GB"), ("currency", "EUR")],
        headers=[
            ("Host", authority),
            ("Accept-Language", "en-GB,en;q=0.9"),
            ("X-Request-Id", "r-1234"),
            ("If-None-Match", 'W/"5e-1b2c"'),
            ("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("Forwarded", "for=127.0.0.1;proto=http"),
        ],
    )
    document = {
        "self": f"http://{authority}{path}",
        "host": host,
        "status_code": "E42",
        "coupon": "SAVE20",
        "lines": [{"sku": "A1B2-C3D4", "qty": 3}],
    }
    response = make_response(
        headers=[("Content-Type", "application/json"), ("Location", f"http://{authority}/next")],
        body=orjson.dumps(document),
    )
    exchange = make_exchange(request=request, response=response)
    assert sanitised(exchange) == exchange  # bytes and all


def test_sanitising_keeps_every_field_it_has_no_reason_to_change() -> None:
    # The sanitiser builds its records field by field (quicker than dataclasses.replace):
    # a field added to Request, Response or Exchange must reach the store all the same.
    request = make_request(
        method="PATCH",
        scheme="https",
        host="api.example.test",
        port=8443,
        path="/a/b",
        query=[("q", "1")],
        headers=[("Authorization", "Bearer abcdefghijklmnop1234")],
        http_version="HTTP/2.0",
        timestamp_start=T0 + 1,
        timestamp_end=T0 + 2,
    )
    response = make_response(
        status=418,
        reason="Teapot",
        http_version="HTTP/2.0",
        timestamp_start=T0 + 3,
        timestamp_end=T0 + 4,
    )
    exchange = make_exchange(
        request=request,
        response=response,
        recorder_id="rec-1",
        endpoint="PATCH /a/b",
        correlation_id="c-1",
        parent_id="p-1",
        meta={"phase": "shadow"},
    )
    clean = sanitised(exchange)
    assert clean.request.headers != request.headers  # it did sanitise
    changed = {
        "request": {"headers"},
        "response": {"body"},
        "exchange": {"request", "response", "meta"},
    }
    for what, before, after in [
        ("request", request, clean.request),
        ("response", response, clean.response),
        ("exchange", exchange, clean),
    ]:
        for field in dataclasses.fields(before):
            if field.name not in changed[what]:
                assert getattr(after, field.name) == getattr(before, field.name), field.name
    assert clean.meta["phase"] == "shadow"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("email", Kind.EMAIL),
        ("First-Name", Kind.NAME),
        ("date_of_birth", Kind.BIRTH_DATE),
        ("postCode", Kind.ADDRESS),
        ("api_key", Kind.TOKEN),
        ("order_id", None),
        ("title", None),
    ],
)
def test_field_names_are_matched_without_case_or_separators(name, kind) -> None:
    assert kind_of_field(name) is kind


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(
        st.one_of(
            planted,
            words,
            st.sampled_from([str(v) for v in ORDINARY.values()]),
            st.builds("{} {} {}".format, words, planted, words),
        ),
        max_size=12,
    )
)
def test_searching_texts_together_finds_what_searching_each_finds(texts) -> None:
    expected = [(text, find(text)) for text in texts if find(text)]
    assert Finder().many(texts) == expected
    finder = Finder()
    finder.many(texts)
    assert finder.many(texts) == expected  # from what it remembers of each text
    assert [(text, finder(text)) for text in texts if finder(text)] == expected


def test_strings_too_short_to_hold_anything_are_known_clean_once_searched() -> None:
    # A walk queues every string the finder does not know: a body's short words (a
    # column of "golf", "echo") would otherwise come back with every body.
    finder = Finder()
    finder.many(["golf", "echo", "a sentence of words", "golf"])
    assert {"golf", "echo", "a sentence of words"} <= finder.clean
    assert finder.many(["golf", "echo"]) == []
    assert finder.many(["golf", "jane@example.org"]) == [
        ("jane@example.org", find("jane@example.org"))
    ]


def _timestamp(moment: datetime, separator: str, precision: str, zone: str) -> str:
    return moment.isoformat(separator, precision).replace("+00:00", zone)


timestamps = st.builds(
    _timestamp,
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["T", " "]),
    st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"]),
    st.sampled_from(["Z", "+00:00", "+0000", "-05:30", "+01"]),
) | st.dates().map(date.isoformat)


@settings(max_examples=300, deadline=None)
@given(text=timestamps)
def test_timestamps_which_the_detectors_skip_hold_nothing_they_find(text) -> None:
    assert detectors._HARMLESS.fullmatch(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(detectors, "_HARMLESS", re.compile("(?!)"))
        assert find(text) == []


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text("0123456789 .-+()ABCNPWXYZabc:/", min_size=7, max_size=30),
        st.builds("{} {} {}".format, words, planted, st.text("0123456789.-", max_size=8)),
    )
)
def test_numbers_with_few_digits_are_skipped_only_when_nothing_is_there(text) -> None:
    gated = find(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(detectors, "_digits_in", lambda text: 99)
        assert find(text) == gated


def _kind_by_regex(name: str) -> Kind | None:
    folded = name.lower()
    return FIELD_KINDS.get(folded if folded.isalnum() else re.sub("[^a-z0-9]", "", folded))


@settings(max_examples=300, deadline=None)
@given(
    name=st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda name, cut, separator: name[:cut] + separator + name[cut:],
            st.sampled_from(sorted(FIELD_KINDS)),
            st.integers(0, 20),
            st.sampled_from(["", " ", "_", "-", ".", "é", "__", " - "]),
        ),
    )
)
def test_field_names_fold_at_least_as_the_regex_folds_them(name) -> None:
    # The word rules (newPassword, card_cvv) only add kinds; a name the folding knows keeps its kind.
    expected = _kind_by_regex(name)
    if expected is not None:
        assert kind_of_field(name) is expected


def test_deep_and_odd_bodies_are_handled() -> None:
    def nested(depth: int) -> Exchange:
        body = b"[" * depth + b'"a.person@mail.example.com", "x\\\\y"' + b"]" * depth
        request = make_request(
            method="POST", headers=[("Content-Type", "application/json")], body=body
        )
        return sanitised(make_exchange(request=request))

    clean = nested(900).request.body.content  # parsed and walked
    assert b"a.person@" not in clean
    assert clean.startswith(b"[" * 900 + b'"user-')
    # Past the parser's depth the body cannot be read whole: dropped, its size and why kept.
    deep = nested(3000)
    assert deep.request.body == Body(b"", 6035, "")
    assert deep.meta["sanitised"]["dropped_bodies"] == {
        "request": "its JSON is nested deeper than 1024 levels"
    }
    binary = b"\x89PNG\x00\xff a.person@mail.example.com \xfe"
    clean = sanitised(make_exchange(request=make_request(method="PUT", body=binary)))
    assert b"a.person@" not in clean.request.body.content
    assert clean.request.body.content.startswith(b"\x89PNG\x00\xff user-")
    # Said to be JSON, yet not UTF-8: searched as bytes, whole or cut short.
    said = [("Content-Type", "application/json")]
    content = b'{"note": "\xff a.person@mail.example.com", "more": "\xfe'
    for body in (Body.of(content), Body(content, 5000, "0" * 64)):
        request = dataclasses.replace(make_request(method="POST", headers=said), body=body)
        clean = sanitised(make_exchange(request=request)).request.body.content
        assert b"a.person@" not in clean
        assert clean.startswith(b'{"note": "\xff user-')
    cut = Body(b'{"email": "a.person@mail.example.com", "no', 5000, "0" * 64)
    request = dataclasses.replace(make_request(method="POST"), body=cut)
    body = sanitised(make_exchange(request=request)).request.body
    assert b"a.person@" not in body.content
    assert body.size == 5000
    assert body.truncated


# -- the audit ---------------------------------------------------------------------------------


def test_scan_finds_nothing_in_sanitised_records_and_everything_in_raw_ones(
    tmp_path, capsys
) -> None:
    from benchmarks.bench_segments import make_exchanges
    from parity.cli import main
    from parity.store import LocalStore, write_exchanges

    raw = make_exchanges(60)
    planted = make_exchange(
        request=make_request(
            headers=[("X-Contact", "call +44 20 7946 0958 or mail jo.bloggs@corp.example.org")],
        )
    )
    for name, key in (("keyed", KEY), ("unkeyed", None)):
        clean = [sanitised(exchange, key) for exchange in [*raw, planted]]
        write_exchanges(LocalStore(tmp_path / name), clean, "rec")
        assert main(["scan", str(tmp_path / name)]) == 0, capsys.readouterr().out
        assert "nothing that looks like a secret" in capsys.readouterr().out
    write_exchanges(LocalStore(tmp_path / "raw"), [*raw, planted], "rec")
    assert main(["scan", str(tmp_path / "raw"), "--show", "3"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 5  # three findings, "... and N more", the summary
    # Raw records are judged by field names too: names and addresses under their keys.
    summary = out.rstrip().rsplit("\n", 1)[-1]
    assert "that look sensitive in 61 exchanges of 61: address" in summary
    assert "credential header 60, email" in summary and ", name " in summary
    assert summary.endswith("phone 1")
    assert "jo.bloggs" not in out and "7946" not in out


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.sampled_from(
        [
            "plain",
            "Ada Lovelace",
            "ORD-1",
            "x@y",
            "a.b@corp.example.org",
            "call +44 20 7946 0958",
            "10.1.2.3",
            "café",
            "tab\there",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "email", "note", "id", "items", "city", "text"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(document=json_values)
def test_the_text_fast_path_gives_what_the_walk_gives(document) -> None:
    import parity.sanitize.bodyreplacing as module

    exchange = json_exchange({"document": document})
    fast = sanitised(exchange)
    original = module.BodyReplacing._raw_safe
    module.BodyReplacing._raw_safe = lambda self, content: False  # type: ignore[method-assign]
    try:
        walked = sanitised(exchange)
    finally:
        module.BodyReplacing._raw_safe = original  # type: ignore[method-assign]
    assert orjson.loads(fast.request.body.content) == orjson.loads(walked.request.body.content)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**13), 10**13)
    | st.floats(allow_nan=False)
    | st.sampled_from(
        [
            "plain",
            "Ada Lovelace",
            "ORD-1",
            "x@y",
            "a.b@corp.example.org",
            "call +44 20 7946 0958",
            "10.1.2.3",
            "4111 1111 1111 1111",
            "ab",
        ]
    )
)
record_keys = st.sampled_from(
    ["name", "email", "note", "id", "score", "tags", "a.b@corp.example.org"]
)
pages = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(record_keys, children, max_size=4)
        # A page of records: objects with the same keys, the shape `_columns` reads by column.
        | st.lists(record_keys, min_size=1, max_size=4, unique=True).flatmap(
            lambda keys: st.lists(st.fixed_dictionaries(dict.fromkeys(keys, children)), max_size=5)
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=pages, keyed=st.booleans())
def test_lists_read_whole_find_what_reading_value_by_value_finds(document, keyed) -> None:
    """Lists of strings are read by set operations and pages of records column by column:
    what is found, and how often each rule took a value, is what a walk value by value
    finds. (Which stand-in a value found under two names gets may differ: the first one
    taken wins, and the two walks take them in another order.)"""
    from parity.sanitize import jsonwalk

    exchange = json_exchange({"page": document}, {"page": document})

    def found() -> tuple[set[str], set[str], dict[str, int], list[str]]:
        sanitiser = Sanitiser(Pseudonymiser(KEY if keyed else None))
        state = sanitiser._state(exchange)
        sanitiser._find_in(state, exchange)
        return set(state.found), set(state._whole), dict(state._counts), sorted(state._queued)

    whole = found()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonwalk, "_ROWS", 10**9)
        assert found() == whole


def test_scan_does_not_vouch_for_a_store_it_could_not_read_whole(tmp_path, capsys) -> None:
    from parity.cli import main
    from parity.store import LocalStore, write_exchanges

    write_exchanges(LocalStore(tmp_path), [sanitised(make_exchange())] * 40, "rec")
    segment = next(tmp_path.rglob("*.zst"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert main(["scan", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "1 damaged part could not be scanned; restore or delete them" in captured.out
    assert "is damaged" in captured.err


def test_pseudonyms_do_not_change_between_versions() -> None:
    # Stores recorded by one version are replayed by the next under the same key: a
    # pseudonym made differently would turn every keyed comparison into a difference.
    pseudonymiser = Pseudonymiser(KEY)
    made = {
        value: pseudonymiser.replace(Kind.NAME, value)
        for value in ("item-502", "Quinn Smith", "Zoë Ça", "quinn@example.com")
    }
    assert made == {
        "item-502": "cnxq-532",
        "Quinn Smith": "Kovze Lfjpl",
        "Zoë Ça": "Zgz Ht",
        "quinn@example.com": "user-1865ab0c5a00@example.com",
    }
    assert pseudonymiser.hashed("caller") == "hmac:b4373c2a2dc80c5f51e86a06"
    assert pseudonymiser.replace_number(Kind.PHONE, 4155550100) == 1878263064


@pytest.mark.parametrize("key", [KEY, None])
def test_a_sanitiser_crosses_a_process_boundary_unchanged(key: bytes | None) -> None:
    # The recorder hands its sanitiser to the writer process (pickled, under spawn).
    import pickle

    sanitiser = Sanitiser(Pseudonymiser(key))
    copy = pickle.loads(pickle.dumps(sanitiser))
    exchange = json_exchange(response_doc={"name": "Quinn Smith", "email": "q@example.com"})
    assert encoded(copy(exchange)) == encoded(sanitiser(exchange))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Headers", "Authorization, X-Api-Key"),
        ("WWW-Authenticate", 'Basic realm="Fake Realm"'),
    ],
)
def test_headers_that_name_credentials_without_holding_one_are_kept(name, value) -> None:
    # httpbin answers every request with Access-Control-Allow-Credentials: true.
    exchange = make_exchange(response=make_response(headers=[(name, value)], body=b""))
    assert sanitised(exchange).response.headers.get(name) == value


_HEADER_NAMES = ["Accept", "X-Note", "X-User-Email", "X-Session", "User-Agent", "X-Trace-Id"]
_HEADER_VALUES = [
    "application/json",
    "okhttp/4.12.0",
    "jane.doe@example.org",
    "c2VjcmV0LXRva2VuLWhpZGRlbi1oZXJl",  # base64 of a token-shaped text
    "4111 1111 1111 1111",
    "a0f3c9",
    "spoke to Jane Doe",
]


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(
        st.lists(
            st.tuples(st.sampled_from(_HEADER_NAMES), st.sampled_from(_HEADER_VALUES)),
            max_size=4,
        ),
        min_size=2,
        max_size=8,
    )
)
def test_what_a_sanitiser_remembers_never_changes_what_it_makes(messages) -> None:
    # A recorder keeps one sanitiser for its whole run, and it remembers header fields,
    # strings and names that held nothing: a value seen clean under one name is still
    # judged by its name under another, and each record is what a new sanitiser makes.
    kept = Sanitiser(Pseudonymiser(KEY))
    for headers in messages:
        exchange = make_exchange(
            request=make_request(headers=headers), response=make_response(headers=headers)
        )
        assert encoded(kept(exchange)) == encoded(sanitised(exchange))


@pytest.mark.parametrize(
    "document",
    [
        {"name": "Quinn Harlow", "password": "Quinn Harlow"},
        {"password": "Quinn Harlow", "name": "Quinn Harlow"},
        {"user": {"fullName": "Quinn Harlow"}, "newPassword": "Quinn Harlow"},
    ],
)
def test_a_secret_equal_to_personal_data_found_first_is_still_redacted(document) -> None:
    # A pseudonym keeps a value's length and classes of characters; a password must not
    # keep them because the same text was a name earlier in the exchange.
    stored = orjson.loads(sanitised(json_exchange(document)).request.body.content)
    texts = re.findall(r'"([^"]*)"', orjson.dumps(stored).decode())
    assert "[redacted:password]" in texts
    assert not any(re.fullmatch(r"[A-Z][a-z]{4} [A-Z][a-z]{5}", text) for text in texts)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        planted,
        st.tuples(
            st.sampled_from(["Bearer", "bearer", "BEARER", "bEaReR", "Token", "TOKEN", "ToKeN"]),
            tokens,
        ).map(" ".join),
        st.tuples(
            st.sampled_from(["Basic", "basic", "BASIC", "bAsIc"]),
            st.binary(min_size=6, max_size=30).map(lambda raw: base64.b64encode(raw).decode()),
        ).map(" ".join),
    ),
    filler=words,
)
def test_each_marker_holds_wherever_its_detector_finds_something(value, filler) -> None:
    # Detectors whose marker fails are never run (`Finder.many`): a marker that missed a
    # text its detector matches would let that value through.
    text = f"{filler} {value}\n{filler.upper()}"
    for detector in detectors._DETECTORS:
        hits: list[Kind] = []
        detector.scan(text, lambda kind, start, end: hits.append(kind))  # noqa: B023
        assert not hits or detector.marker(text), (hits, text)


@pytest.mark.parametrize("scheme", ["ToKeN", "bEaReR", "BaSiC"])
def test_credentials_written_with_a_scheme_in_any_case_are_removed(scheme) -> None:
    secret = "dXNlcjpodW50ZXIyaHVudGVy" if scheme == "BaSiC" else "q7Rt2mXw9LpA4sVb"
    exchange = json_exchange({"note": f"sent {scheme} {secret} upstream"})
    assert secret not in encoded(sanitised(exchange))


def test_a_cookie_that_repeats_personal_data_found_before_it_is_redacted_everywhere() -> None:
    # The request's body is read before the response's headers: the session cookie's
    # value was a name's pseudonym by then, and an echo of it kept that shape.
    exchange = make_exchange(
        request=make_request(
            method="POST",
            headers=[("Content-Type", "application/json")],
            body=orjson.dumps({"name": "quinnharlow42x"}),
        ),
        response=make_response(
            headers=[("Content-Type", "application/json"), ("Set-Cookie", "sid=quinnharlow42x")],
            body=orjson.dumps({"user": "quinnharlow42x"}),
        ),
    )
    stored = sanitised(exchange)
    assert orjson.loads(stored.response.body.content) == {"user": "[redacted:token]"}
    assert orjson.loads(stored.request.body.content) == {"name": "[redacted:token]"}
