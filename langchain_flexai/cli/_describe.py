"""``flexai-vision describe``: one image streamed to the terminal, or a bulk run over many.

Knows how the command's options map onto ``ChatFlexAI`` (one image) and onto one
``ImageDescriber`` fed by every input in command-line order (files and folders prepared by the
loader's pipeline, https URLs in their place between them), how results are written (text, JSON
lines, a ``--out`` file), the closing usage line (tokens, and cost when the catalog lists
prices), and that a model the catalog lists as text-only is refused before anything is sent.
Scheduling, retries, rate limiting, resume and progress are :mod:`langchain_flexai.describe`'s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TextIO

from langchain_core.messages import BaseMessage, BaseMessageChunk

from langchain_flexai._loader._documents import vision_message
from langchain_flexai._loader._pipeline import iter_prepared, walk
from langchain_flexai._loader._walk import check_root, printable_path
from langchain_flexai._urls import classify_url, url_scheme
from langchain_flexai.catalog._cost import usage_cost
from langchain_flexai.catalog.capabilities import command_line_refusal, refuses_images
from langchain_flexai.catalog.profiles import VISION_MODELS
from langchain_flexai.chat_models import DEFAULT_MODEL, ChatFlexAI
from langchain_flexai.cli._common import (
    EXIT_IMAGES_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Connection,
    say,
)
from langchain_flexai.cli._models import catalog_for, find_prices
from langchain_flexai.describe._cache import DescribeCache
from langchain_flexai.describe._run import (
    EMULATOR_ENDPOINT,
    DescribeInput,
    DescribeRecord,
    ImageDescriber,
    RequestRateLimiter,
    TokenUsage,
    answer_text,
    no_text_message,
)
from langchain_flexai.document_loaders import FlexAIImageLoader
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image
from langchain_flexai.images._prepared import PreparedImage

CACHE_SUFFIX = ".cache.sqlite"
"""The resume cache of ``--out FILE`` is ``FILE`` + this suffix."""


def _is_url(text: str) -> bool:
    # Any scheme counts (prepare_image then refuses all but https and data); a file whose name
    # looks like one ("a:b.png") is named "./a:b.png".
    return classify_url(text) != "path"


def _chat_model(args: argparse.Namespace, connection: Connection) -> ChatFlexAI:
    model = args.model or DEFAULT_MODEL
    _refuse_text_only(connection, model)
    return ChatFlexAI(model=model, api_key=connection.api_key, base_url=connection.base_url)


def _refuse_text_only(connection: Connection, model: str) -> None:
    """Stop before paying for answers that ignored the images (a model that cannot see them).

    Reads the public catalog only (no key): a keyed ``/v1`` request here would count against
    the key's rate limit before the first image is sent.

    Raises:
        CliError: The catalog (or, without a record, the static table) lists ``model`` as not
            reading images (exit 2).
    """
    # An empty key (not None, which means "FLEXAI_API_KEY") keeps the catalog off /v1/models.
    public = Connection(connection.base_url, "", emulated=connection.emulated)
    info = find_prices(public, model)
    # The library's rule: the catalog record, else the static table; unknown is sent.
    if not refuses_images(model, info):
        return
    try:
        vision = [m.id for m in catalog_for(public).list_models("vision")]
    except Exception:  # noqa: BLE001 - the list is a hint; the refusal stands without it
        vision = list(VISION_MODELS)
    raise CliError(command_line_refusal(model, vision), EXIT_USAGE)


def _single(args: argparse.Namespace) -> bool:
    if len(args.inputs) != 1 or args.out is not None:
        return False
    only: str = args.inputs[0]
    return _is_url(only) or not Path(only).is_dir()


def _refuse_scheme(source: str) -> None:
    """Refuse a URL FlexAI cannot be given, in a shell user's words.

    ``prepare_image`` words its refusal for Python callers (pass a ``pathlib.Path``); on a
    command line, the advice is the address or the file to type instead.

    Raises:
        ImageInputError: ``UNSUPPORTED_URL`` for any scheme but https and data.
    """
    if classify_url(source) != "other_scheme":
        return
    scheme = (url_scheme(source) or "").lower()
    if scheme == "http":
        why = (
            "FlexAI needs https:// image URLs, http:// is not accepted; give the https:// "
            "address, or download the image and give the file"
        )
    elif scheme == "file":
        why = "give the file's path (photos/cat.jpg), not a file:// URL"
    else:
        why = f"{scheme}: URLs are not accepted; give an https:// URL or a local file"
    raise ImageInputError(why, reason=ImageErrorReason.UNSUPPORTED_URL, source=source)


def _prepare(source: str) -> PreparedImage:
    # A command-line argument is the user's own input: prepare_image is the trusted door. Local
    # names go in as Paths so that a missing file reads "cannot read", not "invalid base64".
    _refuse_scheme(source)
    return prepare_image(source if _is_url(source) else Path(source))


# -- the closing line ------------------------------------------------------------------------


def usage_line(
    usage: TokenUsage, connection: Connection, model: str, *, saved: TokenUsage | None = None
) -> str:
    """``<in> prompt + <out> completion tokens[; cost $x (model)]`` for the closing line."""
    line = f"{usage.input_tokens} prompt + {usage.output_tokens} completion tokens"
    info = find_prices(connection, model)
    # Prompt-cache reads at the catalog's cached-input price, when it lists one.
    cost = usage_cost(usage.as_usage_metadata(), info) if info is not None else None
    if info is not None and cost is not None:
        line += f"; cost ${cost:.6f} ({info.id})"
    if saved is not None and saved.total_tokens:
        line += f"; {saved.total_tokens} tokens saved by the resume cache"
    return line


# -- one image -------------------------------------------------------------------------------


def _stream_answer(model: ChatFlexAI, messages: list[BaseMessage]) -> BaseMessage | None:
    final: BaseMessageChunk | None = None
    try:
        for chunk in model.stream(messages):
            sys.stdout.write(_for_stream(chunk.text, sys.stdout))
            sys.stdout.flush()
            final = chunk if final is None else final + chunk
    except BaseException:
        if final is not None:  # a stream cut mid-answer: end the truncated text's line
            sys.stdout.write("\n")
            sys.stdout.flush()
        raise
    sys.stdout.write("\n")
    return final


def _describe_one(args: argparse.Namespace, connection: Connection) -> int:
    source: str = args.inputs[0]
    try:
        image = _prepare(source)
    except ImageInputError as error:
        # The error's own source is shortened for logs; a user needs the whole name they typed.
        raise CliError(f"{printable_path(source)}: {error.detail}", EXIT_IMAGES_FAILED) from None
    model = _chat_model(args, connection)
    messages: list[BaseMessage] = [vision_message(args.prompt, image.to_content_block())]
    stream = args.stream if args.stream is not None else not args.json
    reply = _stream_answer(model, messages) if stream else model.invoke(messages)
    text = answer_text(reply) if reply is not None else ""
    usage = TokenUsage.from_message(reply) if reply is not None else None
    if not stream:
        if args.json:
            record = DescribeRecord(
                source=image.source or source,
                sha256=image.sha256,
                description=text or None,
                usage=usage,
            )
            line = json.dumps(record.to_json_dict(), ensure_ascii=False) + "\n"
            sys.stdout.write(_for_stream(line, sys.stdout))
        else:
            sys.stdout.write(_for_stream(text + "\n", sys.stdout))
    if not text:
        say(no_text_message(reply))
        return EXIT_IMAGES_FAILED
    say(usage_line(usage or TokenUsage(), connection, model.model_name))
    return EXIT_OK


# -- many images -----------------------------------------------------------------------------


def _progress_wanted(args: argparse.Namespace) -> bool:
    if importlib.util.find_spec("tqdm") is None or not sys.stderr.isatty():
        return False
    # Text records printed to the same terminal already show progress, and would be torn by a
    # bar redrawing under them.
    return args.out is not None or args.json or not sys.stdout.isatty()


def _prepared_or_error(source: str) -> DescribeInput:
    try:
        return _prepare(source)
    except ImageInputError as error:
        return error


def _path_error(path: str, error: OSError) -> CliError:
    """The line for a path on the command line that does not exist or cannot be read (exit 2)."""
    if isinstance(error, FileNotFoundError):
        return CliError(f"{printable_path(path)}: no such file or directory", EXIT_USAGE)
    detail = (error.__cause__ if isinstance(error.__cause__, OSError) else error).strerror
    return CliError(f"{printable_path(path)}: cannot read it: {detail or error}", EXIT_USAGE)


def _check_paths(inputs: list[str]) -> None:
    """Refuse a missing path before anything is sent or written (a typo is not a bad image)."""
    for item in inputs:
        if _is_url(item):
            continue
        try:
            if stat.S_ISDIR(check_root(item).st_mode):
                with os.scandir(item):  # listable: the walk will not fail at its first step
                    pass
        except OSError as error:
            raise _path_error(item, error) from None


def _path_inputs(path: str) -> Iterator[DescribeInput]:
    """A file's or folder's images, as the loader would find and prepare them."""
    loader = FlexAIImageLoader(path, on_error="skip")
    try:
        with closing(
            iter_prepared(walk(loader.paths, loader.walk_filter), loader.policy, loader.workers)
        ) as prepared:
            # A prepared file (image and size) is a describe input as it is.
            yield from prepared
    except OSError as error:
        if error.filename != path:
            raise
        # The folder cannot be listed (or vanished since it was checked).
        raise _path_error(path, error) from None


def _inputs(args: argparse.Namespace, empty: list[str]) -> Iterator[DescribeInput]:
    """Every input in command-line order; folders with no image file are added to ``empty``."""
    for item in args.inputs:
        if _is_url(item):
            # An unusable URL becomes a "skipped" record in its place, as an unusable file does.
            yield _prepared_or_error(item)
            continue
        count = 0
        for prepared in _path_inputs(item):
            count += 1
            yield prepared
        if count == 0:
            empty.append(item)


def _describer(
    args: argparse.Namespace, model: ChatFlexAI, connection: Connection
) -> ImageDescriber:
    return ImageDescriber(
        model,
        args.prompt,
        max_concurrency=args.concurrency,
        rate_limiter=RequestRateLimiter.per_minute(args.rpm) if args.rpm else None,
        # https URLs are resumed by the SHA-256 of the URL text (their bytes are never fetched).
        cache_path=f"{args.out}{CACHE_SUFFIX}" if args.resume else None,
        show_progress=_progress_wanted(args),
        # --emulator: one endpoint in the resume key, whatever port it got this run.
        endpoint=EMULATOR_ENDPOINT if connection.emulated else None,
    )


def _text_record(record: DescribeRecord) -> str:
    # The JSON form's texts: file names that are not UTF-8 come escaped (caf\xe9.jpg).
    shown = record.to_json_dict()
    lines = [shown["source"] or "(unknown source)"]
    if shown["description"] is not None:
        lines.extend(f"  {line}" for line in shown["description"].splitlines())
    else:
        lines.append(f"  [{record.status}] {printable_path(_problem_detail(record))}")
    return "\n".join(lines) + "\n"


def _problem_detail(record: DescribeRecord) -> str:
    if isinstance(record.exception, ImageInputError):
        return record.exception.detail
    return record.error or record.status


def _for_stream(text: str, stream: TextIO) -> str:
    """``text`` as ``stream`` can encode it (a terminal in another encoding gets escapes)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding, "replace")
    return text


@contextmanager
def _writer(args: argparse.Namespace) -> Iterator[Callable[[DescribeRecord], None]]:
    if args.out is None:
        stream: TextIO = sys.stdout
        as_json = bool(args.json)
    else:
        try:
            # backslashreplace: whatever text slips through unescaped, a record is never lost
            # to a UnicodeEncodeError half-way through a run.
            stream = Path(args.out).open(  # noqa: SIM115
                "w", encoding="utf-8", errors="backslashreplace", newline="\n"
            )
        except OSError as error:
            raise CliError(f"cannot write {args.out}: {error.strerror}", EXIT_USAGE) from None
        as_json = True

    def write(record: DescribeRecord) -> None:
        if as_json:
            text = json.dumps(record.to_json_dict(), ensure_ascii=False) + "\n"
        else:
            text = _text_record(record)
        stream.write(_for_stream(text, stream))
        # Flushed per record: a run killed half-way leaves every finished record on disk.
        stream.flush()

    try:
        yield write
    finally:
        if stream is not sys.stdout:
            stream.close()


def _describe_many(args: argparse.Namespace, connection: Connection) -> int:
    model = _chat_model(args, connection)
    describer = _describer(args, model, connection)
    if describer.cache_path is not None:
        # Refuse an unusable cache before --out is opened (and truncated): its records stay.
        DescribeCache(describer.cache_path).close()
    empty: list[str] = []
    with _writer(args) as write:
        for record in describer.describe(_inputs(args, empty)):
            write(record)
    report = describer.report
    for folder in empty:
        say(f"no image files under {folder}")
    for problem in report.problems:
        source = printable_path(problem.source or "(unknown source)")
        say(f"{problem.status} {source}: {printable_path(_problem_detail(problem))}")
    say(
        f"{report.described} described, {report.cached} from cache, {report.skipped} skipped, "
        f"{report.failed} failed; "
        + usage_line(report.usage, connection, model.model_name, saved=report.usage_saved)
    )
    return EXIT_IMAGES_FAILED if report.skipped or report.failed or empty else EXIT_OK


def run_describe(args: argparse.Namespace, connection: Connection) -> int:
    """Describe the images ``args`` names; returns the exit code.

    Raises:
        CliError: A path does not exist or cannot be listed (exit 2, before anything is sent),
            a single image cannot be used, ``--out`` cannot be written, or the catalog lists
            the model as text-only.
        openai.OpenAIError: An error no image can avoid (bad key, no credit, unreachable or
            still rate-limited after every retry).
    """
    _check_paths(args.inputs)
    if _single(args):
        return _describe_one(args, connection)
    return _describe_many(args, connection)
