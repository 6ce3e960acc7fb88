from .local import LocalStorage

STORAGE = {"local": LocalStorage}
