"""Mortgage intake validators: what customers type, and what they are told."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from actions.mortgage_intake import (
    EmploymentType,
    LoanTerms,
    Validated,
    format_money,
    loan_to_value,
    normalize_employment_type,
    parse_amount,
    validate_annual_income,
    validate_applicant_name,
    validate_email,
    validate_loan_or_deposit,
    validate_property_value,
    validate_term_years,
)


def fullwidth(text: str) -> str:
    """Return ASCII text in full-width forms, as some phone keyboards type it."""
    return "".join(chr(ord(character) + 0xFEE0) for character in text)


ABSURD_INPUTS = [
    "",
    "   ",
    "x" * 10_000,
    "9" * 10_000,
    "1" * 5_000 + "." + "1" * 5_000,
    "-" * 10_000,
    "£" * 10_000,
    "1," * 5_000,
    "1 " * 5_000,
    "@" * 10_000,
    "a@" * 5_000,
    "🏠💷" * 2_500,
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "'; DROP TABLE mortgage_applications; --",
    "<script>alert(1)</script>",
    "\x00\x01\x02",
    "\u202e250000",  # right-to-left override
]

VALIDATORS: list[Callable[[str], Validated[Any]]] = [
    validate_property_value,
    lambda text: validate_loan_or_deposit(text, Decimal("250000")),
    validate_term_years,
    validate_annual_income,
    validate_email,
    validate_applicant_name,
    normalize_employment_type,
]


# --- parse_amount ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250000", "250000"),
        ("250k", "250000"),
        ("250K", "250000"),
        ("250 k", "250000"),
        ("£250,000", "250000"),
        ("£ 250,000", "250000"),
        ("250 000", "250000"),
        ("1 250 000", "1250000"),
        ("250,000.50", "250000.50"),
        ("£250,000.50p", "250000.50"),
        ("1.2m", "1200000"),
        ("1.2M", "1200000"),
        ("£1.5 million", "1500000"),
        ("1.5mn", "1500000"),
        ("2 mil", "2000000"),
        ("250K GBP", "250000"),
        ("GBP 250,000", "250000"),
        ("about 300k", "300000"),
        ("around £300k I think", "300000"),
        ("roughly 45 thousand", "45000"),
        ("45 grand", "45000"),
        (".5m", "500000"),
        ("0.75m", "750000"),
        ("1bn", "1000000000"),
        ("£1,234,567.89", "1234567.89"),
        ("-5000", "-5000"),
        ("-£5,000", "-5000"),
        ("£-5,000", "-5000"),
        ("\u22125000", "-5000"),  # typographic minus
        (fullwidth("0250000"), "250000"),
        ("deposit of 50k", "50000"),
        ("50k deposit", "50000"),
        ("🏠 300k 💷", "300000"),
        ("between 200k and 250k", "200000"),
        ("$250,000", "250000"),
        ("250000.", "250000"),
        ("0", "0"),
    ],
)
def test_parse_amount_understands_how_people_write_money(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "two hundred and fifty thousand",
        "a lot",
        "k",
        "£",
        "million",
        "NaN",
        "inf",
        "Infinity",
        "1e309",
        "2.5e5",
        "1.250.000",  # ambiguous: European thousands or a typo
        "250,00",
        "'; DROP TABLE x; --",
        "<b>money</b>",
    ],
)
def test_parse_amount_refuses_text_without_a_clear_number(text: str) -> None:
    assert parse_amount(text) is None


def test_parse_amount_is_linear_on_hostile_input() -> None:
    hostile = ["1," * 5_000, "1 " * 5_000, "9" * 10_000 + "e", "1." * 5_000, "£-" * 5_000]
    started = time.perf_counter()

    for text in hostile:
        parse_amount(text)

    assert time.perf_counter() - started < 0.5


# --- property value --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250k", "250000.00"),
        ("£25,000", "25000.00"),
        ("£20,000,000", "20000000.00"),
        ("20m", "20000000.00"),
        ("£349,999.995", "350000.00"),
        ("It's worth about 425k", "425000.00"),
    ],
)
def test_property_value_accepts_amounts_in_range(text: str, expected: str) -> None:
    result = validate_property_value(text)

    assert result.ok
    assert result.value == Decimal(expected)
    assert result.value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("a nice house", "couldn't find an amount"),
        ("-250000", "more than zero"),
        ("0", "more than zero"),
        ("24,999.99", "between £25,000 and £20,000,000"),
        ("20,000,000.01", "between £25,000 and £20,000,000"),
        ("1bn", "between £25,000 and £20,000,000"),
        ("9" * 10_000, "between £25,000 and £20,000,000"),
    ],
)
def test_property_value_explains_what_is_wrong(text: str, phrase: str) -> None:
    result = validate_property_value(text)

    assert not result.ok
    assert result.value is None
    assert result.error is not None
    assert phrase in result.error
    assert "£250,000" in result.error  # every message carries an example


# --- loan or deposit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "loan", "deposit", "ltv"),
    [
        ("200k", "200000.00", "50000.00", "0.8000"),
        ("I'd like to borrow £200,000", "200000.00", "50000.00", "0.8000"),
        ("deposit of 50k", "200000.00", "50000.00", "0.8000"),
        ("50k deposit", "200000.00", "50000.00", "0.8000"),
        ("My deposit is £62,500", "187500.00", "62500.00", "0.7500"),
        ("Deposit: 12.5k", "237500.00", "12500.00", "0.9500"),  # exactly 95% is allowed
        ("237,500", "237500.00", "12500.00", "0.9500"),
        ("10k", "10000.00", "240000.00", "0.0400"),
        ("deposit 240k", "10000.00", "240000.00", "0.0400"),
        ("£123,456.78", "123456.78", "126543.22", "0.4938"),
    ],
)
def test_loan_or_deposit_derives_the_other_and_the_ratio(
    text: str, loan: str, deposit: str, ltv: str
) -> None:
    result = validate_loan_or_deposit(text, Decimal("250000"))

    assert result.error is None
    assert result.value == LoanTerms(
        loan_amount=Decimal(loan), deposit_amount=Decimal(deposit), loan_to_value=Decimal(ltv)
    )


@pytest.mark.parametrize("property_value", [Decimal("250000"), 250000, 250000.0, "250000.00"])
def test_loan_or_deposit_takes_the_property_value_as_slots_store_it(
    property_value: Any,
) -> None:
    result = validate_loan_or_deposit("200k", property_value)

    assert result.value is not None
    assert result.value.loan_amount == Decimal("200000.00")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("as much as possible", "couldn't find an amount"),
        ("-5000", "amount you borrow needs to be more than zero"),
        ("deposit of -5000", "deposit needs to be more than zero"),
        ("0", "more than zero"),
        ("250k", "less than the property value (£250,000)"),
        ("300k", "less than the property value (£250,000)"),
        ("deposit of 250k", "leaves nothing to borrow"),
        ("9,999.99", "smallest mortgage I can take an application for is £10,000"),
        ("deposit of 245k", "smallest mortgage"),
        ("240k", "at least 5% of the property value"),
        ("deposit of 12,499", "at least 5% of the property value"),
        ("1e309", "couldn't find an amount"),
    ],
)
def test_loan_or_deposit_explains_what_is_wrong(text: str, phrase: str) -> None:
    result = validate_loan_or_deposit(text, Decimal("250000"))

    assert result.value is None
    assert result.error is not None
    assert phrase in result.error


def test_a_deposit_below_five_percent_is_explained_with_figures() -> None:
    result = validate_loan_or_deposit("240k", Decimal("250000"))

    assert result.error is not None
    assert "Most lenders need a deposit of at least 5%" in result.error
    assert "at least £12,500" in result.error
    assert "the most you could borrow is £237,500" in result.error


@pytest.mark.parametrize(
    "property_value", [None, "NaN", "inf", "1e309", "-250000", "0", "ten", 10, float("nan")]
)
def test_loan_or_deposit_without_a_usable_property_value(property_value: Any) -> None:
    result = validate_loan_or_deposit("200k", property_value)

    assert result.error is not None
    assert "property value first" in result.error


# --- term ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("25", 25),
        ("25 years", 25),
        ("25yrs", 25),
        ("over 30 years please", 30),
        ("5", 5),
        ("40", 40),
        ("25.0", 25),
        (fullwidth("25"), 25),
    ],
)
def test_term_years_accepts_whole_years_in_range(text: str, years: int) -> None:
    assert validate_term_years(text) == Validated(value=years)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("twenty five", "How many years"),
        ("", "How many years"),
        ("4", "run from 5 to 40 years"),
        ("41", "run from 5 to 40 years"),
        ("0", "run from 5 to 40 years"),
        ("-25", "whole number of years"),
        ("25.5", "whole number of years"),
        ("1e309", "How many years"),
        ("9" * 10_000, "run from 5 to 40 years"),
    ],
)
def test_term_years_explains_what_is_wrong(text: str, phrase: str) -> None:
    result = validate_term_years(text)

    assert result.value is None
    assert result.error is not None
    assert phrase in result.error
    assert "for example 25" in result.error


# --- income ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45k", "45000.00"),
        ("£45,000 a year", "45000.00"),
        ("62,500.50", "62500.50"),
        ("£3,000 a month", "36000.00"),
        ("3k per month", "36000.00"),
        ("2500 monthly", "30000.00"),
        ("£2,000 pcm", "24000.00"),
        ("£10,000,000", "10000000.00"),
        ("1", "1.00"),
    ],
)
def test_annual_income_accepts_yearly_and_monthly_figures(text: str, expected: str) -> None:
    assert validate_annual_income(text) == Validated(value=Decimal(expected))


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("enough", "couldn't find an amount"),
        ("-45000", "more than zero"),
        ("0", "more than zero"),
        ("£10,000,000.01", "more than £10,000,000 a year"),
        ("1m a month", "more than £10,000,000 a year"),
        ("9" * 10_000, "more than £10,000,000 a year"),
    ],
)
def test_annual_income_explains_what_is_wrong(text: str, phrase: str) -> None:
    result = validate_annual_income(text)

    assert result.error is not None
    assert phrase in result.error
    assert "£45,000" in result.error


# --- email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe@Example.COM ", "Jane.Doe@example.com"),
        ("my email is jane@example.com.", "jane@example.com"),
        ("<jane@example.com>", "jane@example.com"),
        ("email: jane@example.com", "jane@example.com"),
        ("you can reach me at jane@example.com thanks", "jane@example.com"),
        ("Sure, jane@example.com!", "jane@example.com"),
        ("jane+mortgage@mail.example.co.uk", "jane+mortgage@mail.example.co.uk"),
    ],
)
def test_email_is_validated_and_normalised(text: str, expected: str) -> None:
    assert validate_email(text) == Validated(value=expected)


@pytest.mark.parametrize(
    "text",
    [
        "jane",
        "jane@",
        "@example.com",
        "jane@example",
        "jane@@example.com",
        "jane@localhost",
        "jane smith@example.com",
        "'; DROP TABLE x; --@example.com",
        "a" * 400 + "@example.com",
    ],
)
def test_email_refuses_incomplete_addresses(text: str) -> None:
    result = validate_email(text)

    assert result.value is None
    assert result.error is not None
    assert "name@example.com" in result.error


# --- name ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane Smith", "Jane Smith"),
        ("  jane   smith ", "jane smith"),
        ("Zoë O'Brien-Smith", "Zoë O'Brien-Smith"),
        ("Seán O\u2019Connor", "Seán O'Connor"),
        ("My name is Jane Smith", "Jane Smith"),
        ("I'm Li Wei", "Li Wei"),
        ("Al", "Al"),
        ("José Ñúñez", "José Ñúñez"),
        ("Renée d'Arc", "Renée d'Arc"),
    ],
)
def test_applicant_name_accepts_real_names(text: str, expected: str) -> None:
    assert validate_applicant_name(text) == Validated(value=expected)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("12345", "can't contain numbers"),
        ("Jane Smith 2", "can't contain numbers"),
        ("jane@example.com", "email address"),
        ("J", "between 2 and 100 characters"),
        ("", "between 2 and 100 characters"),
        ("A" * 101, "between 2 and 100 characters"),
        ("<script>alert('x')</script>", "letters, spaces, hyphens or apostrophes"),
        ("Robert'); DROP TABLE students;--", "letters, spaces, hyphens or apostrophes"),
        ("drop table users", "letters, spaces, hyphens or apostrophes"),
        ("SELECT name FROM applicants", "letters, spaces, hyphens or apostrophes"),
        ("Jane_Smith", "letters, spaces, hyphens or apostrophes"),
        ("Jane 🙂 Smith", "letters, spaces, hyphens or apostrophes"),
        ("- '", "letters, spaces, hyphens or apostrophes"),
    ],
)
def test_applicant_name_explains_what_is_wrong(text: str, phrase: str) -> None:
    result = validate_applicant_name(text)

    assert result.error is not None
    assert phrase in result.error
    assert "Jane O'Neill-Smith" in result.error


# --- employment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("employed", EmploymentType.EMPLOYED),
        ("Employed", EmploymentType.EMPLOYED),
        ("full-time", EmploymentType.EMPLOYED),
        ("full time employee", EmploymentType.EMPLOYED),
        ("part-time", EmploymentType.EMPLOYED),
        ("I'm salaried, PAYE", EmploymentType.EMPLOYED),
        ("self employed", EmploymentType.SELF_EMPLOYED),
        ("Self-Employed", EmploymentType.SELF_EMPLOYED),
        ("self_employed", EmploymentType.SELF_EMPLOYED),
        ("freelance", EmploymentType.SELF_EMPLOYED),
        ("I'm a freelancer", EmploymentType.SELF_EMPLOYED),
        ("sole trader", EmploymentType.SELF_EMPLOYED),
        ("I run my own business", EmploymentType.SELF_EMPLOYED),
        ("contractor", EmploymentType.CONTRACTOR),
        ("IT contracting", EmploymentType.CONTRACTOR),
        ("retired", EmploymentType.RETIRED),
        ("pensioner", EmploymentType.RETIRED),
        ("other", EmploymentType.OTHER),
        ("unemployed", EmploymentType.OTHER),
        ("student", EmploymentType.OTHER),
    ],
)
def test_employment_type_understands_synonyms(text: str, expected: EmploymentType) -> None:
    assert normalize_employment_type(text) == Validated(value=expected.value)


@pytest.mark.parametrize("text", ["banana", "", "yes", "12345", "'; DROP TABLE x; --"])
def test_employment_type_lists_the_choices_when_unsure(text: str) -> None:
    result = normalize_employment_type(text)

    assert result.error is not None
    assert "employed, self-employed, contractor, retired or other" in result.error


# --- helpers and robustness ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loan", "value", "expected"),
    [
        ("200000", "250000", "0.8000"),
        ("237500", "250000", "0.9500"),
        ("100000", "300000", "0.3333"),
        ("200000", "300000", "0.6667"),
        ("1", "3", "0.3333"),
    ],
)
def test_loan_to_value_rounds_to_four_places(loan: str, value: str, expected: str) -> None:
    assert loan_to_value(Decimal(loan), Decimal(value)) == Decimal(expected)


def test_loan_to_value_needs_a_positive_property_value() -> None:
    with pytest.raises(ValueError, match="positive"):
        loan_to_value(Decimal("1"), Decimal("0"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [("250000", "£250,000"), ("250000.5", "£250,000.50"), ("12500.00", "£12,500")],
)
def test_format_money(amount: str, text: str) -> None:
    assert format_money(Decimal(amount)) == text


@pytest.mark.parametrize("validator", VALIDATORS)
@pytest.mark.parametrize("text", ABSURD_INPUTS)
def test_validators_never_raise_on_absurd_input(
    validator: Callable[[str], Validated[Any]], text: str
) -> None:
    started = time.perf_counter()

    result = validator(text)

    assert isinstance(result, Validated)
    assert (result.value is None) != (result.error is None)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("validator", VALIDATORS)
def test_validators_tolerate_a_non_string_slot_value(
    validator: Callable[[Any], Validated[Any]],
) -> None:
    result = validator(None)

    assert result.error is not None
