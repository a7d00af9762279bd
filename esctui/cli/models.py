"""``esctui models add|list|show|rename|delete|share``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    parser = commands.add_parser("models", help="upload and manage kraken models", parents=[common])
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("add", help="validate a model with kraken and upload it", parents=[common])
    p.add_argument("file")
    p.add_argument("--name", help="default: the model's own name, else the file name")
    p.set_defaults(handler=add)
    p = sub.add_parser("list", help="models you own or that are shared with you", parents=[common])
    p.set_defaults(handler=list_models)
    p = sub.add_parser("show", help="everything kraken says about a model", parents=[common])
    p.add_argument("model")
    p.set_defaults(handler=show)
    p = sub.add_parser("rename", help="rename a model you own", parents=[common])
    p.add_argument("model")
    p.add_argument("new_name")
    p.set_defaults(handler=rename)
    p = sub.add_parser("delete", help="delete a model you own", parents=[common])
    p.add_argument("model")
    p.set_defaults(handler=delete)
    p = sub.add_parser("share", help="share a model you own with users", parents=[common])
    p.add_argument("model")
    p.add_argument("users", nargs="+")
    p.set_defaults(handler=share)


def add(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.models import add_model

    model = add_model(cli.store, args.file, name=args.name)
    if cli.json_output:
        cli.emit_json(model.to_record())
    else:
        cli.print(f"added {model.name!r}: {', '.join(model.kinds)}  [{model.id}]")
    return 0


def list_models(args: argparse.Namespace, cli: CliContext) -> int:
    models = cli.store.list_models()
    if cli.json_output:
        cli.emit_json([m.to_record() for m in models])
        return 0
    if not models:
        cli.print("No models yet: esctui models add FILE")
        return 0
    cli.table(
        [
            [
                m.name,
                ", ".join(m.kinds),
                "owner" if m.owner == cli.store.user else f"shared by {m.owner}",
                f"{m.byte_size / 1e6:.1f} MB",
            ]
            for m in models
        ],
        ["NAME", "KIND", "ACCESS", "SIZE"],
    )
    return 0


def show(args: argparse.Namespace, cli: CliContext) -> int:
    cli.emit_json(cli.store.get_model(args.model).to_record())
    return 0


def rename(args: argparse.Namespace, cli: CliContext) -> int:
    model = cli.store.update_model(args.model, name=args.new_name)
    cli.print(f"renamed to {model.name!r}")
    return 0


def delete(args: argparse.Namespace, cli: CliContext) -> int:
    cli.store.delete_model(args.model)
    cli.print("deleted")
    return 0


def share(args: argparse.Namespace, cli: CliContext) -> int:
    model = cli.store.get_model(args.model)
    users = sorted(set(model.shared_with) | set(args.users))
    cli.store.update_model(args.model, shared_with=users)
    cli.print(f"shared {model.name!r} with {', '.join(users)}")
    return 0
