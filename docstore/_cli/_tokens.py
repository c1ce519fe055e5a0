"""``docstore token create|list|revoke``: API tokens of a server, in its store or through it.

``--url`` names the store itself (``mongodb://``, ``local://``) or a running server
(``https://``, with an admin token in ``DOCSTORE_TOKEN``): either way the tokens live in
the store's ``docstore_tokens`` collection, hashed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from ._app import EXIT_OK, console, main, note_if_ephemeral, open_from_url, run, url_option

if TYPE_CHECKING:
    from .._server._tokens import TokenStore
    from .._store import Store

__all__ = ["token"]


@main.group()
def token() -> None:
    """API tokens for `docstore serve` (stored hashed; shown once, at creation)."""


@token.command("create")
@click.option("--namespace", required=True, help="The one namespace the token may act on.")
@click.option("--read-only", is_flag=True, help="Reads only: every write is refused.")
@click.option("--name", default=None, help="A name to list and revoke it by (default: NAMESPACE-xxxxxxxx).")
@url_option
def create(namespace: str, read_only: bool, name: str | None, url: str | None) -> None:
    """Create a token and print it alone on stdout (the only time it is shown)."""
    run(_create(namespace, read_only, name, url))


async def _create(namespace: str, read_only: bool, name: str | None, url: str | None) -> int:
    async with open_from_url(url) as store:
        note_if_ephemeral(store, "token create")
        secret, info = await _tokens(store).create(namespace, read_only=read_only, name=name)
    print(secret)  # alone on stdout, for `TOKEN=$(docstore token create ...)`
    mode = "read-only" if info.read_only else "read-write"
    click.echo(f"token {info.name!r} for namespace {info.namespace!r} ({mode}) created", err=True)
    return EXIT_OK


@token.command("list")
@url_option
def list_tokens(url: str | None) -> None:
    """Name, namespace, read-only, created, last used (never the token)."""
    run(_list(url))


async def _list(url: str | None) -> int:
    async with open_from_url(url, create=False) as store:  # listing must not make a store at a mistyped path
        found = await _tokens(store).list()
    table = Table(title=f"tokens of {store.config.masked_url}")
    for column in ("name", "namespace", "read-only", "created", "last used"):
        table.add_column(column)
    for info in found:
        last = info.last_used.isoformat(timespec="seconds") if info.last_used else "never"
        table.add_row(
            info.name,
            info.namespace,
            "yes" if info.read_only else "no",
            info.created_at.isoformat(timespec="seconds"),
            last,
        )
    console.print(table)
    return EXIT_OK


@token.command("revoke")
@click.argument("name")
@url_option
def revoke(name: str, url: str | None) -> None:
    """Revoke the token named NAME (a server refuses it from then on)."""
    run(_revoke(name, url))


async def _revoke(name: str, url: str | None) -> int:
    async with open_from_url(url) as store:
        note_if_ephemeral(store, "token revoke")
        info = await _tokens(store).revoke(name)
    console.print(f"token {info.name!r} (namespace {info.namespace!r}) revoked", highlight=False)
    return EXIT_OK


def _tokens(store: Store) -> TokenStore:
    """The store's token collection (imported here: the `docstore._server` package loads FastAPI)."""
    from .._server._tokens import TokenStore

    return TokenStore(store.documents)
