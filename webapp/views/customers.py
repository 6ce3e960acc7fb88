"""The customers list and the customer page with call history and score trend. Routes on the
calls blueprint (endpoints calls.customers, calls.customer)."""

from flask import abort, render_template, request

from ..services import customers as customer_service
from .calls import bp


@bp.get("/customers/")
def customers():
    page = customer_service.list_customers(request.args.get("q"), request.args.get("page"))
    return render_template("customers/index.html", page=page, q=request.args.get("q", ""))


@bp.get("/customers/<id:customer_id>")
def customer(customer_id):
    item = customer_service.get_customer(customer_id) or abort(404)
    points = customer_service.trend_svg_points(customer_service.trend(item))
    return render_template("customers/detail.html", customer=item, calls=customer_service.history(item), points=points)
