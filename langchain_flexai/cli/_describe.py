"""``flexai-vision describe``: one image streamed to the terminal, or a bulk run over many.

Knows how the command's options map onto ``ChatFlexAI`` (one image) and onto one
``ImageDescriber`` fed by every input in command-line order (files and folders prepared by the
loader's pipeline, https URLs in their place between them), how results are written (text, JSON
lines, a ``--out`` file in the format its extension names), the closing usage line (tokens, and
cost when the catalog lists prices), and that a model the catalog lists as text-only or an
``--out`` that cannot be written is refused before anything is sent. A PDF is always a bulk
run: one record per page (``--pages`` chooses them), each naming its page.
Scheduling, retries, rate limiting, resume and progress are :mod:`langchain_flexai.describe`'s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, TextIO

from langchain_core.messages import BaseMessage, BaseMessageChunk

from langchain_flexai._loader._documents import vision_message
from langchain_flexai._loader._pdf import counts_as_pdf, names_a_pdf, page_total
from langchain_flexai._loader._pipeline import iter_prepared, walk
from langchain_flexai._loader._remote import fetch_expanded
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
from langchain_flexai.cli._describe_sidecars import (
    SidecarNotes,
    check_sidecar_folders,
    load_schema,
    schema_properties,
    structured_options,
)
from langchain_flexai.cli._models import catalog_for, find_prices
from langchain_flexai.describe._cache import DescribeCache
from langchain_flexai.describe._key import prompt_key
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
from langchain_flexai.describe._writers import RecordWriter, open_writer
from langchain_flexai.document_loaders import FlexAIImageLoader
from langchain_flexai.errors import DescribeOutputError, ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image
from langchain_flexai.images._fetch import redact_url
from langchain_flexai.images._fetch_policy import FetchPolicy
from langchain_flexai.images._policy import DEFAULT_POLICY
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
    # Only the settings given reach the request (and the resume key): an unset one is the
    # server's default, not a value the command chose.
    settings = {
        name: value
        for name in ("seed", "temperature", "max_tokens")
        if (value := getattr(args, name, None)) is not None
    }
    return ChatFlexAI(
        model=model, api_key=connection.api_key, base_url=connection.base_url, **settings
    )


def _public(connection: Connection) -> Connection:
    # An empty key (not None, which means "FLEXAI_API_KEY") keeps the catalog off /v1/models,
    # whose keyed requests count against the key's rate limit.
    return Connection(connection.base_url, "", emulated=connection.emulated)


def _refuse_text_only(connection: Connection, model: str) -> None:
    """Stop before paying for answers that ignored the images (a model that cannot see them).

    Reads the public catalog only (no key): a keyed ``/v1`` request here would count against
    the key's rate limit before the first image is sent.

    Raises:
        CliError: The catalog (or, without a record, the static table) lists ``model`` as not
            reading images (exit 2).
    """
    public = _public(connection)
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
    if len(args.inputs) != 1 or args.out is not None or args.sidecar or args.schema:
        return False  # sidecars and structured answers are the bulk run's
    only: str = args.inputs[0]
    # A PDF is one record per page, even when it has a single page.
    return not (names_a_pdf(only) or (not _is_url(only) and Path(only).is_dir()))


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


def _prepare(source: str, *, fetch: bool = False) -> PreparedImage:
    # A command-line argument is the user's own input: prepare_image is the trusted door. Local
    # names go in as Paths so that a missing file reads "cannot read", not "invalid base64".
    # --fetch: an https URL is fetched here under the default FetchPolicy (public addresses
    # only, capped, redirects re-checked) and sent as a prepared data URL.
    _refuse_scheme(source)
    if _is_url(source):
        return prepare_image(source, fetch=fetch)
    return prepare_image(Path(source))


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
        image = _prepare(source, fetch=args.fetch)
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
            metadata = reply.response_metadata if reply is not None else {}
            info = find_prices(connection, model.model_name)
            record = DescribeRecord(
                source=image.source or source,
                sha256=image.sha256,
                description=text or None,
                usage=usage,
                model=model.model_name,
                prompt_sha256=prompt_key(args.prompt),
                response_id=metadata.get("id"),
                finish_reason=metadata.get("finish_reason"),
                width=image.width,
                height=image.height,
                mime_type=image.mime_type,
                transformations=image.transformations,
                cost_usd=(
                    usage_cost(usage.as_usage_metadata(), info)
                    if info is not None and usage is not None
                    else None
                ),
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


def _prepared_or_error(source: str, *, fetch: bool) -> DescribeInput:
    try:
        return _prepare(source, fetch=fetch)
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


def _path_inputs(path: str, pages: str | None) -> Iterator[DescribeInput]:
    """A file's or folder's images and PDF pages, as the loader would find and prepare them."""
    loader = FlexAIImageLoader(path, on_error="skip", pages=pages)
    try:
        with closing(
            iter_prepared(
                walk(loader.paths, loader.walk_filter),
                loader.policy,
                loader.workers,
                pages=loader.pages,
            )
        ) as prepared:
            # A prepared file (image and size) is a describe input as it is.
            yield from prepared
    except OSError as error:
        if error.filename != path:
            raise
        # The folder cannot be listed (or vanished since it was checked).
        raise _path_error(path, error) from None


def _url_inputs(url: str, args: argparse.Namespace) -> Iterator[DescribeInput]:
    """A URL's records: with --fetch the image, or the chosen pages of the PDF it serves."""
    try:
        _refuse_scheme(url)
    except ImageInputError as error:
        yield error
        return
    if args.fetch:
        # As prepare_image(url, fetch=True): the default image and fetch policies.
        yield from fetch_expanded(url, DEFAULT_POLICY, FetchPolicy(), args.pages)
    elif names_a_pdf(url):
        # FlexAI reads images, not PDFs: sent as an image URL it could only be refused.
        yield ImageInputError(
            "a PDF is not sent by its URL (FlexAI reads images); add --fetch to fetch it "
            "and send its pages",
            reason=ImageErrorReason.UNSUPPORTED_URL,
            source=redact_url(url),
        )
    else:
        yield _prepared_or_error(url, fetch=False)


def _inputs(args: argparse.Namespace, empty: list[str]) -> Iterator[DescribeInput]:
    """Every input in command-line order; folders with no image file are added to ``empty``."""
    for item in args.inputs:
        if _is_url(item):
            # An unusable URL becomes a "skipped" record in its place, as an unusable file does.
            yield from _url_inputs(item, args)
            continue
        count = 0
        for prepared in _path_inputs(item, args.pages):
            count += 1
            yield prepared
        if count == 0:
            empty.append(item)


def _count_inputs(inputs: list[str], pages: str | None = None) -> int | None:
    """How many records the run writes, for a total and an ETA: a listing; only PDFs are read.

    URLs count one each; files and folders as the loader's walk finds them (the same filter,
    so the count is the records' count), a PDF as its pages (those ``--pages`` chooses). None
    when a folder cannot be listed: no total then.
    """
    total = 0
    for item in inputs:
        if _is_url(item):
            total += 1
            continue
        loader = FlexAIImageLoader(item, on_error="skip", pages=pages)
        try:
            total += sum(
                page_total(path, loader.max_file_bytes, pages)
                if isinstance(path, str) and counts_as_pdf(path, loader.walk_filter.suffixes)
                else 1
                for path in walk(loader.paths, loader.walk_filter)
            )
        except OSError:
            return None
    return total


def _describer(
    args: argparse.Namespace, model: ChatFlexAI, connection: Connection
) -> ImageDescriber:
    info = find_prices(_public(connection), model.model_name)
    return ImageDescriber(
        model,
        args.prompt,
        **structured_options(args),
        max_concurrency=args.concurrency,
        rate_limiter=RequestRateLimiter.per_minute(args.rpm) if args.rpm else None,
        # https URLs are resumed by the SHA-256 of the URL text (their bytes are never fetched),
        # or with --fetch by the SHA-256 of the bytes fetched (a new presigned URL is no miss).
        cache_path=f"{args.out}{CACHE_SUFFIX}" if args.resume else None,
        show_progress=_progress_wanted(args),
        # --emulator: one endpoint in the resume key, whatever port it got this run.
        endpoint=EMULATOR_ENDPOINT if connection.emulated else None,
        price_per_mtok=(info.input_per_mtok, info.output_per_mtok) if info is not None else None,
    )


def _text_record(record: DescribeRecord) -> str:
    # The JSON form's texts: file names that are not UTF-8 come escaped (caf\xe9.jpg).
    shown = record.to_json_dict()
    lines = [_where(shown["source"] or "(unknown source)", record.page)]
    if shown["description"] is not None:
        lines.extend(f"  {line}" for line in shown["description"].splitlines())
    else:
        lines.append(f"  [{record.status}] {printable_path(_problem_detail(record))}")
    return "\n".join(lines) + "\n"


def _where(source: str, page: int | None) -> str:
    """The source as a user reads it: ``report.pdf, page 2`` for a PDF page."""
    return source if page is None else f"{source}, page {page}"


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


def _stdout_writer(args: argparse.Namespace) -> Callable[[DescribeRecord], None]:
    def write(record: DescribeRecord) -> None:
        if args.json:
            text = json.dumps(record.to_json_dict(), ensure_ascii=False) + "\n"
        else:
            text = _text_record(record)
        sys.stdout.write(_for_stream(text, sys.stdout))
        sys.stdout.flush()

    return write


def _open_out(
    path: str | None, properties: Mapping[str, Any] | Iterable[str] = ()
) -> RecordWriter | None:
    """The ``--out`` writer, opened before anything is sent: a bad ``--out`` costs nothing.

    ``properties``: a structured-output schema's top-level properties (one column each).

    Raises:
        CliError: An unknown extension, a folder, an unwritable location, or ``.parquet``
            without pyarrow (exit 2).
    """
    if path is None:
        return None
    try:
        return open_writer(path, properties=properties)
    except (DescribeOutputError, ImportError) as error:
        raise CliError(str(error), EXIT_USAGE) from None


def _close_out(out: RecordWriter) -> None:
    try:
        out.close()
    except DescribeOutputError as error:
        raise CliError(str(error), EXIT_USAGE) from None


def _describe_many(args: argparse.Namespace, connection: Connection) -> int:
    check_sidecar_folders(args)
    notes = SidecarNotes()
    out = _open_out(args.out, schema_properties(args) or ())
    started = False
    empty: list[str] = []
    try:
        model = _chat_model(args, connection)
        describer = _describer(args, model, connection)
        if describer.cache_path is not None:
            # Refuse an unusable cache before the run starts.
            DescribeCache(describer.cache_path).close()
        write = out.write if out is not None else _stdout_writer(args)
        records = describer.describe(
            _inputs(args, empty), total=_count_inputs(args.inputs, args.pages)
        )
        started = True
        for record in records:
            write(record)
            notes.add(record)
    except BaseException:
        if out is not None:
            # Stopped mid-run (Ctrl+C, a 402): the file keeps every record written so far.
            # Refused before the run: the previous output stays as it was.
            if not started:
                out.discard()
            else:
                try:
                    out.close()
                except DescribeOutputError as error:
                    say(str(error))  # the error that stopped the run is the one to report
        raise
    if out is not None:
        _close_out(out)
    report = describer.report
    for folder in empty:
        say(f"no image files under {folder}")
    notes.say()
    for problem in report.problems:
        source = _where(printable_path(problem.source or "(unknown source)"), problem.page)
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
            a single image cannot be used, ``--out`` names no known format or cannot be
            written, or the catalog lists the model as text-only.
        openai.OpenAIError: An error no image can avoid (bad key, no credit, unreachable or
            still rate-limited after every retry).
    """
    _check_paths(args.inputs)
    args.loaded_schema = load_schema(args)  # a bad schema file: one line, before any request
    if _single(args):
        return _describe_one(args, connection)
    return _describe_many(args, connection)
