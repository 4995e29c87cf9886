"""``flexai-vision describe --sidecar / --schema``: the options checked up front, and their notes.

Knows how ``--schema FILE``, ``--sidecar KIND``, ``--sidecar-name`` and ``--overwrite`` become
:class:`~langchain_flexai.describe.ImageDescriber` options, what is refused before any request
is sent (a schema file that cannot be read or is not an object schema; a folder named on the
command line where no sidecar can be written: one line, exit 2), and the closing notes (images
that got no sidecar because they are not local files, sidecars kept or left untouched). Writing
sidecars and asking for structured answers are :mod:`langchain_flexai.describe`'s.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_flexai._loader._walk import printable_path
from langchain_flexai._urls import classify_url
from langchain_flexai.cli._common import EXIT_USAGE, CliError, say
from langchain_flexai.describe._records import DescribeRecord
from langchain_flexai.describe._sidecars import unwritable_folder
from langchain_flexai.describe._structured import load_schema_file
from langchain_flexai.errors import DescribeSchemaError

__all__ = [
    "SidecarNotes",
    "check_sidecar_folders",
    "load_schema",
    "schema_properties",
    "structured_options",
]


def load_schema(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--schema`` file's JSON Schema, or None without the option.

    Raises:
        CliError: the file cannot be read or is not an object schema (exit 2).
    """
    if args.schema is None:
        return None
    try:
        return load_schema_file(args.schema)
    except DescribeSchemaError as error:
        raise CliError(str(error), EXIT_USAGE) from None


def schema_properties(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--schema`` file's top-level properties (one table column each), or None."""
    schema = getattr(args, "loaded_schema", None)
    return dict(schema["properties"]) if schema is not None else None


def structured_options(args: argparse.Namespace) -> dict[str, Any]:
    """The describer's ``schema`` / ``sidecar`` / ``sidecar_name`` / ``overwrite`` options."""
    return {
        "schema": getattr(args, "loaded_schema", None),
        "sidecar": args.sidecar,
        "sidecar_name": args.sidecar_name,
        "overwrite": args.overwrite,
    }


def check_sidecar_folders(args: argparse.Namespace) -> None:
    """Refuse, before any request, a folder named on the command line that takes no sidecar.

    A folder given is checked itself, a file given its folder; subfolders found while walking
    are not known yet: a sidecar that cannot be written there is a failed record.

    Raises:
        CliError: a sidecar cannot be written in one of them (exit 2).
    """
    if args.sidecar is None:
        return
    folders: dict[str, None] = {}
    for item in args.inputs:
        if classify_url(item) != "path":
            continue
        path = Path(item)
        folders.setdefault(str(path if path.is_dir() else path.parent), None)
    problem = unwritable_folder(folders)
    if problem is not None:
        raise CliError(problem, EXIT_USAGE)


@dataclass
class SidecarNotes:
    """What the closing lines say about sidecars: counts of the ones not written, and why."""

    counts: dict[str, int] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)

    def add(self, record: DescribeRecord) -> None:
        """Count one record's sidecar outcome."""
        status = record.sidecar_status
        if status is None:
            return
        self.counts[status] = self.counts.get(status, 0) + 1
        if status == "damaged" and record.sidecar is not None:
            self.damaged.append(record.sidecar)

    def say(self) -> None:
        """Print the notes (nothing when every sidecar was written)."""
        for path in self.damaged:
            say(
                f"left {printable_path(path)} untouched: it is not an XMP packet that can be merged"
            )
        if self.counts.get("kept"):
            say(f"{self.counts['kept']} sidecars existed and were kept (--overwrite replaces them)")
        if self.counts.get("not_a_file"):
            say(
                f"{self.counts['not_a_file']} images are not local files (URLs): they get no "
                "sidecar"
            )
