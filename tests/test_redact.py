"""engine.storage.redact: every URL Chronicle prints or logs, without its password or secret query parameters."""

from __future__ import annotations

import pytest

from engine.storage import redact, redact_text


@pytest.mark.parametrize(("url", "shown"), [
    ("http://alice:S3CRET@models.example:8080/v1", "http://alice:***@models.example:8080/v1"),
    ("https://alice:S3CRET@[::1]:443/v1", "https://alice:***@[::1]:443/v1"),
    ("postgresql://chronicle:S3CRET@db:5432/chronicle", "postgresql://chronicle:***@db:5432/chronicle"),
    ("postgresql://postgres:@/chronicle?host=/run/postgresql", "postgresql://postgres:@/chronicle?host=/run/postgresql"),
    ("postgresql://u@db/chronicle?password=S3CRET&sslmode=require", "postgresql://u@db/chronicle?password=***&sslmode=require"),
    ("https://host/v1?api_key=S3CRET&model=x", "https://host/v1?api_key=***&model=x"),
    ("https://host/v1?APIKEY=S3CRET;key=S3CRET", "https://host/v1?APIKEY=***;key=***"),
    ("https://host/v1?access_token=S3CRET&token=S3CRET&secret=S3CRET", "https://host/v1?access_token=***&token=***&secret=***"),
    ("https://blob.example/c?sv=2024&sig=S3CRET&X-Api-Key=S3CRET", "https://blob.example/c?sv=2024&sig=***&X-Api-Key=***"),
    ("https://host/cb#id_token=S3CRET&state=ok", "https://host/cb#id_token=***&state=ok"),
    ("http://alice:pa/ss?w#rd@host/v1", "http://alice:***@host/v1"),  # a pasted token with unescaped / ? #
    ("https://host:8080/users/@alice?page=2", "https://host:8080/users/@alice?page=2"),  # no password here
    ("data/chronicle.db", "data/chronicle.db"),
])
def test_a_url_keeps_user_host_and_path_but_no_secret(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "S3CRET" not in redact(url) and "pa/ss" not in redact(url)


def test_urls_inside_text_are_redacted_where_they_stand() -> None:
    text = ("could not connect to the model server at http://alice:S3CRET@127.0.0.1:9/v1 (refused); "
            "database 'postgresql://u:S3CRET@db/c?sslmode=require'.")
    assert redact_text(text) == ("could not connect to the model server at http://alice:***@127.0.0.1:9/v1 "
                                 "(refused); database 'postgresql://u:***@db/c?sslmode=require'.")
    assert redact_text("no URL at all: user:pass@host") == "no URL at all: user:pass@host"
