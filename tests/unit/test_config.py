from __future__ import annotations

import pytest
from pydantic import ValidationError

from docstore import StorageConfig, open_store
from docstore._config import mask_secrets


def test_defaults_to_the_embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCSTORE_URL", raising=False)
    config = StorageConfig()
    assert config.url == "local://./.docstore" and config.engine == "local" and config.local_path == "./.docstore"


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCSTORE_URL", "mongodb://u:p@db:27017")
    monkeypatch.setenv("DOCSTORE_DATABASE", "classes")
    monkeypatch.setenv("DOCSTORE_SERVER_SELECTION_TIMEOUT_MS", "1500")
    store = open_store()
    assert store.config.engine == "mongodb"
    assert (store.config.database, store.config.server_selection_timeout_ms) == ("classes", 1500)


def test_repr_masks_the_password() -> None:
    config = StorageConfig(url="mongodb+srv://teacher:s3cret@cluster0.example.net/db")
    assert "s3cret" not in repr(config) and "s3cret" not in repr(open_store(config))
    assert config.masked_url == "mongodb+srv://teacher:***@cluster0.example.net/db"
    assert mask_secrets("no url here") == "no url here"


def test_unknown_scheme_is_refused_without_echoing_secrets() -> None:
    with pytest.raises(ValidationError) as caught:
        StorageConfig(url="postgres://u:pw123@h/db")
    assert "pw123" not in str(caught.value).split("input_value")[0]


async def test_a_bad_url_or_setting_is_invalid_data_without_the_password() -> None:
    from docstore import ErrorCode, PersistenceError

    with pytest.raises(PersistenceError) as caught:
        open_store("postgres://u:pw123@h/db")
    assert caught.value.code is ErrorCode.INVALID_DATA and "pw123" not in str(caught.value)
    with pytest.raises(PersistenceError) as caught:
        open_store("memory://", max_pool_size=0)
    assert caught.value.code is ErrorCode.INVALID_DATA and "max_pool_size" in caught.value.message
    store = open_store("mongodb://u:pw123@db.example:99999/")
    with pytest.raises(PersistenceError) as caught:
        await store.initialize()
    assert caught.value.code is ErrorCode.INVALID_DATA and "pw123" not in str(caught.value)


def test_credentials_come_from_the_environment_apart_from_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCSTORE_URL", "mongodb://localhost:27017/docstore?directConnection=true&authSource=docstore")
    monkeypatch.setenv("DOCSTORE_USERNAME", "docstore")
    monkeypatch.setenv("DOCSTORE_PASSWORD", "p/@:%ss w0rd")
    config = StorageConfig()
    assert config.username == "docstore" and config.password is not None
    assert config.password.get_secret_value() == "p/@:%ss w0rd"
    assert "p/@:%ss" not in repr(config) and "@" not in config.masked_url


def test_a_percent_encoded_password_in_the_url_is_accepted() -> None:
    config = StorageConfig(url="mongodb://u:p%2F%40%3A%25ss@db.example:27017/docstore")
    assert config.masked_url == "mongodb://u:***@db.example:27017/docstore"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("http://admin:PW@127.0.0.1:1", "http://admin:***@127.0.0.1:1"),
        ("https://PW@docstore.example.org/", "https://***@docstore.example.org/"),
        ("mongodb://PW@db.example/?authMechanism=MONGODB-X509", "mongodb://***@db.example/?authMechanism=MONGODB-X509"),
        (
            "mongodb://db.example/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:PW",
            "mongodb://db.example/?authMechanism=MONGODB-AWS&authMechanismProperties=***",
        ),
        (
            "mongodb://db.example/?authMechanismProperties=SERVICE_NAME:x,AWS_SESSION_TOKEN%3APW&w=1",
            "mongodb://db.example/?authMechanismProperties=***&w=1",
        ),
        ("https://h/x?api_key=PW&access_token=PW", "https://h/x?api_key=***&access_token=***"),
    ],
)
def test_every_credential_bearing_part_of_a_url_is_masked(url: str, masked: str) -> None:
    from docstore._config import mask_url

    assert mask_url(url) == masked
    assert "PW" not in mask_secrets(f"cannot reach {url}: [Errno 111]")
    if not url.startswith("mongodb://PW@"):  # a user alone in a mongodb URL is accepted too, masked
        config = StorageConfig(url=url)
        assert "PW" not in repr(config) and "PW" not in config.masked_url and "PW" not in repr(open_store(config))


def test_secret_key_value_pairs_in_driver_text_are_masked() -> None:
    text = "auth failed with {'AWS_SESSION_TOKEN': 'PW'} and AWS_SESSION_TOKEN:PW, password=PW"
    assert "PW" not in mask_secrets(text)
