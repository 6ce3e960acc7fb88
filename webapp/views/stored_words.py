"""Sentences the pipeline stores as it words them in English (a file's error, its timeline,
a folder's connection error), said on a page in the reader's language. Each stored sentence
is matched against the patterns below; a match is translated with its names and values kept
(left-to-right), anything else is shown as stored, translated when the catalogue has it.
`sentences_in_code()` reads the raise sites the error sentences come from:
tests/test_web_hebrew.py checks that ERRORS lists every one of them."""
import ast
import os
import re

from flask_babel import gettext
from markupsafe import Markup, escape


def N_(text):  # marks a sentence for the catalogue (pybabel extract -k N_), translated where shown
    return text


# The file timeline (webapp/batch/discovery.py, status.py, actions.py, processing.py, schedule.py)
EVENTS = [
    N_("Found by a %(trigger)s scan"),
    N_("Queued for processing"),
    N_("Queued: the processing window %(start)s–%(end)s opened"),
    N_("Queued at the processing time %(cron)s"),
    N_("Waiting for the processing window %(start)s–%(end)s"),
    N_("Picked up by %(worker)s"),
    N_("Filed as call #%(call)s for customer #%(customer)s"),
    N_("Filed as call #%(call)s (no customer)"),
    N_("Retry %(number)s of %(most)s in %(delay)s s"),
    N_("Retried by %(actor)s"),
    N_("Cancelled by %(actor)s"),
    N_("Re-opened by %(actor)s: rollback of job #%(job)s"),
    N_("Waiting for a retry after the rollback"),
    N_("Handed back to the queue: %(worker)s was stopped before it finished the file."),
]


# Errors (the raise sites sentences_in_code reads)
ERRORS = [
    N_('The file holds no decodable audio.'),
    N_("'%(name)s' is not named <uuid>.<extension>."),
    N_("'.%(ext)s' files are not accepted here (allowed: %(allowed)s)."),
    N_("The file is %(mb)s, over this folder's limit of %(mb2)s."),
    N_('The file is empty (0 bytes).'),
    N_('The recording is no longer there.'),
    N_('File permissions do not let Callbatch read the file.'),
    N_('The recording is not a regular file; Callbatch does not read it.'),
    N_('The file holds no audio track.'),
    N_("The credentials are valid but may not list the container '%(container)s' (%(code)s): they need the List and Read permissions."),
    N_("The folder's credentials may not read %(name)s (%(code)s)."),
    N_('Azure rejected the credentials of this folder (%(value)s): check the connection string, account key or SAS token (and that no firewall rule of the storage account blocks this server).'),
    N_('Azure Blob Storage answered with an error (%(value)s).'),
    N_('The connection to %(host)s failed.'),
    N_("The folder's Azure credentials are malformed: paste the connection string, account key or SAS token again."),
    N_('The connection to %(host)s broke.'),
    N_("The container '%(container)s' does not exist in this storage account."),
    N_("%(name)s is no longer in the container '%(container)s'."),
    N_('Azure rejected the credentials of this folder (%(code)s): check the connection string, account key or SAS token (and that no firewall rule of the storage account blocks this server).'),
    N_('The connection was refused: %(exc)s'),
    N_('Downloading %(what)s took longer than %(timeout)s s; it is retried.'),
    N_("The bucket '%(bucket_name)s' does not exist."),
    N_('Google Cloud rejected the credentials of this folder (401): check the service-account key.'),
    N_("The credentials are valid but may not list the bucket '%(bucket_name)s' (403): grant the Storage Object Viewer role."),
    N_('Google refused the service-account key of this folder (it was revoked, deleted or is not valid).'),
    N_('No Google credentials were found: paste a service-account key for this folder or give the server default credentials.'),
    N_('The connection to Google Cloud Storage failed.'),
    N_('Google Cloud Storage answered with an error (%(code)s).'),
    N_('The connection to the bucket broke.'),
    N_("%(name)s is no longer in the bucket '%(bucket_name)s'."),
    N_("The folder's credentials may not read %(name)s (403)."),
    N_('The service-account key of this folder is not a valid key file.'),
    N_('The directory %(root)s does not exist.'),
    N_('%(root)s is not a directory.'),
    N_('Callbatch may not read the directory %(root)s.'),
    N_('%(path)s is no longer in the folder.'),
    N_('%(path)s cannot be opened (%(strerror)s); Callbatch does not read it.'),
    N_('Callbatch may not read %(path)s (file permissions).'),
    N_('%(path)s changed while Callbatch opened it (%(strerror)s); it was not read.'),
    N_('S3 answered with an error (%(value)s).'),
    N_('AWS rejected the credentials of this folder (%(code)s): check the access key ID and secret.'),
    N_("The bucket '%(bucket)s' does not exist (or is in another account)."),
    N_("%(key)s is no longer in the bucket '%(bucket)s'."),
    N_("The credentials are valid but may not list the bucket '%(bucket)s' (%(code)s): allow s3:ListBucket and s3:GetObject."),
    N_('No AWS credentials were found: enter an access key for this folder or give the server an AWS role or profile.'),
    N_('The connection to %(where)s %(kind)s.'),
    N_("The folder's credentials may not read %(key)s (%(code)s)."),
    N_('The address is empty.'),
    N_('The address contains a backslash; write it with forward slashes only.'),
    N_('The address contains spaces or control characters.'),
    N_('The address must start with %(join)s.'),
    N_("The address contains a user name or password before '@'; remove it (credentials go in their own fields)."),
    N_('The address has no host name.'),
    N_('%(host)s is a cloud metadata service; requests to it are refused.'),
    N_('This is not a valid web address.'),
    N_('%(value)s is a cloud metadata service; requests to it are refused.'),
    N_('A connection to %(address)s by name was refused: only resolved addresses can be checked.'),
    N_('The file took longer than the %(limit)s s a worker may spend on one file, so its processing was stopped.'),
    N_('The database was unreachable while the file was processed.'),
    N_("Same content as file #%(earlier)s (the storage's checksum matches), which is already processed."),
    N_('Same content as file #%(earlier)s, which is already processed.'),
    N_('A call with identical content was filed by another worker.'),
    N_("The speech model '%(model_name)s' is not installed (looked in %(models_dir)s). Run `flask models install-base --use` for the demo model%(pull)s, or set the model to a local directory."),
    N_("The speech model '%(model_name)s' could not be loaded: check that its folder holds a complete CTranslate2 Whisper model and that the device and compute type suit this machine."),
    N_('The speech model could not transcribe this recording.'),
    N_('The recording could not be read for upload.'),
    N_('The transcription service answered in an unexpected shape: %(exc)s'),
    N_('No transcript was delivered beside the recording (expected %(name)s.json or %(name2)s.txt).'),
    N_('The transcript file %(file_name)s is not valid: %(exc)s.'),
    N_('The transcript file %(file_name)s could not be read: %(exc)s.'),
    N_('The scoring model gave no answer%(value)s.'),
    N_("The scoring model's answer is incomplete: no score for %(join)s."),
    N_('The scoring model gave no answer.'),
    N_("The scoring model's answer is not valid JSON (%(msg)s at character %(pos)s)."),
    N_("The scoring model's answer does not fit the scorecard: %(where)s: %(first)s."),
    N_('The scorecard is not valid: rubric must be the path of a YAML or JSON file (or give the criteria inline).'),
    N_('The scorecard %(path)s could not be read: the file is missing or not readable.'),
    N_('The scorecard %(path)s could not be read: %(exc)s'),
]

# Where the ERRORS sentences are written: the raise sites of these modules
SOURCES = ("batch/validation.py", "providers/storage/azure.py", "providers/storage/cloud.py",
           "providers/storage/gcs.py", "providers/storage/local.py", "providers/storage/s3.py", "outbound.py",
           "batch/processing.py", "analysis/transcribers/faster_whisper.py", "analysis/transcribers/openai.py",
           "analysis/transcribers/sidecar.py", "analysis/scorers/openai.py", "analysis/scorers/rubric.py")
RAISED = {"SkipFile", "FileAccessError", "ProcessingError", "CallbatchError", "BlockedTarget", "TranscriptMissing",
          "ModelUnavailable"}
KEPT_AS_IS = ("worker", "actor", "cron", "host", "path", "name", "key", "root", "file_name", "model_name",
              "models_dir", "address", "value", "exc", "strerror")  # names, paths and technical detail: ltr


def _pattern(sentence):
    """The sentence as a regular expression: each %(name)s a named group."""
    parts = re.split(r"%\((\w+)\)s", sentence.replace("%%", "%"))
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex + r"\Z", re.S)


PATTERNS = [(_pattern(sentence), sentence) for sentence in EVENTS + ERRORS]


def said(message):
    """A stored sentence in the reader's language (markup)."""
    if not message:
        return message or ""
    message = str(message)
    for pattern, sentence in PATTERNS:
        found = pattern.match(message)
        if found:
            values = {key: Markup('<bdi dir="ltr">{}</bdi>').format(value) if key.rstrip("0123456789") in KEPT_AS_IS
                      else escape(gettext(value) if key == "trigger" else value)
                      for key, value in found.groupdict().items()}
            return Markup(escape(gettext(sentence)) % values) if values else gettext(sentence)
    return gettext(message)


def sentences_in_code():
    """The error sentences of the raise sites in SOURCES, in the form ERRORS lists them."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    for source in SOURCES:
        with open(os.path.join(root, source), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in RAISED and node.args:
                sentence = _sentence(node.args[0])
                if sentence and re.sub(r"%\(\w+\)s|[\s,.:;]", "", sentence) and sentence not in found:
                    found.append(sentence)
    return found


def _sentence(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("%", "%%")
    if not isinstance(node, ast.JoinedStr):
        return None
    parts, used = [], {}
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(value.value.replace("%", "%%"))
        else:
            name = _name(value.value).lower().strip("_") or "value"
            used[name] = used.get(name, 0) + 1
            parts.append(f"%({name}{'' if used[name] == 1 else used[name]})s")
    return "".join(parts)


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func).lstrip("_")
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return "value"
