"""The ``flexai-vision`` command: describe images and list models (``python -m langchain_flexai``).

Knows the command line (argparse), where the connection comes from (``FLEXAI_API_KEY`` /
``FLEXAI_API_BASE``, or the bundled emulator with ``--emulator``) and how every failure becomes one
line on stderr and an exit code:

====  =====================================================================
code  meaning
====  =====================================================================
0     everything worked
1     some images could not be used or described (the others were)
2     usage error (bad option, missing argument, a text-only model)
3     authentication, credit or API error (no key, 401, 402, 429 after retries, unreachable)
====  =====================================================================

The work itself lives in ``_cli_describe`` (single image, bulk run) and ``_cli_models`` (catalog
table). No traceback is shown for a user error; an unexpected bug still shows one.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from langchain_flexai._env import DEFAULT_BASE_URL, api_key_from_env, base_url_from_env
from langchain_flexai._version import __version__
from langchain_flexai.cli._common import (
    EXIT_API,
    EXIT_USAGE,
    PROG,
    CliError,
    Connection,
    say,
)

__all__ = ["build_parser", "main"]

_EXIT_INTERRUPTED = 130
NO_KEY_MESSAGE = (
    "no API key: set FLEXAI_API_KEY (export FLEXAI_API_KEY=<your key>) "
    "or add --emulator to run offline against the bundled emulator"
)
EMULATOR_EXTRA_MESSAGE = (
    '--emulator needs the testing extra: pip install "langchain-flexai[testing]"'
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


_PAGES = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


def _page_spec(text: str) -> str:
    spec = text.replace(" ", "")
    if not _PAGES.fullmatch(spec) or any(int(n) < 1 for n in re.findall(r"\d+", spec)):
        raise argparse.ArgumentTypeError(
            f"expected pages such as 1-3,7 (1-based, ranges with -), got {text!r}"
        )
    return spec


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against the bundled FlexAI emulator, in-process and offline (no key needed)",
    )


def _add_sidecar_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema",
        metavar="SCHEMA.json",
        default=None,
        help="answer each image as an object that fits this JSON Schema (records hold it in "
        "'data'; tables get one column per top-level property)",
    )
    parser.add_argument(
        "--sidecar",
        choices=("txt", "json", "xmp"),
        default=None,
        help="write a file beside each local image: the caption (.txt), the record (.json) or "
        "an XMP packet with dc:description (.xmp, merged into an existing one)",
    )
    parser.add_argument(
        "--sidecar-name",
        choices=("stem", "full"),
        default=None,
        help="sidecar names: stem (photo.txt, the default for txt) or full (photo.jpg.xmp, "
        "the default for json and xmp)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing sidecars (and an existing .xmp caption); else they are kept",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``flexai-vision`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Describe images with FlexAI's vision models, and list the models.",
        epilog="Environment: FLEXAI_API_KEY (required unless --emulator), FLEXAI_API_BASE "
        f"(default {DEFAULT_BASE_URL}). Exit codes: 0 ok, 1 some images failed, 2 usage "
        "error, 3 authentication/credit/API error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    describe = commands.add_parser(
        "describe",
        help="describe one image (streamed) or many (a resumable bulk run)",
        description="One image: the answer is streamed to the terminal. Several images or a "
        "folder: a bulk run with bounded concurrency and a rate limit, one result per image.",
    )
    describe.add_argument(
        "inputs",
        nargs="+",
        metavar="PATH_OR_URL",
        help="image or PDF files, folders or https URLs (a PDF gives one record per page)",
    )
    describe.add_argument(
        # None stands for the default prompt, filled in by `_run` (it lives with LangChain's
        # imports, which `--help` must not pay for).
        "--prompt",
        default=None,
        help="the question sent with each image",
    )
    describe.add_argument(
        "--model", default=None, help="model id (default phi-4-multimodal-instruct)"
    )
    describe.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stream a single image's answer as it is written (the default for one image)",
    )
    describe.add_argument(
        "--json",
        action="store_true",
        help="print JSON lines (one record per image) instead of text",
    )
    describe.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="write the records to FILE, in the format its extension names: .jsonl, .csv, "
        ".parquet (extra parquet) or .md (a table for reviewing alt text)",
    )
    describe.add_argument(
        "--fetch",
        action="store_true",
        help="fetch https images here (public addresses only, size-capped) and send them "
        "downscaled, instead of passing the URL to FlexAI",
    )
    describe.add_argument(
        "--concurrency", type=_positive_int, default=4, metavar="N", help="requests in flight (4)"
    )
    describe.add_argument(
        "--rpm", type=_positive_int, default=None, metavar="N", help="at most N requests per minute"
    )
    describe.add_argument(
        "--pages",
        type=_page_spec,
        default=None,
        metavar="1-3,7",
        help="only these pages of each PDF (default: every page)",
    )
    describe.add_argument(
        "--resume",
        action="store_true",
        help="keep answers in FILE.cache.sqlite (needs --out); a re-run pays only for "
        "images not yet described",
    )
    describe.add_argument("--seed", type=int, default=None, metavar="N", help="sampling seed")
    describe.add_argument(
        "--temperature", type=_temperature, default=None, metavar="T", help="sampling temperature"
    )
    describe.add_argument(
        "--max-tokens",
        type=_positive_int,
        default=None,
        metavar="N",
        help="at most N tokens per answer (reasoning models need a generous budget)",
    )
    _add_sidecar_options(describe)
    _add_connection_options(describe)
    describe.set_defaults(subparser=describe)

    models = commands.add_parser(
        "models", help="list FlexAI's models", description="FlexAI's model catalog as a table."
    )
    models.add_argument("--vision", action="store_true", help="only models that read images")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_connection_options(models)
    models.set_defaults(subparser=models)
    return parser


def __getattr__(name: str) -> str:
    # `DEFAULT_PROMPT` was importable from here; it lives with LangChain's imports, which
    # `--help` must not pay for, so it is looked up on first use.
    if name == "DEFAULT_PROMPT":
        from langchain_flexai.describe._run import DEFAULT_PROMPT  # noqa: PLC0415

        return DEFAULT_PROMPT
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


STREAM_RULE = (
    "--stream needs exactly one image (a file or an https URL) written to the terminal, "
    "without --out or --json; folders, PDFs and several images are a bulk run"
)


def _names_a_pdf(item: str) -> bool:
    # Imported here: the loader's modules load LangChain, which --help does not need.
    from langchain_flexai._loader._pdf import names_a_pdf  # noqa: PLC0415

    return names_a_pdf(item)


def _check_describe_args(args: argparse.Namespace) -> None:
    parser: argparse.ArgumentParser = args.subparser
    if args.resume and args.out is None:
        parser.error("--resume needs --out FILE (the resume cache is kept next to it)")
    if args.stream and (
        len(args.inputs) != 1
        or args.out is not None
        or args.json
        or os.path.isdir(args.inputs[0])  # noqa: PTH112 - a str from the command line
        or _names_a_pdf(args.inputs[0])
    ):
        # One rule for every case: a folder is many images, even when it holds one; a PDF is
        # one record per page, even when it has one.
        parser.error(STREAM_RULE)
    if args.stream and (args.sidecar or args.schema):
        parser.error("--stream answers in text: --sidecar and --schema are for a bulk run")
    if (args.sidecar_name or args.overwrite) and not args.sidecar:
        parser.error("--sidecar-name and --overwrite need --sidecar txt|json|xmp")


@contextmanager
def _connection(args: argparse.Namespace, *, key_required: bool) -> Iterator[Connection]:
    """Where requests go: the emulator (started here, stopped after) or FlexAI from the env."""
    if args.emulator:
        try:
            from langchain_flexai.testing import FlexAIEmulator  # noqa: PLC0415 - optional extra
        except ImportError:
            raise CliError(EMULATOR_EXTRA_MESSAGE, EXIT_USAGE) from None
        with FlexAIEmulator() as emulator:
            yield Connection(emulator.base_url, emulator.api_key, emulated=True)
        return
    key = api_key_from_env()
    if key is None and key_required:
        raise CliError(NO_KEY_MESSAGE, EXIT_API)
    base_url = base_url_from_env()
    yield Connection(base_url, key, emulated=False)


def _run(args: argparse.Namespace) -> int:
    # Imported here: `--help` and usage errors should not pay for LangChain's and the openai
    # SDK's import time (tests/unit_tests/cli checks that `--help` imports neither).
    import openai  # noqa: PLC0415

    from langchain_flexai.cli._common import api_error  # noqa: PLC0415
    from langchain_flexai.errors import (  # noqa: PLC0415
        DescribeCacheError,
        FlexAICatalogError,
        FlexAIStreamInterruptedError,
    )

    if args.command == "describe":
        _check_describe_args(args)
        from langchain_flexai.cli._describe import run_describe  # noqa: PLC0415
        from langchain_flexai.describe._run import DEFAULT_PROMPT  # noqa: PLC0415

        if args.prompt is None:
            args.prompt = DEFAULT_PROMPT
        run, key_required = run_describe, True
    else:
        from langchain_flexai.cli._models import run_models  # noqa: PLC0415

        # The public catalog needs no key; /v1/models adds details when one is set.
        run, key_required = run_models, False
    with _connection(args, key_required=key_required) as connection:
        try:
            return run(args, connection)
        except openai.OpenAIError as error:
            raise api_error(error, connection.base_url) from None
        except FlexAICatalogError as error:
            raise CliError(f"cannot read the model catalog: {error}", EXIT_API) from None
        except DescribeCacheError as error:
            raise CliError(str(error), EXIT_USAGE) from None
        except FlexAIStreamInterruptedError as error:
            # A streamed single answer cut mid-way (bulk runs retry it): truncated, say so.
            raise CliError(str(error), EXIT_API) from None


class _SayHandler(logging.Handler):
    """Warnings from the library (a 429 pausing the run) as ``flexai-vision: …`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(record.getMessage())
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


@contextmanager
def _library_warnings_on_stderr() -> Iterator[None]:
    # Without a handler, logging's last-resort handler would print the bare message.
    handler = _SayHandler(logging.WARNING)
    library = logging.getLogger("langchain_flexai")
    library.addHandler(handler)
    try:
        yield
    finally:
        library.removeHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``flexai-vision`` with ``argv`` (default: the process's arguments).

    Returns:
        The exit code (see the module docstring).
    """
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(words)
    if unknown:
        # `describe --bogus` is a describe mistake: show describe's usage, not the top-level one
        # (which argparse would); `--bogus describe` stays a top-level mistake.
        before_command = words.index(unknown[0]) < words.index(args.command)
        owner = parser if before_command else args.subparser
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        with _library_warnings_on_stderr():
            return _run(args)
    except CliError as error:
        say(error.message)
        return error.code
    except KeyboardInterrupt:
        say("interrupted")
        return _EXIT_INTERRUPTED
