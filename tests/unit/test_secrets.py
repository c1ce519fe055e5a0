"""No form of URL or option shows a password or key password: errors, reprs, CLI output.

And a URL that PyMongo would misread is refused (INVALID_DATA, telling the user to
percent-encode), while credentials given apart from the URL work whatever they hold.
"""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pymongo.uri_parser import parse_uri

from docstore import ErrorCode, PersistenceError, StorageConfig, open_store
from docstore._config import mask_secrets
from docstore._mongo._engines import MongoEngine

SECRET = "SECRETpw"
LEAKY_URLS = [
    f"mongodb://u:{SECRET} pw@127.0.0.1:9/db",  # a space
    f"mongodb://u:p@ss{SECRET}@127.0.0.1:9/db",  # an unescaped "@"
    f"mongodb://u:9/{SECRET}:Pw@127.0.0.1:9/db",  # PyMongo reads host "9", database "...:Pw@127"
    f"mongodb://u:a%zz{SECRET}@127.0.0.1:9/db",  # "%" not followed by two hex digits
    f"mongodb://u:a+{SECRET}@127.0.0.1:9/db",  # "+", which PyMongo reads as a space
    f"mongodb+srv://u:{SECRET}/x@cluster.example.net/db",
]


@pytest.mark.parametrize("url", LEAKY_URLS)
def test_a_url_pymongo_would_misread_is_invalid_data_without_the_password(url: str) -> None:
    with pytest.raises(PersistenceError) as caught:
        open_store(url)
    assert caught.value.code is ErrorCode.INVALID_DATA
    assert "percent-encoded" in caught.value.message and SECRET not in str(caught.value)
    with pytest.raises(ValidationError) as raw:
        StorageConfig(url=url)
    assert SECRET not in str(raw.value) and SECRET not in repr(raw.value)
    assert all(SECRET not in str(error) for error in raw.value.errors())


def test_an_unknown_scheme_never_echoes_its_password() -> None:
    with pytest.raises(ValidationError) as raw:
        StorageConfig(url="mongo://admin:hunter2@h/")
    assert "hunter2" not in str(raw.value)
    with pytest.raises(PersistenceError) as caught:
        open_store("mongo://admin:hunter2@h/")
    assert caught.value.code is ErrorCode.INVALID_DATA and "hunter2" not in str(caught.value)


def test_secret_options_are_masked_in_reprs_and_urls() -> None:
    url = f"mongodb://h:27017/db?tls=true&tlsCertificateKeyFilePassword={SECRET}&appName=x"
    config = StorageConfig(url=url)
    assert SECRET not in repr(config) and SECRET not in config.masked_url and SECRET not in repr(open_store(config))
    assert "appName=x" in config.masked_url
    assert mask_secrets(f"mongodb://u:{SECRET} pw@h/") == "mongodb://u:***@h/"
    assert SECRET not in mask_secrets(f"'mongodb://u:p@ss{SECRET}@h:1/d' and more")


def test_password_settings_never_show() -> None:
    config = StorageConfig(url="mongodb://h/", username="u", password=SECRET)
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())
    with pytest.raises(ValidationError) as raw:
        StorageConfig(url="memory://", password=SECRET)  # a password without a user
    assert SECRET not in str(raw.value)
    with pytest.raises(ValidationError) as raw:
        StorageConfig(url="mongodb://h/", username="u", password=SECRET, max_pool_size=0)
    assert SECRET not in str(raw.value)


def test_credentials_go_to_the_driver_apart_from_the_url() -> None:
    password = "p@ss/wo:rd%+ é" + SECRET
    engine = MongoEngine(StorageConfig(url="mongodb://127.0.0.1:9/?authSource=admin", username="u", password=password))
    credentials = engine._client.options.pool_options._credentials
    assert credentials is not None and (credentials.username, credentials.password) == ("u", password)
    assert credentials.source == "admin"


def test_credentials_given_twice_or_to_another_engine_are_refused() -> None:
    for given_settings in (
        {"url": "mongodb://a:b@h/", "username": "u", "password": "p"},
        {"url": "memory://", "username": "u", "password": "p"},
    ):
        with pytest.raises(PersistenceError) as caught:
            open_store(**given_settings)  # type: ignore[arg-type]
        assert caught.value.code is ErrorCode.INVALID_DATA and "p" not in caught.value.message.split(":")[-1].split()


async def test_driver_errors_do_not_show_the_password() -> None:
    store = open_store(
        f"mongodb://ops:{SECRET}@127.0.0.1:9/?serverSelectionTimeoutMS=200&tlsCertificateKeyFilePassword={SECRET}"
    )
    with pytest.raises(PersistenceError) as caught:
        await store.initialize()
    assert SECRET not in str(caught.value) and SECRET not in repr(store)


@pytest.mark.parametrize("url", [LEAKY_URLS[1], "mongo://admin:SECRETpw@h/", LEAKY_URLS[0]])
def test_cli_output_never_shows_the_password(url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "docstore", "health", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert "url: Value error" in result.stderr  # says what is wrong, not only where to read about it


# "%41" in a URL *is* the percent-encoding of "A": a raw password holding "%" and two hex
# digits cannot be told from an encoded one, so it is not a raw password here.
RAW_PASSWORDS = st.text(min_size=1, max_size=30).filter(lambda text: not re.search("%[0-9A-Fa-f]{2}", text))


@settings(max_examples=300, deadline=None)  # a loaded CI machine is no failure
@given(RAW_PASSWORDS)
def test_any_password_is_either_read_exactly_or_refused(password: str) -> None:
    """Never a misread: what PyMongo parses is what was written, or the URL is refused."""
    url = f"mongodb://user:{password}@db.example:27017/classes"
    try:
        StorageConfig(url=url)
    except ValidationError as exc:
        assert "user:***@db.example" in str(exc) and f":{password}@" not in str(exc)
        encoded = f"mongodb://user:{quote(password, safe='')}@db.example:27017/classes"
        StorageConfig(url=encoded)  # percent-encoded, the same password is accepted
        assert parse_uri(encoded)["password"] == password
        return
    parsed = parse_uri(url)
    assert parsed["password"] == password
    assert parsed["nodelist"] == [("db.example", 27017)] and parsed["database"] == "classes"
