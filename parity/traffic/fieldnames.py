"""Field names that announce sensitive values: ``email``, ``last_name``, ``password``.

`kind_of_field` judges a JSON key, form field, query parameter or header name
by its words, as people write them (``newPassword``, ``user[password]``,
``customer_name``), from the word tables here. What a value looks like is the
other evidence, judged by `parity.traffic.detectors`.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from parity.traffic.kinds import Kind

__all__ = ["kind_of_field"]

_FIELDS: Final = {
    Kind.NAME: "name fullname firstname lastname surname givenname familyname middlename "
    "forename maidenname nickname displayname username contactname cardholder "
    "cardholdername accountholder",
    Kind.EMAIL: "email emailaddress mail useremail contactemail",
    Kind.PHONE: "phone phonenumber mobile mobilenumber telephone tel cellphone fax msisdn",
    Kind.ADDRESS: "address streetaddress street addressline1 addressline2 addressline3 "
    "homeaddress postaladdress billingaddress shippingaddress postcode zipcode zip "
    "postalcode",
    Kind.BIRTH_DATE: "dob dateofbirth birthdate birthday",
    Kind.NATIONAL_ID: "ssn socialsecuritynumber nationalid nationalidnumber nino "
    "nationalinsurancenumber passport passportnumber taxid tin driverslicense "
    "driverlicense licensenumber iban accountnumber",
    Kind.CARD: "card cardnumber ccnumber creditcard creditcardnumber pan",
    Kind.IP: "ip ipaddress clientip remoteaddr remoteip",
    Kind.PASSWORD: "password passwd pwd passphrase pass passcode pin pincode cvv cvc cvv2 "
    "securitycode otp otpcode totp mfacode verificationcode",
    Kind.TOKEN: "token secret clientsecret accesstoken refreshtoken idtoken apikey apitoken "
    "authtoken authorization privatekey sessionid session sessiontoken csrftoken "
    "xsrftoken signature sig hmac secretkey accesskey signingkey encryptionkey masterkey "
    "sessionkey clientkey consumerkey consumersecret appsecret credential credentials "
    "xamzsignature xamzcredential xamzsecuritytoken xgoogsignature xgoogcredential",
}
_FIELD_KINDS: Final = {name: kind for kind, names in _FIELDS.items() for name in names.split()}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
#: A field name's words, as people write names: camelCase, snake_case, kebab-case,
#: dotted, bracketed (``user[password]``), ACRONYMS.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
#: Words that qualify a field without changing what it holds: ``new_password`` and
#: ``password_confirmation`` hold passwords.
_PREFIXES: Final = frozenset(
    [
        "new",
        "old",
        "current",
        "confirm",
        "confirmed",
        "repeat",
        "repeated",
        "verify",
        "plain",
        "raw",
        "encrypted",
        "hashed",
        "temp",
        "temporary",
        "initial",
        "previous",
        "primary",
        "secondary",
    ]
)
_SUFFIXES: Final = frozenset(
    [
        "confirmation",
        "confirm",
        "confirmed",
        "hash",
        "hashed",
        "again",
        "repeat",
        "verify",
        "digest",
        "value",
        "plain",
        "raw",
        "encrypted",
        "enc",
        "text",
        "str",
        "string",
        "field",
        "input",
    ]
)
#: Words that make any field holding them a secret, wherever they stand in its name.
_SECRET_WORDS: Final = {
    "password": Kind.PASSWORD,
    "passwd": Kind.PASSWORD,
    "pwd": Kind.PASSWORD,
    "passphrase": Kind.PASSWORD,
    "passcode": Kind.PASSWORD,
    "cvv": Kind.PASSWORD,
    "cvc": Kind.PASSWORD,
    "otp": Kind.PASSWORD,
    "totp": Kind.PASSWORD,
    "pin": Kind.PASSWORD,
    "secret": Kind.TOKEN,
    "token": Kind.TOKEN,
    "signature": Kind.TOKEN,
    "credential": Kind.TOKEN,
    "credentials": Kind.TOKEN,
    "auth": Kind.TOKEN,
    "authorization": Kind.TOKEN,
    "cookie": Kind.TOKEN,
    "apikey": Kind.TOKEN,
}
#: ``page_token`` and the like are cursors for the next page, not credentials: replaying a
#: paginated conversation needs them as they were.
_CURSOR_WORDS: Final = frozenset({"page", "next", "continuation", "pagination", "cursor", "sync"})
#: Words ending a field whose data is about a person whatever qualifies it
#: (``mobile_phone``, ``contact_email``, ``home_postcode``).
_PERSONAL_LAST: Final = {
    "email": Kind.EMAIL,
    "phone": Kind.PHONE,
    "mobile": Kind.PHONE,
    "telephone": Kind.PHONE,
    "fax": Kind.PHONE,
    "ssn": Kind.NATIONAL_ID,
    "iban": Kind.NATIONAL_ID,
    "passport": Kind.NATIONAL_ID,
    "dob": Kind.BIRTH_DATE,
    "birthday": Kind.BIRTH_DATE,
    "birthdate": Kind.BIRTH_DATE,
    "postcode": Kind.ADDRESS,
    "zipcode": Kind.ADDRESS,
    "postalcode": Kind.ADDRESS,
}
#: Words that say a ``..._name`` or ``..._address`` field is a person's: ``customer_name``
#: is, ``operation_name``, ``file_name`` and ``server_address`` are not.
_PERSON_WORDS: Final = frozenset(
    [
        "first",
        "last",
        "middle",
        "given",
        "family",
        "sur",
        "full",
        "nick",
        "maiden",
        "display",
        "legal",
        "real",
        "preferred",
        "customer",
        "user",
        "account",
        "contact",
        "holder",
        "card",
        "cardholder",
        "person",
        "billing",
        "shipping",
        "mailing",
        "delivery",
        "home",
        "work",
        "recipient",
        "sender",
        "patient",
        "employee",
        "member",
        "owner",
        "buyer",
        "seller",
        "guardian",
        "parent",
        "spouse",
        "beneficiary",
        "payee",
        "payer",
        "driver",
        "passenger",
        "guest",
        "student",
        "client",
        "applicant",
        "street",
        "postal",
        "residential",
        "emergency",
    ]
)


@functools.lru_cache(maxsize=8192)
def kind_of_field(name: str) -> Kind | None:
    """The kind of personal data or secret a field of this name holds, or None.

    Names are compared without case, separators or punctuation, so
    ``first_name``, ``firstName`` and ``First-Name`` are one name; and by their
    words, as people write them: ``newPassword``, ``user[password]``,
    ``password_confirmation``, ``card_cvv`` and ``otp_code`` hold secrets,
    ``customer_name`` and ``mobile_phone`` personal data.
    """
    folded = name.lower()
    if folded.isalnum():
        kind = _FIELD_KINDS.get(folded)
    else:
        # The common separators first: a regex substitution costs five times as much.
        folded = folded.replace(" ", "").replace("_", "").replace("-", "")
        if not (folded.isascii() and folded.isalnum()):
            folded = _NOT_ALNUM.sub("", folded)
        kind = _FIELD_KINDS.get(folded)
    if kind is not None or not folded:
        return kind
    return _kind_of_words([word.lower() for word in _WORDS.findall(name)])


def _kind_of_words(words: list[str]) -> Kind | None:
    while len(words) > 1 and words[0] in _PREFIXES:
        words = words[1:]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words = words[:-1]
    if not words:
        return None
    kind = _FIELD_KINDS.get("".join(words))
    if kind is not None:
        return kind
    if len(words) >= 2:
        kind = _FIELD_KINDS.get(words[-2] + words[-1])
        if kind is not None and (kind.secret or words[-2] in _PERSON_WORDS or len(words) == 2):
            return kind
    for index, word in enumerate(words):
        secret = _SECRET_WORDS.get(word)
        if secret is not None and not (index and words[index - 1] in _CURSOR_WORDS):
            return secret
    last = words[-1]
    personal = _PERSONAL_LAST.get(last)
    if personal is not None:
        return personal
    if last == "pass":
        return Kind.PASSWORD
    if last in ("name", "address") and len(words) >= 2 and words[-2] in _PERSON_WORDS:
        return Kind.NAME if last == "name" else Kind.ADDRESS
    return None
