"""For every URL scheme and every place a secret can sit in a URL, no output shows it.

Places: the password of ``user:password@``, userinfo without a ``:`` (``https://TOKEN@``),
a secret option (``tlsCertificateKeyFilePassword=``, ``access_token=``, ...) and MongoDB's
``authMechanismProperties=AWS_SESSION_TOKEN:...``. Outputs: ``mask_url``, ``mask_secrets``
of a message quoting the URL, ``repr`` and ``masked_url`` of the settings and of the store,
and the error when the URL is refused.
"""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from docstore import PersistenceError, StorageConfig, open_store
from docstore._config import mask_secrets, mask_url

MARK = "ZqSeCrEt"  # starts every secret: what must never show
SCHEMES = ["mongodb://", "mongodb+srv://", "memory://", "local://", "http://", "https://", "postgres://", "ftp://"]
OPTIONS = [
    "tlsCertificateKeyFilePassword",
    "password",
    "token",
    "access_token",
    "api_key",
    "sslClientCertificateKeyPassword",
]
SECRETS = st.text(max_size=24).map(lambda text: MARK + text)


@st.composite
def urls_with_a_secret(draw: st.DrawFn) -> tuple[str, str]:
    """(a URL, the secret in it, as written)."""
    scheme = draw(st.sampled_from(SCHEMES))
    secret = draw(SECRETS)
    host = draw(st.sampled_from(["db.example:27017", "127.0.0.1:1", "cluster0.example.net", "./dir"]))
    place = draw(st.sampled_from(["password", "encoded password", "userinfo", "option", "aws"]))
    if place == "password":  # as typed, unescaped: "@", "/", ":", spaces and all
        user = draw(st.sampled_from(["admin", "", "u.ser"]))
        return f"{scheme}{user}:{secret}@{host}/db", secret
    encoded = quote(secret, safe="")
    if place == "encoded password":
        return f"{scheme}admin:{encoded}@{host}/db", encoded
    if place == "userinfo":
        return f"{scheme}{encoded}@{host}/db", encoded
    if place == "option":
        option = draw(st.sampled_from(OPTIONS))
        return f"{scheme}{host}/db?appName=x&{option}={encoded}&w=1", encoded
    pair = draw(st.sampled_from([f"AWS_SESSION_TOKEN:{encoded}", f"AWS_SESSION_TOKEN%3A{encoded}"]))
    return f"{scheme}{host}/db?authMechanism=MONGODB-AWS&authMechanismProperties=SERVICE_NAME:x,{pair}", encoded


def _hidden(secret: str, *outputs: str) -> None:
    for output in outputs:
        assert MARK not in output and secret not in output, output


@settings(max_examples=400, deadline=None)
@given(urls_with_a_secret())
def test_no_url_of_any_scheme_shows_its_secret(case: tuple[str, str]) -> None:
    url, secret = case
    _hidden(secret, mask_url(url))
    if "\n" not in url:  # mask_secrets reads prose line by line; a URL alone goes to mask_url
        _hidden(secret, mask_secrets(f"cannot reach {url}: refused"), mask_secrets(f"'{url}'"))
    try:
        config = StorageConfig(url=url)
    except ValidationError as exc:
        _hidden(secret, str(exc), repr(exc), *(str(error) for error in exc.errors()))
    else:
        _hidden(secret, repr(config), config.masked_url, str(config.model_dump(exclude={"url"})))
    try:
        store = open_store(url)
    except PersistenceError as error:
        _hidden(secret, str(error), repr(error))
    else:
        _hidden(secret, repr(store))
