"""``esctui models add|list|show|rename|delete|share``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command
from esctui.cli.remote_work import register_models_push

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    parser = commands.add_parser("models", help="upload and manage kraken models", parents=[common])
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = add_command(sub, "add", add, "validate a model with kraken and upload it", common, "file")
    p.add_argument("--name", help="default: the model's own name, else the file name")
    add_command(sub, "list", list_models, "models you own or that are shared with you", common)
    add_command(sub, "show", show, "everything kraken says about a model", common, "model")
    add_command(sub, "rename", rename, "rename a model you own", common, "model", "new_name")
    add_command(sub, "delete", delete, "delete a model you own", common, "model")
    p = add_command(sub, "share", share, "share a model you own with users", common, "model")
    p.add_argument("users", nargs="+")
    register_models_push(sub, common)


def add(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.models import add_model

    model = add_model(cli.store, args.file, name=args.name)
    if cli.json_output:
        cli.emit_json(model.to_record())
    else:
        cli.print(f"added {model.name!r}: {', '.join(model.kinds)}  [{model.id}]")
    return 0


def list_models(args: argparse.Namespace, cli: CliContext) -> int:
    return cli.show_list(
        cli.store.list_models(),
        ["NAME", "KIND", "ACCESS", "SIZE"],
        lambda m: [
            m.name,
            ", ".join(m.kinds),
            "owner" if m.owner == cli.store.user else f"shared by {m.owner}",
            f"{m.byte_size / 1e6:.1f} MB",
        ],
        "No models yet: esctui models add FILE",
    )


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
