"""Insurance number format rules (DOMAIN.md §6): length, digits, Luhn and mod-n check digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_server.insurance.insurance_number import (
    InsuranceNumberRules,
    checksum_digit,
    luhn_valid,
    validate_insurance_number,
    with_checksum,
)

LUHN = InsuranceNumberRules(modulo_root=10)
LEGACY = InsuranceNumberRules(length=9, modulo_root=7)  # [DB] uspCreateCHFID: 8 digits + (number mod 7)


@pytest.mark.parametrize(
    ("number", "rules", "ok", "reason"),
    [
        # no rules configured: anything non-empty is accepted (openIMIS, IG Code is free text)
        ("ABC-12", InsuranceNumberRules(), True, "valid"),
        ("", InsuranceNumberRules(), False, "empty"),
        # modulo root 0 means "no checksum" in openIMIS (falsy setting)
        ("123456789", InsuranceNumberRules(modulo_root=0), True, "valid"),
        ("12345678X", InsuranceNumberRules(modulo_root=0), True, "valid"),
        # exact length
        ("123456789", InsuranceNumberRules(length=9), True, "valid"),
        ("12345678", InsuranceNumberRules(length=9), False, "length"),
        ("1234567890", InsuranceNumberRules(length=9), False, "length"),
        ("", InsuranceNumberRules(length=9), False, "empty"),
        # Luhn (modulo 10): the classic worked example 7992739871 -> check digit 3
        ("79927398713", LUHN, True, "valid"),
        ("79927398710", LUHN, False, "checksum"),
        ("79927398731", LUHN, False, "checksum"),  # transposed last two digits
        ("0", LUHN, False, "checksum"),  # a single digit has no payload
        ("00", LUHN, True, "valid"),
        ("7992739871A", LUHN, False, "not-digits"),
        ("７９９２７３９８７１３", LUHN, False, "not-digits"),  # full-width digits are not ASCII
        # mod-n on the last digit: int(all but last) mod n == last digit
        ("123456782", LEGACY, True, "valid"),  # 12345678 mod 7 = 2
        ("123456783", LEGACY, False, "checksum"),
        ("000000000", LEGACY, True, "valid"),
        ("12345678", LEGACY, False, "length"),  # length is checked before the checksum
        ("12345678a", LEGACY, False, "not-digits"),
        ("1234", InsuranceNumberRules(modulo_root=9), False, "checksum"),  # 123 = 13 * 9 + 6
        ("1236", InsuranceNumberRules(modulo_root=9), True, "valid"),
        # mod 11: a remainder of 10 can never be matched by one digit
        ("100", InsuranceNumberRules(modulo_root=11), False, "checksum"),  # 10 mod 11 = 10
        ("111", InsuranceNumberRules(modulo_root=11), False, "checksum"),  # 11 mod 11 = 0
        ("110", InsuranceNumberRules(modulo_root=11), True, "valid"),
    ],
)
def test_validate_table(number: str, rules: InsuranceNumberRules, ok: bool, reason: str) -> None:
    decision = validate_insurance_number(number, rules)
    assert (decision.ok, decision.reason) == (ok, reason)
    assert decision.message
    assert decision.details["number"] == number


def test_refusals_carry_openimis_error_codes_and_clear_messages() -> None:
    empty = validate_insurance_number("", InsuranceNumberRules(length=9))
    assert empty.details["openimis_code"] == 2
    length = validate_insurance_number("1234", InsuranceNumberRules(length=9))
    assert length.details["openimis_code"] == 3
    assert length.details["expected_length"] == 9
    assert "exactly 9" in length.message and "4 characters" in length.message
    checksum = validate_insurance_number("123456783", LEGACY)
    assert checksum.details["openimis_code"] == 4
    assert checksum.details["modulo_root"] == 7
    assert "modulo 7" in checksum.message
    luhn = validate_insurance_number("79927398710", LUHN)
    assert "Luhn" in luhn.message
    digits = validate_insurance_number("12345678a", LEGACY)
    assert digits.details["openimis_code"] == 5
    assert "digits" in digits.message


def test_checksum_digit_known_values() -> None:
    assert checksum_digit("7992739871", 10) == 3
    assert checksum_digit("12345678", 7) == 2
    assert with_checksum("12345678", 7) == "123456782"
    assert checksum_digit("0", 2) == 0
    assert checksum_digit("1", 2) == 1


@pytest.mark.parametrize(
    ("payload", "modulo_root"),
    [("12a", 10), ("", 7), ("10", 11), ("5", 1), ("5", 0)],
)
def test_checksum_digit_refuses_impossible_inputs(payload: str, modulo_root: int) -> None:
    with pytest.raises(ValueError):
        checksum_digit(payload, modulo_root)


@pytest.mark.parametrize(("length", "modulo_root"), [(-1, None), (None, 1), (None, -3)])
def test_rules_refuse_nonsense_configuration(length: int | None, modulo_root: int | None) -> None:
    with pytest.raises(ValueError):
        InsuranceNumberRules(length=length, modulo_root=modulo_root)


payloads = st.text(alphabet="0123456789", min_size=1, max_size=15)


@given(payloads, st.integers(min_value=2, max_value=10))
def test_generated_number_always_validates(payload: str, modulo_root: int) -> None:
    number = with_checksum(payload, modulo_root)
    rules = InsuranceNumberRules(length=len(number), modulo_root=modulo_root)
    decision = validate_insurance_number(number, rules)
    assert decision.ok, decision.message


@given(payloads, st.data())
def test_luhn_detects_every_single_digit_change(payload: str, data: st.DataObject) -> None:
    number = with_checksum(payload, 10)
    position = data.draw(st.integers(min_value=0, max_value=len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    assert not luhn_valid(changed)
    assert validate_insurance_number(changed, LUHN).reason == "checksum"


@given(payloads, st.integers(min_value=2, max_value=10))
def test_exactly_one_check_digit_is_valid(payload: str, modulo_root: int) -> None:
    rules = InsuranceNumberRules(modulo_root=modulo_root)
    valid = [d for d in "0123456789" if validate_insurance_number(payload + d, rules).ok]
    if modulo_root == 10:
        assert valid == [str(checksum_digit(payload, 10))]
    else:
        # mod-n: the check digit equals the remainder; a digit >= n is never the remainder
        assert valid == [str(int(payload) % modulo_root)]
