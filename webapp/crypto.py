"""Secrets at rest: provider credentials and notification secrets are stored encrypted
(Fernet) with a key derived from CALLBATCH_ENCRYPTION_KEY, or SECRET_KEY when unset."""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "enc:"
MASK = "••••••••"


def _fernet():
    secret = current_app.config.get("ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"callbatch-secrets", info=b"fernet").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value):
    """The stored form of a secret ('' stays '')."""
    if not value:
        return ""
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored):
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ValueError("value is not an encrypted secret")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the secret cannot be decrypted with this server's key") from exc


def seal(config, secret_fields, previous=None):
    """Encrypt the secret fields of a provider config. A blank or masked value keeps the
    previous stored secret, so a form never has to send a secret back."""
    sealed = dict(config)
    for name in secret_fields:
        value = sealed.get(name)
        if value in (None, "", MASK):
            kept = (previous or {}).get(name)
            if kept:
                sealed[name] = kept
            else:
                sealed.pop(name, None)
        elif not str(value).startswith(PREFIX):
            sealed[name] = encrypt(str(value))
    return sealed


def unseal(config, secret_fields):
    """The config with its secrets decrypted, for the provider that uses them."""
    opened = dict(config)
    for name in secret_fields:
        if opened.get(name):
            opened[name] = decrypt(opened[name])
    return opened


def masked(config, secret_fields):
    """The config as a page or API response may show it."""
    shown = dict(config)
    for name in secret_fields:
        if shown.get(name):
            shown[name] = MASK
    return shown
