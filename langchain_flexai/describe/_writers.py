"""Describe records to files: one writer per output format, chosen by the file's extension.

Knows the formats a describe run writes (``.jsonl``, ``.csv``, ``.parquet``, ``.md``), how a
record becomes a line, a row or a table row, and how an output file is replaced atomically: every
writer writes a temporary file beside the target and moves it into place on :meth:`close`, so a
reader never sees half a file, a failed run never leaves a truncated one, and a run stopped
half-way (Ctrl+C, an error that stops the run) still leaves every record written so far. Knows
nothing about describing: records come from :class:`~langchain_flexai.describe.ImageDescriber`
(or anywhere else), in the order they are written.

The columns of the tabular formats (CSV, Parquet) and how values are flattened are
``_tabular``'s. Why a temporary file and not the target opened for writing: with ``--resume`` the
target is the previous run's output; opening it truncates it, and a run that then fails early
would leave less than it found. The cache is the source of truth for answers; the output file is
a view of it, rewritten whole in input order by every run.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol, runtime_checkable

from typing_extensions import Self

from langchain_flexai.describe._records import DescribeRecord
from langchain_flexai.describe._tabular import (
    STABLE_COLUMNS,
    Table,
    csv_row,
    parquet_module,
    parquet_schema,
    parquet_table,
)
from langchain_flexai.errors import DescribeOutputError

FORMATS = (".jsonl", ".csv", ".parquet", ".md")
"""The output extensions :func:`open_writer` knows (case-insensitive)."""

MARKDOWN_COLUMNS = ("source", "description")
"""The default columns of a Markdown table (headed ``image`` and ``description``)."""

_MARKDOWN_HEADERS = {"source": "image"}
_PARQUET_BATCH = 1024
"""Rows buffered before a Parquet row group is written (bounds memory on long runs)."""


@runtime_checkable
class RecordWriter(Protocol):
    """Writes describe records to one file; the file appears complete on :meth:`close`."""

    path: Path
    """The file written."""

    def write(self, record: DescribeRecord) -> None:
        """Add ``record`` (in the order records should appear)."""

    def close(self) -> None:
        """Finish the file and move it into place (idempotent)."""

    def discard(self) -> None:
        """Drop what was written and leave the target as it was (idempotent)."""

    def __enter__(self) -> Self:
        """Use as a context manager that closes (and so keeps) the file on exit."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close: the records written so far are kept, also when the block raised."""


def _error(path: Path, what: str) -> DescribeOutputError:
    return DescribeOutputError(path, f"cannot write {path}: {what}")


def _umask() -> int:
    # The only portable way to read the umask is to set it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _why(path: Path, exc: OSError) -> str:
    """What is wrong with the folder of ``path``, in words (a file in the way, permissions)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file, not a folder"
            break
    return str(exc.strerror or exc)


class _AtomicFile:
    """A temporary file beside ``path``, moved onto it by :meth:`commit`."""

    def __init__(self, path: Path, *, binary: bool) -> None:
        self.path = path
        if path.is_dir():
            raise _error(path, "it is a directory; give a file name, such as captions.jsonl")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        except OSError as exc:
            raise _error(path, f"{_why(path, exc)}; give a path in a writable folder") from None
        self.temp = Path(temp)
        self.stream: IO[Any]
        if binary:
            self.stream = os.fdopen(fd, "wb")
        else:
            # backslashreplace: whatever text slips through unescaped, a record is never lost
            # to a UnicodeEncodeError half-way through a run.
            self.stream = os.fdopen(
                fd, "w", encoding="utf-8", errors="backslashreplace", newline=""
            )
        self.done = False

    def commit(self) -> None:
        """Close the temporary file and replace the target with it (the target's mode kept)."""
        if self.done:
            return
        self.done = True
        try:
            self.stream.close()
            try:
                mode = self.path.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()  # what open() would have made; mkstemp makes 0600
            self.temp.chmod(mode)
            self.temp.replace(self.path)
        except OSError as exc:
            self.temp.unlink(missing_ok=True)
            raise _error(self.path, str(exc.strerror or exc)) from None

    def discard(self) -> None:
        """Drop the temporary file, leaving the target as it was."""
        if self.done:
            return
        self.done = True
        self.stream.close()
        self.temp.unlink(missing_ok=True)


class _Writer:
    """What every writer shares: the atomic file and the context manager."""

    def __init__(self, path: Path, *, binary: bool = False) -> None:
        self.path = path
        self._file = _AtomicFile(path, binary=binary)

    def write(self, record: DescribeRecord) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Write what the format needs at the end (before the file is moved into place)."""

    def close(self) -> None:
        if self._file.done:
            return
        try:
            self._finish()
        except BaseException:
            self._file.discard()
            raise
        self._file.commit()

    def discard(self) -> None:
        self._file.discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class JsonlWriter(_Writer):
    """One JSON object per line: :meth:`DescribeRecord.to_json_dict`, UTF-8."""

    def write(self, record: DescribeRecord) -> None:
        """Add one line (flushed: a reader of the temporary file sees whole lines)."""
        self._file.stream.write(json.dumps(record.to_json_dict(), ensure_ascii=False) + "\n")
        self._file.stream.flush()


class CsvWriter(_Writer):
    r"""A header row, then one row per record (RFC 4180 quoting, UTF-8, ``\r\n`` rows)."""

    def __init__(self, path: Path, table: Table) -> None:
        super().__init__(path)
        self._table = table
        self._csv = csv.writer(self._file.stream)
        self._csv.writerow(table.names)

    def write(self, record: DescribeRecord) -> None:
        """Add one row."""
        self._csv.writerow(csv_row(self._table, record))
        self._file.stream.flush()


class ParquetWriter(_Writer):
    """A Parquet file with typed columns (pyarrow, extra ``parquet``), written in row groups."""

    def __init__(self, path: Path, table: Table) -> None:
        pq = parquet_module()  # before the file: a missing extra leaves nothing behind
        super().__init__(path, binary=True)
        self._table = table
        self._schema = parquet_schema(table)
        self._writer = pq.ParquetWriter(self._file.stream, self._schema)
        self._rows: list[DescribeRecord] = []

    def write(self, record: DescribeRecord) -> None:
        """Add one row (written with the next row group)."""
        self._rows.append(record)
        if len(self._rows) >= _PARQUET_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(parquet_table(self._table, self._schema, self._rows))
            self._rows = []

    def _finish(self) -> None:
        self._flush()
        self._writer.close()


class MarkdownWriter(_Writer):
    """A Markdown table (``image | description`` by default) for reviewing alt text."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        super().__init__(path)
        self._columns = tuple(columns)
        headers = [_MARKDOWN_HEADERS.get(name, name) for name in self._columns]
        self._line(headers)
        self._line(["---"] * len(headers))

    def _line(self, cells: Iterable[str]) -> None:
        self._file.stream.write("| " + " | ".join(cells) + " |\n")
        self._file.stream.flush()

    def write(self, record: DescribeRecord) -> None:
        """Add one table row; a record without a description shows its status and error."""
        shown = record.to_json_dict()
        self._line(markdown_cell(_markdown_value(shown, name)) for name in self._columns)


def _markdown_value(shown: Mapping[str, Any], name: str) -> str:
    if name == "source" and shown.get("page") is not None:
        # The image cell names the page: a PDF's pages share their file (their source).
        return f"{shown['source']}, page {shown['page']}"
    if name == "description" and shown["description"] is None:
        if shown.get("data") is not None:
            return json.dumps(shown["data"], ensure_ascii=False)
        return f"({shown['status']}: {shown['error']})"
    if name in ("input_tokens", "output_tokens", "total_tokens"):
        value = (shown["usage"] or {}).get(name)
    else:
        value = shown.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def markdown_cell(text: str) -> str:
    r"""``text`` as one table cell: ``|`` escaped, line breaks as ``<br>``, trimmed.

    A backslash is doubled first, so an answer ending in ``\`` cannot escape the next pipe.
    """
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    return "<br>".join(line.strip() for line in lines) or " "


def open_writer(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    properties: Mapping[str, Any] | Iterable[str] = (),
) -> RecordWriter:
    """A writer for ``path``, its format chosen by the extension (see :data:`FORMATS`).

    The file is created beside the target at once (so an unwritable location fails here,
    before any request is paid for) and replaces the target on ``close``.

    Args:
        path: The output file: ``.jsonl``, ``.csv``, ``.parquet`` or ``.md``.
        columns: The stable columns to write, in order (CSV, Parquet, Markdown); default all
            of :data:`~langchain_flexai.describe._tabular.STABLE_COLUMNS` (Markdown: ``source``
            and ``description``). JSON lines always hold the whole record.
        properties: The top-level properties of a structured-output schema (a JSON Schema's
            ``properties`` mapping, whose ``type`` types the Parquet columns, or just names):
            one column each after the stable ones, filled from ``record.data``.

    Raises:
        DescribeOutputError: The extension names no known format, the path is a folder, or the
            file cannot be created there.
        ImportError: ``.parquet`` without pyarrow (the message names the extra).
        ValueError: A column that is not a stable column.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise DescribeOutputError(
            target,
            f"cannot write {target}: unknown output format {target.suffix or '(no extension)'!r};"
            f" give a file ending in {known}",
        )
    if columns is not None:
        unknown = [name for name in columns if name not in STABLE_COLUMNS]
        if unknown:
            raise ValueError(
                f"unknown column(s) {', '.join(map(repr, unknown))}; the columns are "
                f"{', '.join(STABLE_COLUMNS)}"
            )
    if suffix == ".jsonl":
        return JsonlWriter(target)
    if suffix == ".md":
        return MarkdownWriter(target, columns if columns is not None else MARKDOWN_COLUMNS)
    table = Table.of(columns if columns is not None else tuple(STABLE_COLUMNS), properties)
    if suffix == ".csv":
        return CsvWriter(target, table)
    return ParquetWriter(target, table)
