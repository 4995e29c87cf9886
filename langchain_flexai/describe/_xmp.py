"""XMP sidecar packets: a caption as ``dc:description`` (and tags as ``dc:subject``), merged.

Knows the few XMP shapes a caption needs (Dublin Core ``dc:description`` as an ``rdf:Alt`` of
``rdf:li xml:lang="x-default"``, ``dc:subject`` as an ``rdf:Bag``), how to build a new packet
(``<x:xmpmeta>`` / ``<rdf:RDF>`` / ``<rdf:Description rdf:about="">``, the form exiv2, darktable
and digiKam write), and how to merge those two properties into an existing packet with the
standard library's ``xml.etree`` while every other element, attribute and namespace of it stays
(darktable's history, Lightroom's ``crs:`` settings, ratings, ...). Knows nothing about file
names or where sidecars go (``_sidecars`` decides and writes).

Merge rules: an existing ``dc:description`` is kept unless ``overwrite`` (a caption a person
wrote is not replaced silently); without one, ours is added to the first ``rdf:Description``.
``dc:subject`` follows the same rule. Namespace prefixes are kept as the file spelled them
(ElementTree would rename them ``ns0``, ``ns1`` ...): they are read from the file and given
to the serialiser.

A packet that cannot be read (not XML, not XMP, a DTD or entity declaration, which XMP never has
and which could make a parser expand a few bytes into gigabytes, or larger than
:data:`MAX_XMP_BYTES`) raises :class:`XmpDamagedError`; the caller leaves the file untouched.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

__all__ = ["MAX_XMP_BYTES", "XmpDamagedError", "caption_xmp", "merge_xmp", "read_caption"]

MAX_XMP_BYTES = 4 * 1024 * 1024
"""The largest existing sidecar read for a merge (darktable's run to tens of kilobytes)."""

X = "adobe:ns:meta/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
XML = "http://www.w3.org/XML/1998/namespace"
_STANDARD_PREFIXES = {X: "x", RDF: "rdf", DC: "dc"}
_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
# Prefixes ElementTree reserves for itself: a file spelling one is given a fresh one.
_RESERVED_PREFIX = re.compile(r"ns\d+$")


class XmpDamagedError(ValueError):
    """An existing sidecar is not an XMP packet this module can merge into (left untouched)."""


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _alt(parent: ET.Element, text: str) -> None:
    alt = ET.SubElement(parent, _q(RDF, "Alt"))
    item = ET.SubElement(alt, _q(RDF, "li"), {_q(XML, "lang"): "x-default"})
    item.text = text


def _bag(parent: ET.Element, items: list[str]) -> None:
    bag = ET.SubElement(parent, _q(RDF, "Bag"))
    for tag in items:
        ET.SubElement(bag, _q(RDF, "li")).text = tag


def _serialise(root: ET.Element, prefixes: dict[str, str]) -> bytes:
    """``root`` as UTF-8 XMP text, each namespace under the prefix the file used for it."""
    names = {**_STANDARD_PREFIXES, **prefixes}
    # ElementTree has no per-call prefix map; its module-wide one is the documented way.
    # Registering a URI's prefix changes only how that URI is spelt, never what it means.
    for uri, prefix in names.items():
        if uri == XML or not prefix or _RESERVED_PREFIX.match(prefix):
            continue
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:  # a prefix ElementTree refuses: it picks one itself
            continue
    return (_HEADER + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def caption_xmp(description: str, subjects: list[str] | None = None) -> bytes:
    """A new XMP packet holding ``description`` (and ``subjects``, when there are any)."""
    root = ET.Element(_q(X, "xmpmeta"))
    rdf = ET.SubElement(root, _q(RDF, "RDF"))
    node = ET.SubElement(rdf, _q(RDF, "Description"), {_q(RDF, "about"): ""})
    _alt(ET.SubElement(node, _q(DC, "description")), description)
    if subjects:
        _bag(ET.SubElement(node, _q(DC, "subject")), subjects)
    ET.indent(root, space=" ")
    return _serialise(root, {})


def _parse(packet: bytes) -> tuple[ET.Element, dict[str, str]]:
    """The packet's root element and the prefix it used for each namespace URI."""
    if len(packet) > MAX_XMP_BYTES:
        raise XmpDamagedError(f"it is larger than {MAX_XMP_BYTES} bytes")
    if _DECLARATIONS.search(packet):
        raise XmpDamagedError("it declares a DTD or entities, which XMP never does")
    prefixes: dict[str, str] = {}
    try:
        # Two passes over a small file: the first only reads which prefix each namespace had,
        # the second builds the tree keeping comments and processing instructions.
        # S314: expat (2.4+) bounds entity expansion, and declarations were refused above.
        for _, (prefix, uri) in ET.iterparse(io.BytesIO(packet), ("start-ns",)):  # noqa: S314
            prefixes.setdefault(uri, prefix)
        tree = ET.TreeBuilder(insert_comments=True, insert_pis=True)
        builder = ET.XMLParser(target=tree)  # noqa: S314 - as above
        builder.feed(packet)
        root: ET.Element = builder.close()
    except ET.ParseError as error:
        raise XmpDamagedError(f"it is not well-formed XML ({error})") from None
    return root, prefixes


def _rdf_of(root: ET.Element) -> ET.Element:
    if root.tag == _q(RDF, "RDF"):
        return root
    if root.tag == _q(X, "xmpmeta") or root.tag == "{adobe:ns:meta/}xapmeta":
        rdf = root.find(_q(RDF, "RDF"))
        if rdf is not None:
            return rdf
    raise XmpDamagedError(f"its root element is {root.tag}, not x:xmpmeta or rdf:RDF")


def merge_xmp(
    packet: bytes, description: str, subjects: list[str] | None = None, *, overwrite: bool = False
) -> bytes | None:
    """``packet`` with ``description`` (and ``subjects``) merged in, or None to keep it as it is.

    None: the packet already has a ``dc:description`` and ``overwrite`` is false (and so nothing
    of ours would be added but tags, which follow the caption).

    Raises:
        XmpDamagedError: ``packet`` cannot be read as XMP.
    """
    root, prefixes = _parse(packet)
    rdf = _rdf_of(root)
    nodes = rdf.findall(_q(RDF, "Description"))
    if not nodes:
        nodes = [ET.SubElement(rdf, _q(RDF, "Description"), {_q(RDF, "about"): ""})]
    has_description = any(_has(node, "description") for node in nodes)
    if has_description and not overwrite:
        return None
    for node in nodes:
        _remove(node, "description")
        if subjects and overwrite:
            _remove(node, "subject")
    target = nodes[0]
    _alt(ET.SubElement(target, _q(DC, "description")), description)
    if subjects and not any(_has(node, "subject") for node in nodes):
        _bag(ET.SubElement(target, _q(DC, "subject")), subjects)
    return _serialise(root, prefixes)


def _has(node: ET.Element, name: str) -> bool:
    return node.find(_q(DC, name)) is not None or _q(DC, name) in node.attrib


def _remove(node: ET.Element, name: str) -> None:
    node.attrib.pop(_q(DC, name), None)
    for child in node.findall(_q(DC, name)):
        node.remove(child)


def read_caption(packet: bytes) -> tuple[str | None, list[str]]:
    """The ``x-default`` ``dc:description`` and the ``dc:subject`` items of a packet.

    For tests and tools that read sidecars back.

    Raises:
        XmpDamagedError: ``packet`` cannot be read as XMP.
    """
    root, _ = _parse(packet)
    rdf = _rdf_of(root)
    caption: str | None = None
    tags: list[str] = []
    for node in rdf.findall(_q(RDF, "Description")):
        for item in node.iterfind(f"{_q(DC, 'description')}/{_q(RDF, 'Alt')}/{_q(RDF, 'li')}"):
            if item.get(_q(XML, "lang")) == "x-default" and caption is None:
                caption = item.text or ""
        tags.extend(
            item.text or ""
            for item in node.iterfind(f"{_q(DC, 'subject')}/{_q(RDF, 'Bag')}/{_q(RDF, 'li')}")
        )
    return caption, tags
