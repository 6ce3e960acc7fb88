"""The rubric scorer, call metrics and metadata on Hebrew transcripts written here."""

import json

import pytest

from tests.support.transcripts import CLOSED_DEAL, transcript
from webapp.analysis import metadata, metrics
from webapp.analysis.scorers.rubric import RubricScorer


def score(t):
    scores, overall = RubricScorer({"type": "rubric"}).score(t)
    return {c["id"]: c for c in scores["criteria"]}, overall, scores


def test_a_closed_deal_with_a_handled_price_objection():
    criteria, overall, scores = score(CLOSED_DEAL)
    assert {k: (c["score"], c["passed"]) for k, c in criteria.items()} == {
        "opening": (100, True),
        "discovery": (100, True),
        "offer": (100, True),
        "objection": (100, True),
        "closing": (100, True),
        "courtesy": (50, False),
    }
    assert overall == 95.0  # weighted mean: courtesy (weight 10) at 50
    assert scores["summary"] == "Passed 5 of 6 criteria; overall 95.0."
    objection = criteria["objection"]
    quotes = [(e["part"], e["quote"], e["start"]) for e in objection["evidence"]]
    assert quotes[0] == ("objection_raised", "כיסוי מלא, אבל המחיר שהציעו לי קודם היה גבוה מדי.", 9.5)
    assert ("acknowledged", "אני מבין.", 13.5) in quotes
    assert any(p == "answered" and q.startswith("אם נצרף את הדירה נוכל לתת הנחה") for p, q, _ in quotes)
    closing = {(e["part"], e["quote"]) for e in criteria["closing"]["evidence"]}
    assert ("agreement", "סגרנו.") in closing
    assert ("next_step", "מעולה, אז אני שולח לך עכשיו את ההצעה במייל לחתימה.") in closing
    assert criteria["courtesy"]["evidence"][0]["quote"] == "תודה רבה!"
    assert criteria["courtesy"]["evidence"][0]["start"] > 20.5  # the second sentence of its segment


def test_without_a_greeting_the_opening_fails_and_says_what_is_missing():
    criteria, _, _ = score(
        transcript(
            (0.5, 3.0, "agent", "אנחנו מציעים מסלול סיבים במאה וארבעים שקל."),
            (3.5, 5.0, "customer", "אוקיי."),
        )
    )
    assert (criteria["opening"]["score"], criteria["opening"]["passed"]) == (0, False)
    assert criteria["opening"]["missing"] == ["greeting", "introduction"]
    assert criteria["offer"]["score"] == 100
    assert [e["quote"] for e in criteria["offer"]["evidence"]] == ["אנחנו מציעים מסלול סיבים במאה וארבעים שקל."] * 2


def test_a_greeting_late_in_the_call_does_not_count_as_the_opening():
    criteria, _, _ = score(transcript((50.0, 52.0, "agent", "שלום, מדברת נועה מחברת אורנים.")))
    assert criteria["opening"]["score"] == 0


def test_no_objection_means_not_applicable_and_left_out_of_the_overall():
    criteria, overall, _ = score(
        transcript(
            (0.0, 2.0, "agent", "שלום, מדברת נועה מחברת אורנים, מה שלומך?"),
            (2.5, 4.0, "customer", "בסדר גמור."),
        )
    )
    assert criteria["objection"]["applicable"] is False and criteria["objection"]["score"] is None
    assert "Not applicable" in criteria["objection"]["note"]
    applicable = [c for c in criteria.values() if c["applicable"]]
    expected = sum(c["score"] * c["weight"] for c in applicable) / sum(c["weight"] for c in applicable)
    assert overall == round(expected, 1)


def test_an_unhandled_objection_fails():
    criteria, _, _ = score(
        transcript(
            (0.0, 2.0, "agent", "הלו, זה מחברת סולאר פלוס."),
            (2.5, 3.5, "customer", "לא מעוניין, תודה."),
            (4.0, 5.0, "agent", "טוב, להתראות."),
        )
    )
    objection = criteria["objection"]
    assert objection["applicable"] and objection["score"] == 0 and not objection["passed"]
    assert objection["missing"] == ["acknowledged", "answered"]


def test_prefixes_spelling_and_niqqud_are_tolerated_and_speakers_unknown_count_for_anyone():
    criteria, _, _ = score(
        transcript(
            (0.0, 3.0, None, "וְשָׁלוֹם! קוראים לי רוני, ומחברת אורנים."),
            (3.0, 6.0, None, "והנחות מיוחדות, ובחינם."),
        )
    )
    assert criteria["opening"]["score"] == 100
    assert [e["matched"] for e in criteria["opening"]["evidence"]] == ["שלום", "קוראים לי"]
    assert criteria["offer"]["evidence"][0]["matched"] == "הנח*"


def test_empty_transcript_scorecard_says_so():
    scores, overall = RubricScorer({"type": "rubric"}).score(transcript())
    assert overall is None and scores["empty"] and "No speech" in scores["summary"]
    assert all(c["score"] in (0, None) for c in scores["criteria"])


def test_a_broken_scorecard_is_a_config_message():
    assert RubricScorer.validate_config({"type": "rubric", "criteria": [{"id": "x"}]}) == [
        "The scorecard is not valid: x: needs an id and a label"
    ]
    assert RubricScorer.validate_config({"type": "rubric", "rubric": "/nope.yaml"})[0].startswith(
        "The scorecard /nope.yaml could not be read"
    )


def test_call_metrics():
    result = metrics.compute(CLOSED_DEAL, 30.0)
    assert result["duration_seconds"] == 30.0
    assert result["questions_asked"] == 2
    assert result["questions_by_speaker"] == {"agent": 2, "customer": 0}
    assert result["longest_monologue_seconds"] == 4.5
    assert result["speech_seconds"] == 21.5
    assert result["silence_share"] == round(1 - 21.5 / 30, 3)
    assert result["words"] == 64 and result["words_per_minute"] == 128.0


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("050-123-4567", "+972501234567"),
        ("0501234567", "+972501234567"),
        ("+972-50-123-4567", "+972501234567"),
        ("+972 (0)50 123 4567", "+972501234567"),
        ("972501234567", "+972501234567"),
        ("00972501234567", "+972501234567"),
        ("03-6123456", "+97236123456"),
        ("02 6234567", "+97226234567"),
        ("077-1234567", "+972771234567"),
        ("+1 (212) 555-0100", "+12125550100"),
        ("050-123-456", None),
        ("12345", None),
        ("not a phone", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_normalisation(raw, expected):
    assert metadata.normalize_phone(raw) == expected


def test_metadata_from_sidecar_manifest_and_malformed_files(ctx, tmp_path):
    from webapp.providers.storage import LocalStorage

    storage = LocalStorage({"path": str(tmp_path)})
    a, b, c = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
        "33333333-3333-4333-8333-333333333333",
    )
    (tmp_path / f"{a}.meta.json").write_text(
        json.dumps(
            {
                "customer_phone": "050-123-4567",
                "name": "יוסי",
                "agent": "נועה",
                "called_at": "2026-11-02T10:00:00+02:00",
            }
        )
    )
    (tmp_path / "manifest.csv").write_text(
        "uuid,phone,name,external_id,agent,called_at\n"
        f"{b},03-6123456,אבי,CRM-7,דני,2026-11-03 09:30\n"
        f"{c},12,בלי טלפון,,,yesterday\n",
        encoding="utf-8",
    )
    meta, problems = metadata.read(storage.companions_for(f"{a}.wav"))
    assert (
        meta == {"phone": "+972501234567", "name": "יוסי", "agent": "נועה", "called_at": "2026-11-02T10:00:00+02:00"}
        and problems == []
    )
    meta, problems = metadata.read(storage.companions_for(f"{b}.mp3"))
    assert meta["phone"] == "+97236123456" and meta["external_id"] == "CRM-7"
    assert meta["called_at"] == "2026-11-03T09:30:00+00:00"
    meta, problems = metadata.read(storage.companions_for(f"{c}.mp3"))
    assert meta == {"name": "בלי טלפון"} and len(problems) == 2
    (tmp_path / f"{a}.meta.json").write_text("{not json")
    meta, problems = metadata.read(storage.companions_for(f"{a}.wav"))
    assert meta is None and "is not valid" in problems[0]


def test_a_customers_greeting_is_not_the_agents_but_counts_when_nobody_knows_who_spoke():
    lines = [(0.0, 1.0, "customer", "שלום?"), (1.5, 4.0, "agent", "מדבר אבי מחברת אורנים, יש לנו מסלול חדש.")]
    criteria, _, _ = score(transcript(*lines))
    assert criteria["opening"]["score"] == 50 and criteria["opening"]["missing"] == ["greeting"]
    criteria, _, _ = score(transcript(*[(s, e, None, text) for s, e, _, text in lines]))
    assert criteria["opening"]["score"] == 100


def test_a_goodbye_shalom_is_no_greeting_even_early_in_a_short_call():
    criteria, _, _ = score(
        transcript(
            (0.0, 4.0, "agent", "כן, מדבר משה מפרטנר, יש לנו הצעה למסלול סלולר ללא הגבלה בחמישים שקל."),
            (4.5, 6.0, "customer", "אני לא צריך, תודה."),
            (6.5, 8.0, "agent", "בסדר, שלום."),
        )
    )
    assert criteria["opening"]["missing"] == ["greeting"] and not criteria["opening"]["passed"]
    objection = criteria["objection"]  # "אני לא צריך" is an objection, left unanswered
    assert objection["applicable"] and objection["missing"] == ["acknowledged", "answered"]
    assert objection["evidence"][0]["quote"] == "אני לא צריך, תודה."


@pytest.mark.parametrize(
    "opening",
    [
        "היי, זאת מיכל מהראל ביטוחים.",
        "אהלן, אני דני מביטוח ישיר.",
        "ערב טוב, זה אבי מסלולר סנטר.",
        "בוקר טוב, זאת מיכל.",
    ],
)
def test_introductions_without_a_fixed_phrase(opening):
    criteria, _, _ = score(transcript((0.0, 3.0, "agent", opening)))
    assert criteria["opening"]["score"] == 100, criteria["opening"]
    assert [e["part"] for e in criteria["opening"]["evidence"]] == ["greeting", "introduction"]


def test_questions_without_a_question_mark_and_courtesy_questions():
    criteria, _, _ = score(
        transcript(
            (0.0, 2.0, "agent", "שלום, מה שלומך?"),
            (2.5, 5.0, "agent", "ספרי לי מה מציק לך בזמן האחרון"),
            (5.5, 7.0, "agent", "ממתי זה התחיל"),
        )
    )
    discovery = criteria["discovery"]
    assert discovery["score"] == 100
    assert [e["quote"] for e in discovery["evidence"]] == ["ספרי לי מה מציק לך בזמן האחרון", "ממתי זה התחיל"]
    criteria, _, _ = score(transcript((0.0, 2.0, "agent", "שלום, מה שלומך?"), (2.5, 5.0, "agent", "יש לך שאלות?")))
    assert criteria["discovery"]["score"] == 0  # courtesy and "any questions?" are not needs discovery
    criteria, _, _ = score(transcript((0.0, 4.0, "agent", "מה הגודל של הסלון בערך, ואיזה סגנון את אוהבת")))
    assert criteria["discovery"]["score"] == 100  # one sentence asking two questions


def test_a_negated_offer_is_no_offer_and_a_denied_price_is_no_objection():
    criteria, _, _ = score(
        transcript(
            (0.0, 3.0, "agent", "אני לא מציעה לך כרגע שום חבילה, קודם צריך אבחון."),
            (3.5, 5.0, "customer", "זה לא יקר בכלל."),
        )
    )
    assert criteria["offer"]["score"] == 0 and criteria["offer"]["missing"] == ["product", "value"]
    assert criteria["objection"]["applicable"] is False


def test_inflected_and_construct_forms():
    criteria, _, _ = score(
        transcript(
            (0.0, 3.0, "agent", "יש לנו חבילת סלולר במאה שקל."),
            (3.5, 5.0, "customer", "יש לי כבר ספק."),
            (5.5, 9.0, "agent", "לגמרי מבינה. רק שתדע שאצלנו החודש הראשון בחצי מחיר."),
            (9.5, 12.0, "agent", "אני שולחת לך קישור להרשמה בהודעה."),
        )
    )
    assert criteria["offer"]["evidence"][0]["matched"] == "חבילה"
    assert (criteria["objection"]["score"], criteria["objection"]["passed"]) == (100, True)
    assert criteria["closing"]["evidence"][0]["matched"] == "שולח לך"


def test_two_polite_expressions_in_one_sentence_count_twice_but_repetition_does_not():
    criteria, _, _ = score(transcript((0.0, 2.0, "agent", "תודה רבה ויום נעים!")))
    assert criteria["courtesy"]["score"] == 100 and len(criteria["courtesy"]["evidence"]) == 1
    criteria, overall, _ = score(transcript((0.0, 60.0, None, " ".join(["תודה"] * 200))))
    assert criteria["courtesy"]["score"] == 50 and criteria["objection"]["applicable"] is False
    assert overall is not None and overall < 10


def test_the_objection_is_answered_only_after_it_was_raised():
    criteria, _, _ = score(
        transcript(
            (0.0, 3.0, None, "יש לנו הנחה של עשרים אחוז."),
            (3.5, 5.0, None, "שלושים שקל יקר לי בשביל זה."),
            (5.5, 6.5, None, "אני מבין."),
        )
    )
    objection = criteria["objection"]
    assert objection["score"] == 40 and objection["missing"] == ["answered"]
    assert [e["part"] for e in objection["evidence"]] == ["objection_raised", "acknowledged"]


def test_new_part_options_are_validated():
    part = {"id": "p", "points": 10, "phrases": ["שלום"]}
    crit = {"id": "c", "label": "C", "weight": 1}

    def card(**change):
        return {"type": "rubric", "criteria": [{**crit, "parts": [{**part, **change}]}]}

    assert RubricScorer.validate_config(card(within_words=0)) == [
        "The scorecard is not valid: c.p: within_words must be a whole number of 1 or more"
    ]
    assert RubricScorer.validate_config(card(**{"except": "x"})) == [
        "The scorecard is not valid: c.p: except must be a list of phrases"
    ]


def test_plural_endings_after_final_letters_are_folded():
    criteria, _, _ = score(transcript((0.0, 3.0, "agent", "אנחנו מציעים מסלולים שחוסכים מאות שקלים.")))
    assert [e["matched"] for e in criteria["offer"]["evidence"]] == ["מסלול", "שקל"]
