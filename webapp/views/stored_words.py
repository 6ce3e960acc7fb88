"""Sentences the pipeline stores as it words them in English (a file's error, its timeline,
a folder's connection error), said on a page in the reader's language. Each stored sentence
is matched against the patterns below; a match is translated with its names and values kept
(left-to-right), anything else is shown as stored, translated when the catalogue has it.
`sentences_in_code()` reads the raise sites the error sentences come from:
tests/web/test_hebrew.py checks that ERRORS lists every one of them."""

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
    N_("The file holds no decodable audio."),
    N_("'%(name)s' is not named <uuid>.<extension>."),
    N_("'.%(ext)s' files are not accepted here (allowed: %(allowed)s)."),
    N_("The file is %(mb)s, over this folder's limit of %(mb2)s."),
    N_("The file is empty (0 bytes)."),
    N_("The recording is no longer there."),
    N_("File permissions do not let Callbatch read the file."),
    N_("The recording is not a regular file; Callbatch does not read it."),
    N_("The file holds no audio track."),
    N_(
        "The credentials are valid but may not list the container '%(container)s' (%(code)s): they need the List and Read permissions."
    ),
    N_("The folder's credentials may not read %(name)s (%(code)s)."),
    N_(
        "Azure rejected the credentials of this folder (%(value)s): check the connection string, account key or SAS token (and that no firewall rule of the storage account blocks this server)."
    ),
    N_("Azure Blob Storage answered with an error (%(value)s)."),
    N_("The connection to %(host)s failed."),
    N_("The folder's Azure credentials are malformed: paste the connection string, account key or SAS token again."),
    N_("The connection to %(host)s broke."),
    N_("The container '%(container)s' does not exist in this storage account."),
    N_("%(name)s is no longer in the container '%(container)s'."),
    N_(
        "Azure rejected the credentials of this folder (%(code)s): check the connection string, account key or SAS token (and that no firewall rule of the storage account blocks this server)."
    ),
    N_("The connection was refused: %(exc)s"),
    N_("Downloading %(what)s took longer than %(timeout)s s; it is retried."),
    N_("The bucket '%(bucket_name)s' does not exist."),
    N_("Google Cloud rejected the credentials of this folder (401): check the service-account key."),
    N_(
        "The credentials are valid but may not list the bucket '%(bucket_name)s' (403): grant the Storage Object Viewer role."
    ),
    N_("Google refused the service-account key of this folder (it was revoked, deleted or is not valid)."),
    N_(
        "No Google credentials were found: paste a service-account key for this folder or give the server default credentials."
    ),
    N_("The connection to Google Cloud Storage failed."),
    N_("Google Cloud Storage answered with an error (%(code)s)."),
    N_("The connection to the bucket broke."),
    N_("%(name)s is no longer in the bucket '%(bucket_name)s'."),
    N_("The folder's credentials may not read %(name)s (403)."),
    N_("The service-account key of this folder is not a valid key file."),
    N_("The directory %(root)s does not exist."),
    N_("%(root)s is not a directory."),
    N_("Callbatch may not read the directory %(root)s."),
    N_("%(path)s is no longer in the folder."),
    N_("%(path)s cannot be opened (%(strerror)s); Callbatch does not read it."),
    N_("Callbatch may not read %(path)s (file permissions)."),
    N_("%(path)s changed while Callbatch opened it (%(strerror)s); it was not read."),
    N_("S3 answered with an error (%(value)s)."),
    N_("AWS rejected the credentials of this folder (%(code)s): check the access key ID and secret."),
    N_("The bucket '%(bucket)s' does not exist (or is in another account)."),
    N_("%(key)s is no longer in the bucket '%(bucket)s'."),
    N_(
        "The credentials are valid but may not list the bucket '%(bucket)s' (%(code)s): allow s3:ListBucket and s3:GetObject."
    ),
    N_("No AWS credentials were found: enter an access key for this folder or give the server an AWS role or profile."),
    N_("The connection to %(where)s %(kind)s."),
    N_("The folder's credentials may not read %(key)s (%(code)s)."),
    N_("The address is empty."),
    N_("The address contains a backslash; write it with forward slashes only."),
    N_("The address contains spaces or control characters."),
    N_("The address must start with %(join)s."),
    N_("The address contains a user name or password before '@'; remove it (credentials go in their own fields)."),
    N_("The address has no host name."),
    N_("%(host)s is a cloud metadata service; requests to it are refused."),
    N_("This is not a valid web address."),
    N_("%(value)s is a cloud metadata service; requests to it are refused."),
    N_("A connection to %(address)s by name was refused: only resolved addresses can be checked."),
    N_("The file took longer than the %(limit)s s a worker may spend on one file, so its processing was stopped."),
    N_("The database was unreachable while the file was processed."),
    N_("Same content as file #%(earlier)s (the storage's checksum matches), which is already processed."),
    N_("Same content as file #%(earlier)s, which is already processed."),
    N_("A call with identical content was filed by another worker."),
    N_(
        "The speech model '%(model_name)s' is not installed (looked in %(models_dir)s). Run `flask models install-base --use` for the demo model%(pull)s, or set the model to a local directory."
    ),
    N_(
        "The speech model '%(model_name)s' could not be loaded: check that its folder holds a complete CTranslate2 Whisper model and that the device and compute type suit this machine."
    ),
    N_("The speech model could not transcribe this recording."),
    N_("The recording could not be read for upload."),
    N_("The transcription service answered in an unexpected shape: %(exc)s"),
    N_("No transcript was delivered beside the recording (expected %(name)s.json or %(name2)s.txt)."),
    N_("The transcript file %(file_name)s is not valid: %(exc)s."),
    N_("The transcript file %(file_name)s could not be read: %(exc)s."),
    N_("The scoring model gave no answer%(value)s."),
    N_("The scoring model's answer is incomplete: no score for %(join)s."),
    N_("The scoring model gave no answer."),
    N_("The scoring model's answer is not valid JSON (%(msg)s at character %(pos)s)."),
    N_("The scoring model's answer is not valid JSON (%(msg)s at character %(pos)s): it begins “%(start)s”."),
    N_("The worker's disk filled up while downloading %(what)s."),
    N_("The scoring model's answer does not fit the scorecard: %(where)s: %(first)s."),
    N_("The scorecard is not valid: rubric must be the path of a YAML or JSON file (or give the criteria inline)."),
    N_("The scorecard %(path)s could not be read: the file is missing or not readable."),
    N_("The scorecard %(path)s could not be read: %(exc)s"),
]


# What the forms' checks say (the calls checks_in_code reads)
CHECKS = [
    N_("Enter an e-mail address."),
    N_("Role must be one of: %(join)s."),
    N_("The password needs at least %(min_password)s characters."),
    N_("Language must be en or he."),
    N_("Unknown time zone %(zone)s: choose one from the list, e.g. Asia/Jerusalem."),
    N_("This is the last active admin: make someone else admin first."),
    N_("A user with e-mail %(email)s already exists."),
    N_("Give the folder a name (up to 200 characters)."),
    N_("Storage type must be one of: %(join)s."),
    N_("Scan interval must be a whole number of seconds."),
    N_("Monitor type must be one of: %(join)s."),
    N_("List at least one file extension, e.g. mp3 wav."),
    N_("Maximum file size must be from 1 MB to 2048 MB."),
    N_("The folder's analysis settings must be an object."),
    N_("'%(kind)s' is not an analysis setting (transcriber or scorer)."),
    N_("Choose a %(kind)s type: one of %(join)s."),
    N_("A folder named '%(name)s' already exists."),
    N_("Storage settings must be an object."),
    N_("A scan schedule applies only when files are found 'only on a schedule'; clear it or choose that monitor."),
    N_("The scorecard must be a mapping with a list of criteria."),
    N_("The scorecard is not valid: it needs a list of criteria."),
    N_("Not valid YAML/JSON: %(exc)s"),
    N_("Not valid YAML/JSON: it is nested too deeply."),
    N_("Not valid JSON: %(problem)s."),
    N_("Give the token a name (up to 100 characters), e.g. the system that uses it."),
    N_("Expiry must be a whole number of days from 1 to 3650."),
    N_("You already have %(active)s tokens; revoke one first."),
    N_("There is no customer %(customer_id)s."),
    N_("Give the customer a name, a phone number or an external id."),
    N_("A customer with phone %(phone)s already exists."),
    N_("A customer with external id %(external_id)s already exists."),
    N_("'%(key)s' must be text."),
    N_("The document must be a JSON object like the one Export writes."),
    N_("secrets must be one of: %(join)s."),
    N_("'%(key)s' must be a list."),
    N_("Each folder must be an object with name, storage, monitor and processing."),
    N_('id must be text, e.g. "folder-1".'),
    N_("'%(kind)s' is not a notification channel (known: %(join)s)."),
    N_("enabled must be true or false."),
    N_("folders must be a list of folder ids or names."),
    N_("Each notification must be an object with type, config, conditions and enabled."),
    N_("'%(key)s' must be an object."),
    N_("'%(key)s' must be a list of texts."),
    N_("The file is not JSON: %(problem)s."),
    N_("'%(key)s' is not a section of the configuration document (known: %(join)s)."),
    N_("'processing' must be an object."),
    N_("'%(settings_where)s' must be an object."),
    N_("'%(key)s' is not a folder setting (known: %(join)s)."),
    N_("autoStart must be true or false."),
    N_("There is no folder '%(ref)s' in the document or here."),
    N_("folders"),
    N_("'%(key)s' is required."),
    N_("'%(key)s' must be text, a number or true/false."),
    N_("'%(key)s' is not a setting here (known: %(join)s)."),
    N_("Give the notification a name (up to 200 characters)."),
    N_("Choose a channel: %(join)s."),
    N_("Choose at least one condition."),
    N_("Language must be en or he (or empty for the installation's language)."),
    N_("Must be between %(low)s and %(high)s minutes."),
    N_("'%(condition)s' is not a condition."),
    N_("There is no folder %(missing)s."),
    N_("'%(code)s' is not an error code."),
    N_("Folders must be given by their ids."),
    N_("Must be a whole number of minutes."),
    N_("%(label)s is required."),
    N_("%(label)s must be one of %(join)s."),
    N_("%(label)s must be a whole number."),
    N_("From address '%(sender)s' is not an e-mail address."),
    N_("'%(address)s' is not an e-mail address."),
    N_("SMTP server: %(exc)s"),
    N_("'%(number)s' is not a phone number in international form (+972...)."),
    N_("Apprise URL: %(exc)s"),
    N_("Container: enter the container's name."),
    N_("Container: '%(container)s' is not a valid container name (3–63 lower-case letters, digits and hyphens)."),
    N_("Connection string: paste the whole connection string (DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…)."),
    N_("Credentials: enter a connection string, or the account URL with an account key or a SAS token."),
    N_("Account URL: it must start with https://."),
    N_("Credentials: with an account URL, enter the account key or a SAS token."),
    N_("Downloads at once: enter a whole number from 1 to 32."),
    N_("Download timeout: enter a whole number of seconds from 10 to 7200."),
    N_("Bucket: enter the bucket's name."),
    N_("API endpoint: it must start with http:// or https://."),
    N_("Credentials: choose either a service-account key or no credentials, not both."),
    N_("Bucket: '%(bucket)s' is not a valid bucket name (lower-case letters, digits, dots, hyphens and underscores)."),
    N_(
        "Credentials: enter both the access key ID and the secret access key, or neither (to use the server's own AWS credentials)."
    ),
    N_("Endpoint URL: it must start with http:// or https://."),
    N_("SQS queue URL: it must start with https:// (copy it from the queue's details)."),
    N_("Bucket: '%(bucket)s' is not a valid bucket name (3–63 lower-case letters, digits, dots and hyphens)."),
    N_("Model: enter a model directory or name."),
    N_("Device: choose one of %(join)s."),
    N_("Compute type: choose one of %(join)s."),
    N_("Temperature: a number from 0 to 1."),
    N_("%(label)s: a whole number from %(low)s to %(high)s."),
    N_("Base URL: an http:// or https:// address, or leave it empty for OpenAI itself."),
    N_("API key variable: the name of the environment variable holding the key."),
    N_(
        "API key: keys are never stored in settings; put it in the environment variable %(env)s and name that variable instead."
    ),
    N_("Timeout: seconds, from 1 to 3600."),
    N_("API key variable: %(env)s is not allowed; use %(key_env_rule)s."),
    N_("Base URL: %(exc)s"),
    N_("pass_mark must be from 0 to 100"),
    N_("%(name)s: needs an id and a label"),
    N_("%(name)s: weight must be a number of 0 or more"),
    N_("%(name)s: needs parts"),
    N_("%(name)s: every part needs an id"),
    N_("%(name)s.%(part)s: needs phrases (or questions: true)"),
    N_("%(name)s.%(part)s: needs points"),
    N_("%(name)s.%(part)s: within_words must be a whole number of 1 or more"),
    N_("%(name)s.%(part)s: except must be a list of phrases"),
    N_("List at most %(max_extensions)s file extensions."),
    N_("'%(kind)s' is not an analysis setting (transcriber, diarizer or scorer)."),
    N_("redact must be true or false."),
    N_("%(label)s: a number from 0 to %(high)s."),
]

# Where the ERRORS sentences are written: the raise sites of these modules
SOURCES = (
    "batch/validation.py",
    "providers/storage/azure.py",
    "providers/storage/cloud.py",
    "providers/storage/gcs.py",
    "providers/storage/local.py",
    "providers/storage/s3.py",
    "outbound.py",
    "batch/processing.py",
    "analysis/transcribers/faster_whisper.py",
    "analysis/transcribers/openai.py",
    "analysis/transcribers/sidecar.py",
    "analysis/scorers/openai.py",
    "analysis/scorers/rubric.py",
)
# Where the CHECKS sentences are written: what the forms' checks say (error(field, sentence),
# messages.append(sentence), report.problem(where, sentence))
CHECKED = (
    "services/users.py",
    "services/folders.py",
    "services/settings.py",
    "services/tokens.py",
    "services/calls.py",
    "services/customers.py",
    "services/config_document.py",
    "services/notifications.py",
    "notifications/base.py",
    "notifications/email.py",
    "notifications/sms.py",
    "notifications/apprise.py",
    "providers/storage/azure.py",
    "providers/storage/cloud.py",
    "providers/storage/gcs.py",
    "providers/storage/s3.py",
    "providers/storage/local.py",
    "providers/monitors/polling.py",
    "batch/batch_config.py",
    "timetable.py",
    "analysis/transcribers/faster_whisper.py",
    "analysis/openai_client.py",
    "analysis/scorers/rubric.py",
)
RAISED = {
    "SkipFile",
    "FileAccessError",
    "ProcessingError",
    "CallbatchError",
    "BlockedTarget",
    "TranscriptMissing",
    "ModelUnavailable",
}
KEPT_AS_IS = (
    "worker",
    "actor",
    "cron",
    "host",
    "path",
    "name",
    "key",
    "root",
    "file_name",
    "model_name",
    "models_dir",
    "address",
    "value",
    "exc",
    "strerror",
)  # names, paths and technical detail: ltr


def _pattern(sentence):
    """The sentence as a regular expression: each %(name)s a named group."""
    parts = re.split(r"%\((\w+)\)s", sentence.replace("%%", "%"))
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex + r"\Z", re.S)


PATTERNS = [(_pattern(sentence), sentence) for sentence in EVENTS + ERRORS + CHECKS]


def said(message):
    """A stored sentence in the reader's language (markup)."""
    if not message:
        return message or ""
    message = str(message)
    for pattern, sentence in PATTERNS:
        found = pattern.match(message)
        if found:
            values = {
                key: Markup('<bdi dir="ltr">{}</bdi>').format(value)
                if key.rstrip("0123456789") in KEPT_AS_IS
                else escape(gettext(value))
                for key, value in found.groupdict().items()
            }
            return Markup(escape(gettext(sentence)) % values) if values else gettext(sentence)
    return gettext(message)


def sentences_in_code(sources=SOURCES, said_by=lambda call: call.args[0] if _name(call.func) in RAISED else None):
    """The sentences of the raise sites in SOURCES (or what `said_by` picks of the calls in
    `sources`), in the form ERRORS lists them."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    for source in sources:
        with open(os.path.join(root, source), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                sentence = _sentence(said_by(node))
                if sentence and re.sub(r"%\(\w+\)s|[\s,.:;]", "", sentence) and sentence not in found:
                    found.append(sentence)
    return found


def _checked(call):
    name = _name(call.func)
    if name in ("error", "problem") and len(call.args) >= 2:
        return call.args[1]
    if name == "append":
        return call.args[0]
    return None


def checks_in_code():
    """The sentences of the checks in CHECKED, in the form CHECKS lists them."""
    return sentences_in_code(CHECKED, _checked)


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
