"""The outbound guard, attacked: crafted URLs, redirects and DNS rebinding against every
channel, storage endpoint and model server a user can type. Whatever names a public address
runs inside a loopback-only network namespace (the `netns` fixture) with a listener on
127.0.0.1 that must hear nothing."""

import ipaddress

import pytest

from webapp import outbound
from webapp.analysis import openai_client
from webapp.analysis.scorers.openai import OpenAIScorer
from webapp.analysis.transcribers.openai import OpenAITranscriber
from webapp.errors import ProcessingError
from webapp.notifications import NOTIFIERS
from webapp.providers.storage import STORAGE

# Each one names 127.0.0.1:{port} as the HTTP client reads it.
CRAFTED = [
    "http://127.0.0.1:{port}\\@8.8.8.8/",  # urlsplit sees 8.8.8.8, requests connects to 127.0.0.1
    "http://8.8.8.8@127.0.0.1:{port}/",  # user info
    "http://2130706433:{port}/",  # decimal
    "http://0x7f.1:{port}/",  # hex, short form
    "http://0177.0.0.1:{port}/",  # octal
    "http://127.1:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
    "http://[::127.0.0.1]:{port}/",  # IPv4-compatible
    "http://[64:ff9b::7f00:1]:{port}/",  # NAT64
    "http://[2002:7f00:1::]:{port}/",  # 6to4
]


def test_crafted_urls_reach_nothing_on_any_http_channel(netns):
    result = netns(
        """
        import requests
        from tests.support import netns_probe as p
        from webapp.notifications import NOTIFIERS

        app = p.app()
        inside = p.Listener("127.0.0.1")
        CRAFTED = %r
        urls = [u.format(port=inside.port) for u in CRAFTED]
        # The attack is real: a plain request to the first URL lands on the listener.
        requests.get(urls[0], timeout=3)
        control = inside.heard
        refused = {}
        for url in urls:
            for kind, field in (("webhook", "url"), ("slack", "webhook_url")):
                notifier = NOTIFIERS[kind]
                refused[f"{kind} save {url}"] = notifier.validate_config({field: url})
                refused[f"{kind} send {url}"] = p.outcome(lambda: notifier({field: url}).send(p.message()))
            apprise_url = "json://" + url.split("://", 1)[1]
            refused[f"apprise save {url}"] = NOTIFIERS["apprise"].validate_config({"url": apprise_url})
            refused[f"apprise send {url}"] = p.outcome(
                lambda: NOTIFIERS["apprise"]({"url": apprise_url}).send(p.message()))
        p.report(control=control, heard=inside.heard - control, refused=refused)
    """
        % (CRAFTED,)
    )
    assert result["control"] == 1
    assert result["heard"] == 0
    for what, answer in result["refused"].items():
        assert answer, what
        text = answer if isinstance(answer, str) else " ".join(answer)
        assert text != "sent", what
        assert any(
            reason in text
            for reason in ("loopback, private", "backslash", "user name or password", "not a URL apprise understands")
        ), (what, text)


def test_redirects_into_the_server_network_are_not_followed(netns):
    result = netns("""
        from tests.support import netns_probe as p
        from webapp.notifications import NOTIFIERS

        app = p.app()
        inside = p.Listener("127.0.0.1")
        public = p.Listener("8.8.8.8", redirect=f"http://127.0.0.1:{inside.port}/")
        url = f"http://8.8.8.8:{public.port}/hook"
        answers = {
            "webhook": p.outcome(lambda: NOTIFIERS["webhook"]({"url": url}).send(p.message())),
            "slack": p.outcome(lambda: NOTIFIERS["slack"]({"webhook_url": url}).send(p.message())),
            "apprise": p.outcome(lambda: NOTIFIERS["apprise"](
                {"url": f"json://8.8.8.8:{public.port}/hook"}).send(p.message())),
        }
        p.report(public=public.heard, inside=inside.heard, answers=answers)
    """)
    assert result["public"] == 3, result  # each channel did reach the public server...
    assert result["inside"] == 0, result  # ...and none followed it inside
    assert all(a != "sent" for a in result["answers"].values()), result
    assert "redirect" in result["answers"]["webhook"] and "redirect" in result["answers"]["slack"]


REBIND_SCRIPT = """
    import json, os
    from tests.support import netns_probe as p

    names = ["hook", "slack", "apprise", "mailto", "smtp", "twilio", "s3", "azure", "gcs", "stt", "llm", "sns"]
    dns = p.Dns({f"{n}.rebind.example": ["8.8.8.8", "127.0.0.1"] for n in names})
    inside = p.Listener("127.0.0.1")
    public = p.Listener("8.8.8.8", port=inside.port)
    port = inside.port
    host = lambda n: f"{n}.rebind.example:{port}"
    app = p.app(TWILIO_API_BASE=f"http://{host('twilio')}", EVENTS_TOKEN="events-token",
                SNS_SUBSCRIBE_URL_PATTERN=r"^http://")

    from webapp.notifications import NOTIFIERS
    from webapp.providers.storage import STORAGE
    from webapp.analysis.transcribers.openai import OpenAITranscriber
    from webapp.analysis.scorers.openai import OpenAIScorer
    from webapp.analysis.result import Segment, Transcript

    saved, sent = {}, {}

    def notifier(kind, config):
        saved[kind] = NOTIFIERS[kind].validate_config(config)  # the first answer: public
        sent[kind] = p.outcome(lambda: NOTIFIERS[kind](config).send(p.message()))

    def download(provider):
        with provider.download_file("in/3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f.wav"):
            pass

    def storage(kind, config):
        saved[kind] = STORAGE[kind].validate_config(config)
        sent[kind] = p.outcome(lambda: list(STORAGE[kind](config).list_files()))
        sent[kind + " download"] = p.outcome(lambda: download(STORAGE[kind](config)))

    notifier("webhook", {"url": f"http://{host('hook')}/in"})
    notifier("slack", {"webhook_url": f"http://{host('slack')}/services/T1/B2/c3"})
    notifier("apprise", {"url": f"json://{host('apprise')}/in"})
    mailto = f"mailto://user:pass@mail.example?smtp={host('mailto').split(':')[0]}&port={port}&to=ops@mail.example"
    saved["mailto"] = NOTIFIERS["apprise"].validate_config({"url": mailto})
    sent["mailto"] = p.outcome(lambda: NOTIFIERS["apprise"]({"url": mailto}).send(p.message()))
    notifier("email", {"host": host("smtp").split(":")[0], "port": port, "security": "none",
                       "sender": "cb@mail.example", "recipients": "ops@mail.example"})
    saved["sms"] = []  # CALLBATCH_TWILIO_API_BASE is checked when the client is made
    sent["sms"] = p.outcome(lambda: NOTIFIERS["sms"]({"account_sid": "AC" + "0" * 32, "auth_token": "t" * 32,
                                                      "from_number": "+15005550006",
                                                      "to_numbers": "+972501234567"}).send(p.message()))
    storage("s3", {"bucket": "calls", "endpoint_url": f"http://{host('s3')}", "access_key_id": "AKIAPROBE",
                   "secret_access_key": "probe-secret"})
    storage("azure", {"container": "calls", "connection_string":
                      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
                      f"BlobEndpoint=http://{host('azure')}/devstoreaccount1;"})
    storage("gcs", {"bucket": "calls", "endpoint": f"http://{host('gcs')}", "anonymous": True})

    os.environ["OPENAI_API_KEY"] = "sk-probe"
    wav = os.path.join(os.environ["INSTANCE_PATH"], "a.wav")
    open(wav, "wb").write(b"RIFF0000WAVE")
    stt = {"model": "whisper-1", "base_url": f"http://{host('stt')}/v1", "timeout": 3}
    saved["stt"] = OpenAITranscriber.validate_config(stt)
    sent["stt"] = p.outcome(lambda: OpenAITranscriber(stt).transcribe(wav, 1.0))
    llm = {"model": "gpt-4o-mini", "base_url": f"http://{host('llm')}/v1", "timeout": 3}
    saved["llm"] = OpenAIScorer.validate_config(llm)
    transcript = Transcript("שלום, מדבר דני מחברת אקמה", [Segment(0.0, 2.0, "שלום, מדבר דני מחברת אקמה")],
                            "he", "probe", "probe")
    sent["llm"] = p.outcome(lambda: OpenAIScorer(llm).score(transcript, 2.0))

    confirmation = {"Type": "SubscriptionConfirmation", "MessageId": "m1", "Token": "t", "TopicArn": "arn:x",
                    "Message": "confirm", "SubscribeURL": f"http://{host('sns')}/?Action=ConfirmSubscription",
                    "Timestamp": "2026-12-01T00:00:00Z"}
    answer = app.test_client().post("/api/batch/events/s3?token=events-token", data=json.dumps(confirmation),
                                    content_type="text/plain; charset=UTF-8")
    saved["sns"] = []
    sent["sns"] = f"{answer.status_code} {answer.get_json()}"

    p.report(inside=inside.heard, received=inside.received, public=public.heard, saved=saved, sent=sent,
             asked=dns.asked)
"""


def test_dns_rebinding_cannot_switch_any_target_to_loopback(netns):
    """Every name answers a public address to its first look-up (the check when saved) and
    127.0.0.1 afterwards: the connection is judged on the address it really goes to."""
    result = netns(REBIND_SCRIPT, timeout=180)
    assert result["inside"] == 0, result
    for kind, messages in result["saved"].items():
        assert messages == [], (kind, messages)  # the first answer was public: accepted when saved
    for kind, answer in result["sent"].items():
        assert "loopback, private" in answer, (kind, answer)
    assert result["sent"]["sns"].startswith("403"), result["sent"]["sns"]
    assert all(count >= 2 for count in result["asked"].values()), result["asked"]


# -- what is refused when a setting is saved ------------------------------------------------


@pytest.fixture
def no_private(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", False)


@pytest.mark.parametrize(
    "kind, config, expected",
    [
        ("webhook", {"url": "http://127.0.0.1:9\\@example.org/"}, "backslash"),
        ("webhook", {"url": "http://user:pw@127.0.0.1/"}, "user name or password"),
        ("webhook", {"url": "http://[::ffff:10.1.2.3]/"}, "loopback, private"),
        ("slack", {"webhook_url": "https://0x7f.1/services/T/B/C"}, "loopback, private"),
        ("apprise", {"url": "json://10.0.0.8/hook"}, "loopback, private"),
        ("apprise", {"url": "ntfy://127.0.0.1/topic"}, "loopback, private"),
        ("apprise", {"url": "mailto://u:p@mail.example?smtp=127.0.0.1&to=ops@mail.example"}, "loopback, private"),
        ("apprise", {"url": "mailto://u:p@mail.example?smtp=169.254.169.254&to=ops@mail.example"}, "metadata"),
        ("apprise", {"url": "syslog://"}, "notifies this server itself"),
        ("email", {"host": "127.0.0.1", "sender": "a@b.example", "recipients": "c@d.example"}, "loopback, private"),
        (
            "email",
            {"host": "[64:ff9b::a00:1]", "sender": "a@b.example", "recipients": "c@d.example"},
            "loopback, private",
        ),
    ],
)
def test_notification_targets_are_refused_when_saved(no_private, kind, config, expected):
    messages = NOTIFIERS[kind].validate_config(config)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "kind, config, expected",
    [
        ("s3", {"bucket": "calls", "endpoint_url": "http://127.0.0.1:9000"}, "Endpoint URL: "),
        ("s3", {"bucket": "calls", "endpoint_url": "http://minio\\@storage.example/"}, "backslash"),
        ("s3", {"bucket": "calls", "queue_url": "https://[::127.0.0.1]/123/q"}, "SQS queue URL: "),
        (
            "azure",
            {"container": "calls", "account_url": "http://10.0.0.5/acct", "sas_token": "sv=1&sig=2"},
            "Account URL: ",
        ),
        (
            "azure",
            {
                "container": "calls",
                "connection_string": "DefaultEndpointsProtocol=http;AccountName=a;"
                "AccountKey=a2V5;BlobEndpoint=http://[2002:7f00:1::]:10000/a;",
            },
            "blob endpoint",
        ),
        ("gcs", {"bucket": "calls", "endpoint": "http://169.254.169.254/"}, "metadata"),
        (
            "gcs",
            {
                "bucket": "calls",
                "credentials_json": '{"type": "service_account", "client_email": "a@b.example", '
                '"private_key": "k", "token_uri": "http://127.0.0.1:8080/token"}',
            },
            "token_uri",
        ),
    ],
)
def test_storage_endpoints_are_refused_when_saved(no_private, kind, config, expected):
    messages = STORAGE[kind].validate_config(config)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("provider", [OpenAITranscriber, OpenAIScorer])
def test_model_server_address_and_key_variable_are_checked(no_private, provider):
    assert any(
        "Base URL: " in m and "loopback, private" in m
        for m in provider.validate_config({"base_url": "http://2130706433/v1"})
    )
    for name in ("SECRET_KEY", "DATABASE_URL", "CALLBATCH_ENCRYPTION_KEY", "OPENAI_API_KEY_X", "callbatch_x_api_key"):
        messages = provider.validate_config({"api_key_env": name})
        assert any(f"{name} is not allowed" in m for m in messages), (name, messages)
    for name in ("OPENAI_API_KEY", "CALLBATCH_GROQ_API_KEY", "CALLBATCH_STT_2_API_KEY"):
        assert provider.validate_config({"api_key_env": name}) == [], name


def test_a_key_variable_outside_the_allow_list_is_never_read_or_sent(app, ctx, httpserver, tmp_path, monkeypatch):
    """Saved around validation (an old setting, a hand-edited import): the worker still refuses."""
    monkeypatch.setenv("SECRET_KEY", "the-server-secret-key")
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF0000WAVE")
    config = {"model": "whisper-1", "base_url": httpserver.url_for("/v1"), "api_key_env": "SECRET_KEY"}
    with pytest.raises(ProcessingError) as raised:
        OpenAITranscriber(config).transcribe(str(wav), 1.0)
    assert "SECRET_KEY is not allowed" in raised.value.message
    with pytest.raises(ProcessingError):
        openai_client.make_client({"api_key_env": "DATABASE_URL"})
    assert httpserver.log == []


def test_the_metadata_service_is_refused_even_with_private_targets_allowed(app, ctx):
    assert app.config["ALLOW_PRIVATE_TARGETS"]
    for url in (
        "http://169.254.169.254/latest/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ):
        with pytest.raises(outbound.BlockedTarget, match="metadata"):
            outbound.check_url(url)
    with outbound.guard(), pytest.raises(outbound.BlockedTarget, match="metadata"):
        import socket

        socket.create_connection(("169.254.169.254", 80), timeout=1)


@pytest.mark.parametrize(
    "address, carried",
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::127.0.0.1", "127.0.0.1"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("64:ff9b:1::a00:1", "10.0.0.1"),
        ("2002:7f00:1::", "127.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
    ],
)
def test_ipv6_forms_are_judged_as_the_ipv4_address_they_carry(address, carried):
    assert ipaddress.ip_address(carried) in outbound.embedded_ipv4(ipaddress.ip_address(address))
    with pytest.raises(outbound.BlockedTarget, match="loopback, private"):
        outbound.judge(ipaddress.ip_address(address), allow_private=False)


def test_the_guard_leaves_connections_outside_it_alone(app, ctx, httpserver, monkeypatch):
    """Inside a guard a loopback connection is refused before any byte is sent; outside it
    (the database, Redis) nothing changes."""
    import requests

    httpserver.expect_request("/").respond_with_data("ok")
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", False)
    with pytest.raises(outbound.BlockedTarget), outbound.guard():
        requests.get(httpserver.url_for("/"), timeout=3)
    assert httpserver.log == []
    assert requests.get(httpserver.url_for("/"), timeout=3).text == "ok"
