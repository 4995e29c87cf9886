"""Sidecar files beside each described image: ``.txt`` captions, ``.json`` records, ``.xmp``.

Knows where a sidecar goes (the name rules below), what each kind holds, how to write one
without ever leaving half a file (a temporary file in the same folder, then ``os.replace``), when
an existing one is kept, and how a sidecar that cannot be written becomes a failed record
instead of an exception. Never opens the image file itself: a sidecar path equal to the image's
path is refused. Knows nothing about requests or the cache (``_run`` hands each finished record
over, in input order); the XMP packet itself is ``_xmp``'s.

Name rules (``name=``):

- ``"stem"``: ``photo.jpg`` → ``photo.txt``, what kohya-ss/sd-scripts, OneTrainer, ai-toolkit
  and most caption-training tools read (they look for the image's stem with the caption
  extension). The default for ``txt``. Two images with one stem (``photo.jpg`` and
  ``photo.png``) would share a sidecar: the first in input order gets it, the second is a failed
  record that says so (a trainer would pair both images with one caption).
- ``"full"``: ``photo.jpg`` → ``photo.jpg.xmp``, what darktable and digiKam read and write for
  any image (Lightroom writes ``photo.xmp``, and only for raw files: ``name="stem"`` for it),
  and the ``photo.jpg.json`` of gallery tools. The default for ``xmp`` and ``json``; no two
  images share a sidecar.

What each kind holds: ``txt`` the caption on one line (the training tools read the first line
only, so line breaks become spaces), UTF-8, a final newline; ``json`` the whole record
(``to_json_dict()``, sidecar fields included), UTF-8, indented; ``xmp`` an XMP packet with
``dc:description`` (and ``dc:subject`` from a structured answer's ``tags`` / ``keywords`` list),
merged into an existing sidecar (see ``_xmp``).

Existing sidecars are kept (``sidecar_status="kept"``) unless ``overwrite``; an existing ``.xmp``
without a ``dc:description`` is merged into, never replaced; a damaged one is left untouched, with
a warning logged and ``sidecar_status="damaged"``. An image that is not a local file (an https
URL, bytes) gets no sidecar (``sidecar_status="not_a_file"``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from langchain_flexai._loader._walk import printable_path
from langchain_flexai._urls import classify_url
from langchain_flexai.describe._records import DescribeRecord, LoadedImage
from langchain_flexai.describe._xmp import MAX_XMP_BYTES, XmpDamagedError, caption_xmp, merge_xmp

__all__ = [
    "SIDECAR_KINDS",
    "SidecarKind",
    "SidecarName",
    "SidecarWriter",
    "sidecar_path",
    "unwritable_folder",
]

logger = logging.getLogger(__name__)

SidecarKind = Literal["txt", "json", "xmp"]
SidecarName = Literal["stem", "full"]
SIDECAR_KINDS: tuple[str, ...] = get_args(SidecarKind)
DEFAULT_NAMES: dict[str, SidecarName] = {"txt": "stem", "json": "full", "xmp": "full"}
_TAG_KEYS = ("tags", "keywords", "subject")
_CAPTION_KEYS = ("description", "caption", "alt_text")


def sidecar_path(
    image: str | os.PathLike[str], kind: str, name: SidecarName, page: int | None = None
) -> Path:
    """Where the ``kind`` sidecar of ``image`` goes under the ``name`` rule.

    A page of a PDF gets a sidecar of its own, the page number before the kind
    (``report.page-2.txt``, ``report.pdf.page-2.json``): one file per page, so no page's answer
    replaces another's.
    """
    path = Path(image)
    kind = f"page-{page}.{kind}" if page is not None else kind
    if name == "stem":
        return path.with_name(f"{path.stem}.{kind}")
    return path.with_name(f"{path.name}.{kind}")


def unwritable_folder(folders: Iterable[str | os.PathLike[str]]) -> str | None:
    """A line naming the first folder no sidecar can be written in, or None when all can.

    Checked by creating (and removing) a temporary file: permission bits alone do not say (a
    read-only mount, an immutable folder, an administrator's process).
    """
    for folder in folders:
        try:
            handle, name = tempfile.mkstemp(prefix=".flexai-sidecar-", dir=folder)
        except OSError as error:
            return (
                f"cannot write sidecars in {printable_path(os.fspath(folder))}: "
                f"{error.strerror or error}"
            )
        os.close(handle)
        with contextlib.suppress(OSError):
            Path(name).unlink()
    return None


def _local_file(record: DescribeRecord) -> str | None:
    """The image's path when it is a local file read for this run, else None."""
    given = record.input
    source = record.source
    if source is None:
        return None
    if isinstance(given, LoadedImage):
        return source
    if classify_url(source) != "path" or (record.image is not None and record.image.sha256 is None):
        return None  # an https URL (never fetched) or a data URL
    return source if Path(source).is_file() else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _caption(record: DescribeRecord) -> str:
    data = record.data
    if data is not None:
        for key in _CAPTION_KEYS:
            value = data.get(key)
            if isinstance(value, str):
                return value
    return record.description or ""


def _tags(record: DescribeRecord) -> list[str] | None:
    data = record.data
    if data is None:
        return None
    for key in _TAG_KEYS:
        value = data.get(key)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return None


def _write_atomically(path: Path, payload: bytes) -> None:
    """``payload`` at ``path``: whole or not at all (a temporary file, then a rename)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


@dataclass
class SidecarWriter:
    """Writes the sidecar of each finished record (in input order) and notes it in the record."""

    kind: SidecarKind
    name: SidecarName | None = None
    """The name rule; None: the kind's default (``stem`` for txt, ``full`` for json and xmp)."""
    overwrite: bool = False
    _claimed: dict[Path, str] = field(default_factory=dict, repr=False)
    """Sidecar paths given out in this run, and the image each belongs to."""

    def __post_init__(self) -> None:
        """Check the kind and the name rule.

        Raises:
            ValueError: an unknown kind or name rule.
        """
        if self.kind not in SIDECAR_KINDS:
            raise ValueError(
                f"sidecar must be one of {', '.join(SIDECAR_KINDS)}, got {self.kind!r}"
            )
        if self.name is not None and self.name not in ("stem", "full"):
            raise ValueError(f"sidecar_name must be 'stem' or 'full', got {self.name!r}")

    @property
    def rule(self) -> SidecarName:
        """The name rule in force."""
        return self.name or DEFAULT_NAMES[self.kind]

    def apply(self, record: DescribeRecord) -> DescribeRecord:
        """``record`` with its sidecar written (or kept), or a failed record saying why not.

        Records without an answer (skipped, failed) get no sidecar.
        """
        if record.error is not None:
            return record
        image = _local_file(record)
        if image is None:
            return replace(record, sidecar_status="not_a_file")
        path = sidecar_path(image, self.kind, self.rule, record.page)
        shown = printable_path(str(path))
        problem = self._claim(path, image)
        if problem is None:
            try:
                return self._write(record, path)
            except OSError as error:
                problem = f"cannot write the sidecar {shown}: {error.strerror or error}"
        return replace(
            record,
            sidecar=str(path),
            sidecar_status="failed",
            error=problem,
            reason="sidecar_failed",
        )

    def _claim(self, path: Path, image: str) -> str | None:
        if path == Path(image) or (path.exists() and path.samefile(image)):
            shown = printable_path(str(path))
            return f"the sidecar {shown} would be the image itself; use the 'full' name rule"
        owner = self._claimed.setdefault(path, image)
        if owner != image:
            return (
                f"the sidecar {printable_path(str(path))} already belongs to "
                f"{printable_path(owner)} in this run (same name, another suffix); rename one "
                "image, or use the 'full' name rule (photo.jpg.txt)"
            )
        return None

    def _write(self, record: DescribeRecord, path: Path) -> DescribeRecord:
        done = replace(record, sidecar=str(path), sidecar_status="written")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            # Never written through a link, nor into a folder or a FIFO standing in its place.
            raise OSError(0, "it exists and is not a regular file")
        if path.exists():
            if self.kind == "xmp":
                return self._merge(done, path)
            if not self.overwrite:
                return replace(done, sidecar_status="kept")
        _write_atomically(path, self._payload(done))
        return done

    def _payload(self, record: DescribeRecord) -> bytes:
        if self.kind == "txt":
            return (_one_line(_caption(record)) + "\n").encode("utf-8")
        if self.kind == "json":
            body: dict[str, Any] = record.to_json_dict()
            return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        return caption_xmp(_caption(record), _tags(record))

    def _merge(self, record: DescribeRecord, path: Path) -> DescribeRecord:
        try:
            with path.open("rb") as stream:
                packet = stream.read(MAX_XMP_BYTES + 1)  # more than that is refused as damaged
            merged = merge_xmp(packet, _caption(record), _tags(record), overwrite=self.overwrite)
        except XmpDamagedError as damage:
            logger.warning(
                "left the existing sidecar %s untouched: %s", printable_path(str(path)), damage
            )
            return replace(record, sidecar_status="damaged")
        if merged is None:
            return replace(record, sidecar_status="kept")
        _write_atomically(path, merged)
        return replace(record, sidecar_status="merged")
