"""Hebrew transcripts written here, as a transcriber would give them."""

from webapp.analysis.result import Segment, Transcript


def transcript(*lines):
    """lines: (start, end, speaker, text)."""
    segments = [Segment(s, e, text, speaker) for s, e, speaker, text in lines]
    return Transcript(" ".join(s.text for s in segments), segments, "he", "test")


# A sale closed after a price objection was handled: every rubric criterion but courtesy passes.
CLOSED_DEAL = transcript(
    (0.5, 4.0, "agent", "בוקר טוב, כאן דני ממוקד המכירות של ביטוח ישיר."),
    (4.5, 5.5, "customer", "היי, כן."),
    (6.0, 9.0, "agent", "מה חשוב לך בפוליסה לרכב? כיסוי מלא או רק צד ג'?"),
    (9.5, 13.0, "customer", "כיסוי מלא, אבל המחיר שהציעו לי קודם היה גבוה מדי."),
    (13.5, 18.0, "agent", "אני מבין. אם נצרף את הדירה נוכל לתת הנחה של חמישה עשר אחוז."),
    (18.5, 20.0, "customer", "אוקיי, זה כבר נשמע אחרת."),
    (20.5, 24.0, "agent", "מעולה, אז אני שולח לך עכשיו את ההצעה במייל לחתימה. תודה רבה!"),
    (24.5, 25.5, "customer", "סגרנו. תודה."),
)
