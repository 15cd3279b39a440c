"""Notifications through Apprise, against local receivers: json:// over HTTP and plain SMTP."""

from __future__ import annotations

import pickle
from datetime import date

import duckdb
import pytest

from config import secrets
from config.settings import Settings, Topic
from fakes.receivers import JsonReceiver, SmtpReceiver
from tasks.errors import ConfigError
from tasks.post import notify
from tasks.post.notify import Digest, Item
from tasks.record import deliveries, store, writes
from tasks.stage_config import stage_config
from tests.env import settings_env

DAY = date(2024, 10, 7)
SECRET = "tok3n-canary-9d2f7a"
ITEMS = tuple(
    Item(f"Paper {n} with *stars*", f"It shows result {n}.", f"https://arxiv.org/abs/2410.0{n}v1")
    for n in range(1, 4)
)
DIGEST = Digest("Diffusion Models", DAY, ITEMS, "https://blog.example.org/2024/10/07/p/")


def test_the_json_receiver_gets_the_topic_day_titles_summaries_links_and_post():
    with JsonReceiver() as hook:
        notify.deliver(hook.apprise_url, 1, DIGEST)
    (got,) = hook.messages
    assert got["title"] == "Diffusion Models: arXiv batch of Mon 2024-10-07, 3 papers"
    for item in ITEMS:
        assert item.one_line in got["message"] and item.link in got["message"]
    assert "Paper 1 with \\*stars\\*" in got["message"]  # markdown: escaped, not bold
    assert DIGEST.post_url in got["message"]


def test_an_email_goes_through_plain_smtp_with_login_and_the_password_stays_out():
    with SmtpReceiver() as smtp:
        notify.deliver(smtp.apprise_url("digest", SECRET), 1, DIGEST)
    (mail,) = smtp.messages
    assert mail["Subject"] == DIGEST.title and mail["To"] == "reader@example.org"
    html = mail.get_body(("html",)).get_content()
    assert all(item.link in html for item in ITEMS)
    assert "Paper 2 with *stars*" in mail.get_body(("plain",)).get_content()
    assert smtp.recorder.logins == ["digest"] and SECRET not in mail.as_string()


def test_a_refusal_is_transient_on_500_and_names_no_secret():
    with JsonReceiver() as hook:
        hook.status = 500
        url = hook.apprise_url.replace("json://", f"json://digest:{SECRET}@")
        with pytest.raises(notify.TransientDeliveryError) as caught:
            notify.deliver(url, 1, DIGEST)
    assert "500" in caught.value.message and SECRET not in caught.value.message
    assert pickle.loads(pickle.dumps(caught.value)).message == caught.value.message


def test_a_refusal_on_403_is_not_retried():
    with JsonReceiver() as hook:
        hook.status = 403
        with pytest.raises(notify.DeliveryError, match="403"):
            notify.deliver(hook.apprise_url, 1, DIGEST)


def test_an_unreadable_url_is_named_by_its_position_not_its_secret():
    with pytest.raises(ConfigError) as caught:
        notify.plugin_for(f"nosuchservice://{SECRET}@host", 2)
    assert "notify URL number 2" in str(caught.value) and SECRET not in str(caught.value)


def test_a_long_day_is_cut_with_and_n_more_within_the_limit():
    items = tuple(Item(f"Title {n}", "x" * 80, f"https://arxiv.org/abs/{n}") for n in range(50))
    text = notify.body(Digest("T", DAY, items, "https://blog/p/"), markdown=False, limit=1000)
    assert len(text) <= 1000 and "Title 0" in text and "https://blog/p/" in text
    shown = text.count("https://arxiv.org/abs/")
    assert text.endswith(f"… and {50 - shown} more in the post") and 0 < shown < 50


def test_the_post_url_follows_hexos_default_permalink():
    url = notify.post_url("https://blog.example.org/", "{year}/{month}/{day}/{name}/", DAY, "p")
    assert url == "https://blog.example.org/2024/10/07/p/"
    assert notify.post_url("", "{year}/", DAY, "p") == ""


def test_urls_come_from_the_environment_comma_separated_and_from_the_topic(monkeypatch):
    monkeypatch.setenv("DIGEST_NOTIFY_URLS", "json://a.example/, json://b.example/")
    topic = Topic(
        name="T",
        slug="t",
        categories=["cs.CV"],
        include=["x"],
        notify_urls=["json://c.example/", "json://a.example/"],
    )
    settings = Settings(topics=[topic])
    assert secrets.of(settings).urls(topic) == [
        "json://a.example/",
        "json://b.example/",
        "json://c.example/",
    ]
    assert "a.example" not in repr(settings) and "c.example" not in topic.model_dump_json()


def _published(tmp_path, **extra) -> tuple[Settings, Topic]:
    """A database holding a published post of one paper for DAY, and its settings."""
    topic = Topic(
        name="Diffusion Models",
        slug="diffusion-models",
        language="en",
        categories=["cs.CV"],
        include=["diffusion"],
    )
    settings = Settings(db_path=tmp_path / "d.duckdb", topics=[topic], **extra)
    with store.connect(settings.db_path) as con:
        con.execute(
            "INSERT INTO papers (arxiv_id, version, title, authors, categories) "
            "VALUES ('2410.03665', 1, 'A diffusion paper', ['A. Author'], ['cs.CV'])"
        )
        con.execute(
            "INSERT INTO selections (topic, day, arxiv_id, version, kept, score, matched, "
            "excluded) VALUES (?, ?, '2410.03665', 1, true, 2, [], [])",
            [topic.name, DAY],
        )
        writes.save_digest(con, topic.name, DAY, "posts/2024-10-07-diffusion-models.md", 1, 0, [])
    return settings, topic


def test_a_sent_day_is_recorded_by_hash_and_a_failure_with_its_reason(tmp_path):
    with JsonReceiver() as hook:
        url = hook.apprise_url.replace("json://", f"json://digest:{SECRET}@")
        settings, topic = _published(tmp_path, notify_urls=[url], site_url="https://b.org")
        config, keys = stage_config(settings), secrets.of(settings)
        sent = deliveries.send(config, keys, topic, DAY, 1)
        assert sent.status == "sent" and sent.papers == 1
        assert (
            "https://b.org/2024/10/07/2024-10-07-diffusion-models/" in (hook.messages[0]["message"])
        )
        assert deliveries.sent_before(settings.db_path, topic.name, DAY) == {sent.channel}
        hook.status = 503
        with pytest.raises(notify.TransientDeliveryError):
            deliveries.send(config, keys, topic, DAY, 1, attempt=3)
    ((service, status, reason, attempts, _papers),) = deliveries.delivered(
        settings.db_path, topic.name, DAY
    )
    assert (service, status, attempts) == ("JSON", "failed", 3) and "503" in reason
    assert not deliveries.sent_before(settings.db_path, topic.name, DAY)
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        assert SECRET not in str(con.execute("SELECT * FROM deliveries").fetchall())


def test_a_day_with_no_post_sends_nothing_unless_notify_empty(tmp_path):
    settings, topic = _published(tmp_path)
    with store.connect(settings.db_path) as con:
        writes.save_empty_day(con, topic.name, date(2024, 10, 8), "no paper matched the topic")
        writes.save_empty_day(con, topic.name, date(2024, 10, 9), "listed nothing", "unavailable")
    assert deliveries.load_digest(stage_config(settings), topic, date(2024, 10, 8)) is None
    told = stage_config(settings.model_copy(update={"notify_empty": True}))
    empty = deliveries.load_digest(told, topic, date(2024, 10, 8))
    assert empty is not None and empty.items == () and "no paper matched" in empty.note
    assert deliveries.load_digest(told, topic, date(2024, 10, 9)) is None  # left open


def test_the_cli_rejects_an_unreadable_url_at_once_naming_its_position(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    urls = f"json://127.0.0.1:9/,nosuch://{SECRET}@host"
    with settings_env({"DIGEST_DB_PATH": str(tmp_path / "d.duckdb"), "DIGEST_NOTIFY_URLS": urls}):
        said = CliRunner().invoke(app, ["run", "--date", "2024-10-07", "--llm", "extractive"])
    assert said.exit_code == 2 and "notify URL number 2" in said.output
    assert SECRET not in said.output and len(said.output.strip().splitlines()) == 1
