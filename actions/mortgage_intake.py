"""Validation of the mortgage intake form: from what the customer typed to clean values.

Pure functions, no Rasa: each validator takes the customer's raw text and returns a
`Validated` holding either the parsed value or a friendly message that says what is
expected, with an example. Nothing here raises on odd input (10,000 characters, emoji, SQL,
"NaN", "1e309"); at worst the customer is asked again.

The limits below are facts about what this service can take, not advice.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final, Generic, TypeVar

from email_validator import EmailNotValidError
from email_validator import validate_email as _check_email

from contract.applications import loan_to_value

T = TypeVar("T")

PENNY: Final = Decimal("0.01")
MIN_PROPERTY_VALUE: Final = Decimal("25000")
MAX_PROPERTY_VALUE: Final = Decimal("20000000")
MIN_LOAN: Final = Decimal("10000")
MAX_LOAN_TO_VALUE: Final = Decimal("0.95")
MIN_TERM_YEARS: Final = 5
MAX_TERM_YEARS: Final = 40
MAX_ANNUAL_INCOME: Final = Decimal("10000000")
MIN_NAME_LENGTH: Final = 2
MAX_NAME_LENGTH: Final = 100
MAX_EMAIL_LENGTH: Final = 320

_MULTIPLIERS: Final = {
    "k": Decimal(1_000),
    "thousand": Decimal(1_000),
    "grand": Decimal(1_000),
    "m": Decimal(1_000_000),
    "mn": Decimal(1_000_000),
    "mil": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "bn": Decimal(1_000_000_000),
    "billion": Decimal(1_000_000_000),
}

# One amount: optional minus sign and currency symbol (either order), digits grouped in
# thousands by commas or spaces (or not grouped), optional decimals and an optional
# multiplier word. The look-arounds refuse to start or stop in the middle of a number, so
# "1.250.000" or "1e309" are not misread as 1.25 or 1. No nested quantifiers: linear time.
_AMOUNT: Final = re.compile(
    r"""
    (?P<sign>-)? \s? [£$€]? \s? (?P<sign_after_symbol>-)? \s?
    (?<![\d.,]) (?<!\d[eE]) (?<!\d[eE][+-])
    (?P<number> \d{1,3}(?:[,\ ]\d{3})+ (?:\.\d+)? | \d+(?:\.\d+)? | \.\d+ )
    (?![.,]?\d | e[+-]?\d)
    (?: \s? (?P<multiplier>k|thousand|grand|mn|mil|million|m|bn|billion) \b )?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_DEPOSIT_WORD: Final = re.compile(r"\bdeposit", re.IGNORECASE)
_MONTHLY: Final = re.compile(
    r"\b(?:per|a|each|every)\s+month\b|\bmonthly\b|\bpcm\b|/\s*(?:month|mth|mo)\b",
    re.IGNORECASE,
)
_WHOLE_NUMBER: Final = re.compile(
    r"(?<![\d.])(?<!\d[eE])(?<!\d[eE][+-])"
    r"(?P<sign>-)?(?P<number>\d+(?:\.\d+)?)"
    r"(?![.,]?\d|e[+-]?\d)",
    re.IGNORECASE,
)
_NAME_LEAD_IN: Final = re.compile(
    r"^(?:my\s+(?:full\s+)?name\s+is|my\s+name's|name\s*:|i\s+am|i'm|it's|it\s+is|this\s+is)\s+",
    re.IGNORECASE,
)
_NAME_ALLOWED: Final = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '\-])*")
_SQL_LOOKING: Final = re.compile(
    r"\b(?:select|insert|update|delete|drop|union|alter|truncate|exec)\b"
    r".*\b(?:from|into|table|set|where|select|database|all)\b",
    re.IGNORECASE | re.DOTALL,
)
# Starts only at the beginning of a token, so a long run without "@" is scanned once.
_EMAIL_CANDIDATE: Final = re.compile(
    r"(?<![^\s<>()\[\],;:\"'])[^\s@<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+"
)
# Words that may come just before an address: "my email is ...", "reach me at ...".
_EMAIL_LEAD_IN_WORDS: Final = frozenset(
    {"is", "it's", "its", "email", "e-mail", "mail", "address", "me", "at", "to", "on", "use"}
    | {"try", "sure", "yes", "ok", "okay", "here"}
)
# Far longer than any real answer; cutting here bounds the work on absurd input.
_MAX_INPUT_LENGTH: Final = 2_000


@dataclass(frozen=True)
class Validated(Generic[T]):
    """The outcome of validating one answer: a value, or a message for the customer."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the answer was accepted."""
        return self.error is None


def _accept(value: T) -> Validated[T]:
    return Validated(value=value)


def _reject(message: str) -> Validated[T]:
    return Validated(error=message)


class EmploymentType(str, enum.Enum):
    """How the applicant earns their income."""

    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    CONTRACTOR = "contractor"
    RETIRED = "retired"
    OTHER = "other"


@dataclass(frozen=True)
class LoanTerms:
    """How much is borrowed and how much is put down, for one property value."""

    loan_amount: Decimal
    deposit_amount: Decimal
    loan_to_value: Decimal


def format_money(amount: Decimal) -> str:
    """Format pounds for a customer-facing message: £250,000 or £250,000.50."""
    pence = amount.quantize(PENNY, rounding=ROUND_HALF_UP)
    if pence == pence.to_integral_value():
        return f"£{pence:,.0f}"
    return f"£{pence:,.2f}"


def parse_amount(text: str) -> Decimal | None:
    """Read an amount of money from free text; None if there is no number in it.

    Understands "250k", "£250,000", "250 000", "250,000.50", "1.2m", "£1.5 million",
    "250K GBP" and "about 300k". "-5000" gives -5000, so validators can say why it is wrong.
    """
    cleaned = _clean(text)
    match = _AMOUNT.search(cleaned)
    if match is None:
        return None
    digits = re.sub(r"[, ]", "", match.group("number"))
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        return None
    multiplier = match.group("multiplier")
    if multiplier:
        amount *= _MULTIPLIERS[multiplier.lower()]
    if match.group("sign") or match.group("sign_after_symbol"):
        amount = -amount
    return amount


def validate_property_value(text: str) -> Validated[Decimal]:
    """Validate the property's value: £25,000 to £20,000,000."""
    amount = parse_amount(text)
    if amount is None:
        return _reject(
            "I couldn't find an amount in that. What is the property worth, roughly? "
            "For example £250,000 or 250k."
        )
    if amount <= 0:
        return _reject(
            "The property value needs to be more than zero. "
            "What is the property worth? For example £250,000."
        )
    if not MIN_PROPERTY_VALUE <= amount <= MAX_PROPERTY_VALUE:
        return _reject(
            f"I can only take applications for properties worth between "
            f"{format_money(MIN_PROPERTY_VALUE)} and {format_money(MAX_PROPERTY_VALUE)}. "
            "What is the property worth? For example £250,000."
        )
    return _accept(amount.quantize(PENNY, rounding=ROUND_HALF_UP))


def validate_loan_or_deposit(
    text: str, property_value: Decimal | float | int | str | None
) -> Validated[LoanTerms]:
    """Validate how much the customer wants to borrow, or their deposit.

    If the text mentions a deposit ("deposit of 50k", "50k deposit") the amount is the
    deposit and the loan is the rest of the property value; otherwise it is the loan.
    `property_value` may come straight from a slot (a float, or None if not asked yet).
    """
    value = _as_decimal(property_value)
    if value is None or not MIN_PROPERTY_VALUE <= value <= MAX_PROPERTY_VALUE:
        return _reject("I need the property value first. What is the property worth?")
    amount = parse_amount(text)
    if amount is None:
        return _reject(
            "I couldn't find an amount in that. How much would you like to borrow? "
            "For example £200,000 — or tell me your deposit, like “a deposit of £50,000”."
        )
    is_deposit = _DEPOSIT_WORD.search(_clean(text)) is not None
    if amount <= 0:
        what = "deposit" if is_deposit else "amount you borrow"
        return _reject(f"The {what} needs to be more than zero. For example £200,000.")
    if amount >= value:
        return _reject(_too_large_message(is_deposit, value))
    loan = (value - amount if is_deposit else amount).quantize(PENNY, rounding=ROUND_HALF_UP)
    if loan < MIN_LOAN:
        return _reject(
            f"The smallest mortgage I can take an application for is {format_money(MIN_LOAN)}. "
            "How much would you like to borrow? For example £150,000."
        )
    # Compare exactly: the rounded ratio would let 95.0004% through as 0.9500.
    if loan > value * MAX_LOAN_TO_VALUE:
        return _reject(_deposit_too_small_message(value))
    ratio = loan_to_value(loan, value)
    deposit = (value - loan).quantize(PENNY, rounding=ROUND_HALF_UP)
    return _accept(LoanTerms(loan_amount=loan, deposit_amount=deposit, loan_to_value=ratio))


def _too_large_message(is_deposit: bool, property_value: Decimal) -> str:
    price = format_money(property_value)
    if is_deposit:
        return (
            f"A deposit of the whole property value ({price}) or more leaves nothing to borrow. "
            "How much would you like to borrow? For example £200,000."
        )
    return (
        f"The loan has to be less than the property value ({price}). "
        "How much would you like to borrow? For example £200,000."
    )


def _deposit_too_small_message(property_value: Decimal) -> str:
    min_deposit = (property_value * (1 - MAX_LOAN_TO_VALUE)).quantize(PENNY, rounding=ROUND_HALF_UP)
    max_loan = property_value - min_deposit
    return (
        "Most lenders need a deposit of at least 5% of the property value. "
        f"For a {format_money(property_value)} property that is at least "
        f"{format_money(min_deposit)}, so the most you could borrow is {format_money(max_loan)}. "
        "How much would you like to borrow?"
    )


def validate_term_years(text: str) -> Validated[int]:
    """Validate the mortgage term: a whole number of years from 5 to 40."""
    expected = (
        f"Please give a whole number of years between {MIN_TERM_YEARS} and {MAX_TERM_YEARS}, "
        "for example 25."
    )
    match = _WHOLE_NUMBER.search(_clean(text))
    if match is None:
        return _reject(f"How many years would you like the mortgage to last? {expected}")
    years = Decimal(match.group("number"))
    if match.group("sign") or years != years.to_integral_value():
        return _reject(expected)
    if not MIN_TERM_YEARS <= years <= MAX_TERM_YEARS:
        return _reject(
            f"Mortgage terms run from {MIN_TERM_YEARS} to {MAX_TERM_YEARS} years. {expected}"
        )
    return _accept(int(years))


def validate_annual_income(text: str) -> Validated[Decimal]:
    """Validate yearly income before tax; a monthly figure ("£3,000 a month") is x12."""
    amount = parse_amount(text)
    if amount is None:
        return _reject(
            "I couldn't find an amount in that. What is your yearly income before tax? "
            "For example £45,000 or 45k."
        )
    if amount <= 0:
        return _reject(
            "Your income needs to be more than zero. "
            "What is your yearly income before tax? For example £45,000."
        )
    if _MONTHLY.search(_clean(text)):
        amount *= 12
    if amount > MAX_ANNUAL_INCOME:
        return _reject(
            f"That is more than {format_money(MAX_ANNUAL_INCOME)} a year, which I can't take "
            "through this form. Please check the figure — for example £45,000."
        )
    return _accept(amount.quantize(PENNY, rounding=ROUND_HALF_UP))


def validate_email(text: str) -> Validated[str]:
    """Validate an e-mail address (syntax only, no DNS look-up); returns it normalised.

    The address may follow a short lead-in ("my email is ..."), but not other words:
    "jane smith@example.com" is refused rather than read as smith@example.com.
    """
    message = (
        "That doesn't look like a complete email address. Please type it like name@example.com."
    )
    cleaned = _clean(text)
    candidate = _EMAIL_CANDIDATE.search(cleaned)
    if candidate is None or len(candidate.group(0)) > MAX_EMAIL_LENGTH:
        return _reject(message)
    if not _only_lead_in_before(cleaned[: candidate.start()]):
        return _reject(message)
    address = candidate.group(0).rstrip(".!?")
    try:
        checked = _check_email(address, check_deliverability=False)
    except (EmailNotValidError, ValueError):
        return _reject(message)
    return _accept(checked.normalized)


def _only_lead_in_before(prefix: str) -> bool:
    """Whether the text before an address is empty or ends in a lead-in word or bracket."""
    stripped = prefix.rstrip()
    if not stripped or stripped[-1] in ":<([\"'":
        return True  # "jane@...", "email: jane@...", "<jane@...>"
    if stripped == prefix:
        return False  # glued to punctuation such as "x;jane@..."
    last_word = stripped.split()[-1].strip(",.;!-").lower()
    return last_word in _EMAIL_LEAD_IN_WORDS


def validate_applicant_name(text: str) -> Validated[str]:
    """Validate the applicant's full name: letters, spaces, hyphens and apostrophes."""
    expected = (
        "Please type your full name using letters, spaces, hyphens or apostrophes — "
        "for example Jane O'Neill-Smith."
    )
    name = " ".join(_clean(text).replace("\u2019", "'").split())
    name = _NAME_LEAD_IN.sub("", name).strip()
    if "@" in name:
        return _reject(f"That looks like an email address rather than a name. {expected}")
    if any(character.isdigit() for character in name):
        return _reject(f"A name can't contain numbers. {expected}")
    if not MIN_NAME_LENGTH <= len(name) <= MAX_NAME_LENGTH:
        return _reject(
            f"A name needs between {MIN_NAME_LENGTH} and {MAX_NAME_LENGTH} characters. {expected}"
        )
    if _NAME_ALLOWED.fullmatch(name) is None or _SQL_LOOKING.search(name):
        return _reject(expected)
    return _accept(name)


# Checked in order: "self employed" and "unemployed" must win over "employed".
_EMPLOYMENT_SYNONYMS: Final[tuple[tuple[EmploymentType, re.Pattern[str]], ...]] = (
    (
        EmploymentType.OTHER,
        re.compile(r"\b(?:unemployed|not (?:employed|working)|between jobs|no job)\b"),
    ),
    (
        EmploymentType.SELF_EMPLOYED,
        re.compile(
            r"\b(?:self ?employed|freelanc\w*|sole trader|own business|"
            r"business owner|run my own|my own company)\b"
        ),
    ),
    (EmploymentType.CONTRACTOR, re.compile(r"\b(?:contractor|contracting|contract)\b")),
    (EmploymentType.RETIRED, re.compile(r"\b(?:retired|retiree|pensioner|on a pension)\b")),
    (
        EmploymentType.EMPLOYED,
        re.compile(
            r"\b(?:employed|employee|full ?time|part ?time|salaried|permanent|paye|"
            r"on (?:a|the) payroll|staff|i work for|have a job)\b"
        ),
    ),
    (
        EmploymentType.OTHER,
        re.compile(r"\b(?:other|student|homemaker|carer|stay at home|benefits)\b"),
    ),
)


def normalize_employment_type(text: str) -> Validated[str]:
    """Map the customer's words to employed, self_employed, contractor, retired or other."""
    words = re.sub(r"[^a-z ]+", " ", _clean(text).lower().replace("-", " ").replace("_", " "))
    words = " ".join(words.split())
    for employment_type, pattern in _EMPLOYMENT_SYNONYMS:
        if pattern.search(words):
            return _accept(employment_type.value)
    return _reject(
        "How do you earn your income? Please say employed, self-employed, contractor, "
        "retired or other — for example “self-employed”."
    )


def _clean(text: str) -> str:
    """NFKC-normalise (full-width digits, odd spaces) and cut absurdly long input."""
    if not isinstance(text, str):
        return ""
    normalised = unicodedata.normalize("NFKC", text[:_MAX_INPUT_LENGTH])
    return normalised.replace("\u2212", "-")  # the typographic minus sign


def _as_decimal(value: Decimal | float | int | str | None) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
