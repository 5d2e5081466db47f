"""Insurance number (openIMIS ``chf_id``, FHIR ``Patient.identifier`` Code) format rules.

DOMAIN.md §6 "Insurance number (CHFID) validation" ([INSUREE] ``services.py``
``validate_insuree_number``, ``apps.py``):

    optional exact length (``insuree_number_length``); optional checksum
    ``insuree_number_modulo_root``: 10 -> Luhn algorithm; other n ->
    int(all but last digit) mod n must equal the last digit.
    Error codes: 1 taken, 2 empty, 3 wrong length, 4 bad checksum, ...
    Legacy generator: 9 digits = 8-digit random number zero-padded +
    (number mod 7) check digit ([DB] ``uspCreateCHFID.sql``).

What openIMIS does and what we keep or fix:

* Modulo root 0 or absent: openIMIS tests the setting for truthiness, so no
  checksum is applied. Kept (``modulo_root`` ``None`` or ``0``).
* Length 0 or absent: no length rule. Kept.
* openIMIS only rejects an empty number when a length is configured; an empty
  number is never a usable identifier, so we always refuse it (``empty``).
* With a checksum configured openIMIS calls ``int()`` on the number and turns
  the crash into error 5 "validation exception"; we refuse non-digits up
  front with ``not-digits``. Without a checksum openIMIS accepts any
  characters (the IG only caps the Code at 12 characters); kept.
* With mod-n and n > 10 a "last digit" can never equal a remainder >= 10; such
  numbers are simply invalid, as in openIMIS.

Uniqueness among current insurees (error 1) needs the store and is not decided
here. The legacy reason numbers are returned in ``details["openimis_code"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server.insurance.decisions import Decision

LUHN_MODULO = 10
"""The modulo root that selects the Luhn algorithm instead of plain mod-n."""

_OPENIMIS_CODES = {"empty": 2, "length": 3, "checksum": 4, "not-digits": 5}


@dataclass(frozen=True)
class InsuranceNumberRules:
    """The scheme's configuration (openIMIS ``InsureeConfig``).

    ``length``: exact number of characters, ``None``/0 = any length.
    ``modulo_root``: 10 = Luhn, n >= 2 = mod-n on the last digit, ``None``/0 = no checksum.
    """

    length: int | None = None
    modulo_root: int | None = None

    def __post_init__(self) -> None:
        if self.length is not None and self.length < 0:
            raise ValueError("insurance number length must be >= 0")
        if self.modulo_root is not None and (self.modulo_root < 0 or self.modulo_root == 1):
            raise ValueError("insurance number modulo root must be 0 (none), 10 (Luhn) or >= 2")


def luhn_check_digit(payload: str) -> int:
    """The Luhn digit to append to ``payload`` (digits only).

    Luhn: from the rightmost digit of the full number (check digit included),
    double every second digit, subtract 9 from doubled values above 9, and the
    sum must be a multiple of 10. For the payload alone the doubling therefore
    starts at its rightmost digit.
    """
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    """True when ``number`` (digits only, >= 2 long) passes the Luhn check."""
    return len(number) >= 2 and luhn_check_digit(number[:-1]) == int(number[-1])


def checksum_digit(payload: str, modulo_root: int) -> int:
    """The check digit that makes ``payload + digit`` valid for ``modulo_root``.

    10 -> Luhn; n -> int(payload) mod n (only a single digit when n <= 10;
    for n > 10 a remainder of 10 or more has no valid check digit and
    ``ValueError`` is raised).
    """
    if not payload.isdigit() or not payload.isascii():
        raise ValueError("payload must be ASCII digits")
    if modulo_root == LUHN_MODULO:
        return luhn_check_digit(payload)
    if modulo_root < 2:
        raise ValueError("modulo root must be >= 2")
    digit = int(payload) % modulo_root
    if digit > 9:
        raise ValueError(f"{payload} mod {modulo_root} = {digit} is not a single digit")
    return digit


def with_checksum(payload: str, modulo_root: int) -> str:
    """``payload`` followed by its check digit."""
    return payload + str(checksum_digit(payload, modulo_root))


def validate_insurance_number(number: str, rules: InsuranceNumberRules) -> Decision:
    """Check the format of an insurance number (DOMAIN.md §6); not its uniqueness.

    Order as openIMIS: empty, then length, then checksum. Reasons:
    ``empty``, ``length``, ``not-digits``, ``checksum``; ``valid`` when accepted.
    """
    if number == "":
        return _refuse("empty", "The insurance number is empty", number)
    if rules.length and len(number) != rules.length:
        return _refuse(
            "length",
            f"The insurance number {number!r} has {len(number)} characters; "
            f"it must have exactly {rules.length}",
            number,
            expected_length=rules.length,
        )
    if rules.modulo_root:
        if not (number.isascii() and number.isdigit()):
            return _refuse(
                "not-digits",
                f"The insurance number {number!r} must contain only the digits 0-9",
                number,
            )
        if rules.modulo_root == LUHN_MODULO:
            if not luhn_valid(number):
                return _refuse(
                    "checksum",
                    f"The insurance number {number!r} fails the Luhn (modulo 10) check digit",
                    number,
                    modulo_root=LUHN_MODULO,
                )
        elif len(number) < 2 or int(number[:-1]) % rules.modulo_root != int(number[-1]):
            return _refuse(
                "checksum",
                f"The insurance number {number!r} fails the modulo {rules.modulo_root} check digit "
                f"(the number without its last digit, modulo {rules.modulo_root}, must equal the last digit)",
                number,
                modulo_root=rules.modulo_root,
            )
    return Decision.accept("valid", f"The insurance number {number!r} is well formed", number=number)


def _refuse(reason: str, message: str, number: str, **details: object) -> Decision:
    return Decision.refuse(reason, message, number=number, openimis_code=_OPENIMIS_CODES[reason], **details)
