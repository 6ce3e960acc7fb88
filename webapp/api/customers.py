"""/api/batch/customers: customers, their call history and score trend."""

from ..models.types import iso
from ..services import customers as service
from . import bp, page_json
from .calls import summary as call_summary
from .errors import found
from .registry import operation
from .schemas import CustomersQuery

TAG = "customers"


@operation(bp, "GET", "/batch/customers", tag=TAG, summary="List customers", query=CustomersQuery)
def list_customers(query):
    return page_json(service.list_customers(query.q, query.page, query.per_page), service.view)


@operation(
    bp, "GET", "/batch/customers/<int:customer_id>", tag=TAG, summary="Get a customer with call history and score trend"
)
def get_customer(customer_id):
    customer = found(service.get_customer(customer_id), "customer", customer_id)
    return {
        **service.view(customer),
        "calls": [call_summary(c) for c in service.history(customer)],
        "trend": [
            {"call_id": call_id, "at": iso(when), "score": score} for call_id, when, score in service.trend(customer)
        ],
    }
