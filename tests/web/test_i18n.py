"""Hebrew and English: the interface language is the user's (User.language), else the
browser's Accept-Language; Hebrew pages are right-to-left; the catalogue is complete and
its compiled .mo matches the .po."""

import os
import re

from babel.messages.pofile import read_po
from babel.support import Translations

from tests.support.env import ROOT

PO = os.path.join(ROOT, "translations", "he", "LC_MESSAGES", "messages.po")


def _fresh(client):
    """The test shares one app context (and `g`) across requests, where Flask-Babel caches the
    locale: forget it, as a new request in a server would."""
    from flask import g

    g.pop("_flask_babel", None)
    return client


def _html(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_catalogue_is_complete_and_compiled():
    with open(PO, "rb") as f:
        catalog = read_po(f)
    compiled = Translations.load(os.path.join(ROOT, "translations"), ["he"])
    messages = [m for m in catalog if m.id]
    assert len(messages) > 150
    for m in messages:
        singular = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        assert all(strings), f"untranslated: {m.id!r}"
        assert all(re.search("[\u0590-\u05ff]", s) for s in strings), f"not Hebrew: {m.id!r}"
        wanted = set(re.findall(r"%\(\w+\)[sd]", singular))
        assert wanted <= set(re.findall(r"%\(\w+\)[sd]", strings[-1])), f"placeholders lost: {m.id!r}"
        if isinstance(m.id, str):
            assert compiled.gettext(m.id) == m.string, f"messages.mo is stale for {m.id!r}: run pybabel compile"


def test_english_by_default_and_hebrew_from_accept_language(app):
    client = app.test_client()
    html = _html(client.get("/login"))
    assert '<html lang="en" dir="ltr">' in html and "<h1>Sign in</h1>" in html
    html = _html(client.get("/login", headers={"Accept-Language": "he-IL,he;q=0.9,en;q=0.5"}))
    assert '<html lang="he" dir="rtl">' in html and "<h1>כניסה</h1>" in html


def test_hebrew_user_sees_hebrew_rtl_pages(web, users):
    from webapp.extensions import db

    users["viewer"].language = "he"
    db.session.commit()
    pages = {
        "/": [
            "לוח בקרה",
            "תיקיות",
            "קבצים",
            "משימות",
            "שיחות",
            "לקוחות",
            "הגדרות",
            "דוחות",
            "יציאה",
            "משימות פעילות",
            "בעיות אחרונות",
        ],
        "/files/": ["סינון", "אין קבצים מתאימים."],
        "/jobs/": ["אין עדיין משימות."],
        "/folders/": ["אין עדיין תיקיות."],
        "/calls/": ["שיחות"],
        "/settings/": ["הגדרות"],
        "/reports/": ["ביצועי עיבוד", "ניתוח שגיאות", "התפלגות ציונים"],
    }
    for url, words in pages.items():
        html = _html(_fresh(web["viewer"]).get(url))
        assert '<html lang="he" dir="rtl">' in html, url
        for word in words:
            assert word in html, (url, word)
    # the user's choice wins over the browser's
    html = _html(_fresh(web["admin"]).get("/", headers={"Accept-Language": "he"}))
    assert '<html lang="en" dir="ltr">' in html and ">Dashboard<" in html


def test_hebrew_admin_sees_the_setup_settings_folder_and_workers_pages_in_hebrew(web, users, tmp_path):
    from webapp.extensions import db
    from webapp.models import ExternalFolder

    users["admin"].language = "he"
    folder = ExternalFolder(
        name="night",
        storage_type="local",
        storage_config={"path": str(tmp_path)},
        monitor_type="polling",
        scan_interval=300,
        process_mode="window",
        window_start="20:00",
        window_end="06:00",
    )
    db.session.add(folder)
    db.session.commit()
    pages = {
        "/setup/": ["מדריך ההגדרה", "בחירת מנוע זיהוי הדיבור", "התחלת האצווה הראשונה", "הסתרת מדריך ההגדרה"],
        "/settings/": [
            "מנוע זיהוי דיבור (תמלול)",
            "הגדרות מוכנות:",
            "עברית על מעבד (CPU)",
            "הצגת השדות של מנוע זה",
            "בדיקת זיהוי דיבור",
            "מנגנון ניקוד",
            "מסמך תצורה",
            "ייצוא (בלי הסודות)",
            "ייבוא מסמך תצורה",
        ],
        "/folders/new?template=s3": [
            "התחלה מתבנית:",
            "bucket של S3 עם אירועי SQS",
            "מה להגדיר בצד האחסון:",
            "איך קבצים נמצאים",
            "מתי קבצים שנמצאו מעובדים",
            "בחלון עיבוד",
            "החלון נפתח (HH:MM)",
        ],
        f"/folders/{folder.id}": ["נסרקת כל 5 דקות, והקבצים ממתינים לחלון 20:00–06:00", "הקבצים הממתינים מתחילים"],
        "/workers/": ["עובדים", "תורים", "אות חיים אחרון", "מקום פנוי בדיסק בתיקיית ההורדות"],
    }
    for url, words in pages.items():
        html = _html(_fresh(web["admin"]).get(url))
        assert '<html lang="he" dir="rtl">' in html, url
        for word in words:
            assert word in html, (url, word)


def test_language_toggle_and_translated_flash(web, users):
    client = web["manager"]
    assert client.post("/language", data={"language": "he", "next": "/"}).status_code == 302
    html = _html(_fresh(client).get("/"))
    assert 'dir="rtl"' in html and "השהיית העיבוד" in html and ">English<" in html
    response = _fresh(client).post("/processing/pause", follow_redirects=True)
    assert "העיבוד הושהה" in response.get_data(as_text=True)
    _fresh(client).post("/language", data={"language": "en", "next": "/"})
    html = _html(_fresh(client).get("/"))
    assert 'dir="ltr"' in html and "Resume processing" in html
