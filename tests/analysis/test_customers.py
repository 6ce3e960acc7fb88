"""Customer records: linking from metadata, exact counters under concurrent workers,
unassigned calls, assignment later."""

import json
import threading

import sqlalchemy as sa

from tests.support.helpers import configure, run_json
from tests.support.recordings import write_call

PHONE = "+972501234567"


def test_two_workers_filing_calls_of_one_customer_lose_no_update(cli, ctx, workers, tmp_path, meta_for):
    from webapp.extensions import db
    from webapp.models import Customer, SalesCall

    folder = tmp_path / "calls"
    folder.mkdir()
    count = 12
    for i in range(count):
        file_name = write_call(folder, text="שלום, מדברת נועה מחברת אורנים. יש לנו מסלול במאה שקל, תודה!")
        phone = ["050-123-4567", "0501234567", "+972-50-123-4567"][i % 3]  # one customer, three spellings
        meta_for(folder, file_name, phone=phone, name="יוסי כהן", called_at=f"2026-11-{i + 1:02d}T10:00:00+02:00")
    configure(scanning={"fileSettleSeconds": 0}, processing={"maxConcurrentFiles": 4})
    workers(2)
    result, report = run_json(cli, folder, "--workers", "0")
    assert report and report["totals"]["completed"] == count, (result.output, report)
    customer = db.session.scalars(sa.select(Customer)).one()
    calls = db.session.scalars(sa.select(SalesCall).order_by(SalesCall.called_at)).all()
    assert {c.customer_id for c in calls} == {customer.id}
    assert len({c.file.worker_name for c in calls}) == 2  # both workers filed calls
    assert customer.phone == PHONE and customer.name == "יוסי כהן"
    assert customer.call_count == count
    assert customer.first_call_at == calls[0].called_at and customer.last_call_at == calls[-1].called_at
    assert customer.latest_score == calls[-1].overall_score
    assert customer.average_score == round(sum(c.overall_score for c in calls) / count, 1)


def test_concurrent_links_in_two_sessions_create_one_customer(ctx):
    """Two transactions link calls of a new customer at the same moment."""
    from webapp.analysis import customers
    from webapp.extensions import db
    from webapp.models import Customer, SalesCall

    barrier = threading.Barrier(2)
    errors = []

    def file_call(n):
        try:
            with ctx.app_context():
                call = SalesCall(content_sha256=f"{n:064d}", call_uuid=f"call-{n}", overall_score=50.0 + n * 10)
                db.session.add(call)
                db.session.flush()
                barrier.wait()
                customers.link(call, {"phone": PHONE, "external_id": "CRM-9", "name": "מירב"})
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=file_call, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    customer = db.session.scalars(sa.select(Customer)).one()
    assert (customer.call_count, customer.average_score, customer.external_id) == (2, 65.0, "CRM-9")


def test_calls_without_or_with_bad_metadata_stay_unassigned_and_can_be_assigned_later(cli, ctx, tmp_path):
    from webapp.analysis import customers
    from webapp.extensions import db
    from webapp.models import Customer, FileEvent, SalesCall

    folder = tmp_path / "calls"
    folder.mkdir()
    plain = write_call(folder)
    broken = write_call(folder)
    (folder / (broken.split(".")[0] + ".meta.json")).write_text("{oops", encoding="utf-8")
    bad_phone = write_call(folder)
    (folder / (bad_phone.split(".")[0] + ".meta.json")).write_text(json.dumps({"phone": "12"}), encoding="utf-8")
    configure(scanning={"fileSettleSeconds": 0})
    result, report = run_json(cli, folder, "--workers", "1")
    assert report and report["totals"]["completed"] == 3, (result.output, report)
    calls = db.session.scalars(sa.select(SalesCall)).all()
    assert [c.customer_id for c in calls] == [None, None, None]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    notes = {
        e.record.file_name: e.message
        for e in db.session.scalars(sa.select(FileEvent).where(FileEvent.to_status.is_(None)))
    }
    assert "is not valid" in notes[broken] and "kept without a customer" in notes[broken]
    assert "'12' is not a valid phone number" in notes[bad_phone]
    assert plain not in notes

    customer = Customer(phone=PHONE, name="יוסי", call_count=0)
    db.session.add(customer)
    db.session.flush()
    for call in calls[:2]:
        customers.assign(call, customer)
    db.session.commit()
    assert customer.call_count == 2
    customers.assign(calls[0], None)
    db.session.commit()
    db.session.refresh(customer)
    assert customer.call_count == 1 and customer.average_score == calls[1].overall_score
