"""/api/tokens: your personal API tokens — list, create (the token is shown once), revoke."""

from flask_login import current_user

from ..auth import has_role
from ..services import tokens as service
from . import bp
from .errors import invalid, not_found
from .registry import operation
from .schemas import TokenCreate

TAG = "tokens"


@operation(bp, "GET", "/tokens", tag=TAG, summary="List your API tokens")
def list_tokens():
    items = [service.view(t) for t in service.list_tokens(current_user)]
    return {"items": items, "total": len(items)}


@operation(bp, "POST", "/tokens", tag=TAG, summary="Create an API token", body=TokenCreate, status=201)
def create_token(body):
    """The answer's `token` is shown this once: store it. Send it as `Authorization: Bearer <token>`;
    it acts as you, with your role."""
    token, text, errors = service.create_token(current_user, body.name, body.expires_in_days)
    if errors:
        raise invalid(errors)
    return {**service.view(token), "token": text}, 201


@operation(bp, "DELETE", "/tokens/<int:token_id>", tag=TAG, summary="Revoke an API token", status=204)
def revoke_token(token_id):
    """Your own tokens; an admin may revoke anyone's. A revoked token stops working at once."""
    token = service.get_token(token_id)
    if token is None or (token.user_id != current_user.id and not has_role(current_user, "admin")):
        raise not_found("token", token_id)
    service.revoke_token(token, user=current_user)
    return None, 204
