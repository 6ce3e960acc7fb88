"""The personal-data detectors, each with what it must catch and what it must leave alone."""

import pytest

from webapp.analysis import pii
from webapp.analysis.result import Segment, Transcript


def kinds(text):
    return [kind for _s, _e, kind in pii.find(text)]


@pytest.mark.parametrize("text", ["תעודת זהות 123456782", "המספר 123456782 בבקשה", "ת.ז. 12345-6782"])
def test_israeli_id_with_its_check_digit(text):
    assert kinds(text) == ["id"]
    assert "[ת.ז.]" in pii.redact(text)[0] and "6782" not in pii.redact(text)[0]


@pytest.mark.parametrize("text", ["תעודת זהות 123456789", "הזמנה 12345678", "קוד 1234567890"])
def test_nine_digits_with_a_wrong_check_digit_or_another_length_is_no_id(text):
    assert "id" not in kinds(text)


@pytest.mark.parametrize("text", ["הכרטיס 4580 1234 5678 9015", "4111-1111-1111-1111", "5105 1051 0510 5100 תוקף"])
def test_payment_card_passing_luhn(text):
    assert kinds(text) == ["card"]
    assert pii.redact(text)[0].count("[כרטיס]") == 1


@pytest.mark.parametrize("text", ["הכרטיס 4580 1234 5678 9014", "4111-1111-1111-1112", "123 456"])
def test_digits_failing_luhn_are_no_card(text):
    assert "card" not in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "תתקשר ל-050-1234567",
        "052 123 4567",
        "+972 52 123 4567",
        "+972-3-1234567",
        "03-1234567",
        "077-1234567",
        "972541234567",
    ],
)
def test_israeli_phone_numbers(text):
    assert kinds(text) == ["phone"], text
    assert "[טלפון]" in pii.redact(text)[0]


@pytest.mark.parametrize("text", ["050-12345", "שילמתי 150 שקל", "ב-2023 היו 30 שיחות", "01-1234567"])
def test_short_or_foreign_numbers_are_no_phone(text):
    assert kinds(text) == [], text


def test_a_phone_number_after_an_unrelated_number_is_found_alone():
    assert pii.redact("שילמתי 100 050-1234567")[0] == "שילמתי 100 [טלפון]"


@pytest.mark.parametrize("text", ["dana.cohen@example.co.il", "כתבי ל-sales+he@mail.example.com תודה"])
def test_email_addresses(text):
    assert kinds(text) == ["email"]
    assert '[דוא"ל]' in pii.redact(text)[0] and "@" not in pii.redact(text)[0]


def test_an_at_sign_alone_is_no_email():
    assert kinds("נפגש @ המשרד") == []


@pytest.mark.parametrize(
    "text", ["מספר חשבון 123456", "בחשבון שלי 45-678", "החשבון הוא 12-345-678901", "סניף וחשבון 12-345-678901"]
)
def test_bank_accounts_after_the_word_or_in_bank_branch_account_form(text):
    assert kinds(text) == ["account"], text
    assert "[חשבון]" in pii.redact(text)[0]


@pytest.mark.parametrize("text", ["החשבון שלך 120 שקל לחודש", "שילמתי 12-345"])
def test_a_price_after_the_word_or_a_short_pair_is_no_account(text):
    assert kinds(text) == []


def test_a_transcript_is_redacted_in_its_text_and_each_segment():
    transcript = Transcript(
        text="הטלפון 050-1234567 והמייל dana@example.com",
        language="he",
        engine="test",
        segments=[Segment(0, 2, "הטלפון 050-1234567"), Segment(2, 4, "והמייל dana@example.com")],
    )
    counts, spans = pii.redact_transcript(transcript)
    assert counts == {"phone": 1, "email": 1}
    # "050-1234567" is characters 7-18 of an 18-character segment lasting 2 s: 0.78-2.0 s, widened
    assert spans[0] == [0.03, 2.0] and spans[1][0] >= 2.0 and spans[1][1] == 4.0
    assert transcript.text == 'הטלפון [טלפון] והמייל [דוא"ל]'
    assert [s.text for s in transcript.segments] == ["הטלפון [טלפון]", 'והמייל [דוא"ל]']
