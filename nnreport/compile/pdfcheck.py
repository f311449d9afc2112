"""A finished PDF must not act: no JavaScript, no launch of programs, no embedded or linked
files, no actions on opening a page or the document. pdfTeX's `\\pdfcatalog`, `\\pdfannot`
and `\\pdfobj` can add any of these, so the compile stage refuses such a PDF whatever produced
it (the spec stage's whitelist already keeps those primitives out of documents)."""

from __future__ import annotations

import io
from typing import Any

FORBIDDEN_KEYS = {"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles",
                  "/OpenAction", "/AA", "/RichMedia", "/XFA", "/AcroForm"}
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/URI", "/GoToR", "/GoToE", "/ImportData",
                     "/SubmitForm", "/ResetForm", "/Rendition", "/Sound", "/Movie"}


def active_content(pdf: bytes) -> list[str]:
    """What in `pdf` could act (keys and action types found), empty when nothing can. Every
    object reachable from the trailer is visited, compressed object streams included."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reader = PdfReader(io.BytesIO(pdf), strict=False)
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                if key in FORBIDDEN_KEYS:
                    found.append(key)
                if key == "/S" and str(value) in FORBIDDEN_ACTIONS:
                    found.append(f"/S {value}")
                if key not in ("/Parent", "/P"):  # back-references: already on the way
                    stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return sorted(set(found))
