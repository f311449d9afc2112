"""Per-student versions of one spec: draws decided by (seed, version, attempt), constraints
checked by rejection sampling; which versions a batch built (versions.json), and each
version's key solved once for marking a class (`Keys`).

A version is reproducible from the base seed and its number alone: version k tries the
draws (seed, k, 0), (seed, k, 1), ... and keeps the first whose problems meet every
constraint, or fails after `max_tries` with a count of what went wrong.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..budgets import DEFAULT, Budgets
from ..engine.solve import solve
from ..errors import ComputeError, Issue, SpecError, check_input_file
from ..spec import finish
from ..spec.cost import TRY_WORK
from ..spec.setups import Document, NetworkSetup
from ..spec.texsafe import text_flaws
from ..spec.variants import has_random
from ..spec.yamlio import Located, load_file
from .constraints import Fingerprint, failures, fingerprints, needs_history


@dataclass(frozen=True)
class Version:
    index: int          # decides the draws, with the base seed
    label: str          # printed on every page and used in file names: v07, or the roster id
    student: str = ""


def numbered(count: int) -> list[Version]:
    width = max(2, len(str(count)))
    return [Version(k, f"v{k + 1:0{width}d}") for k in range(count)]


MAX_LABEL = 40   # a roster id names a folder and files: short enough for any file system
MAX_ROSTER = 10_000


def from_roster(path: Path) -> list[Version]:
    """One version per row of a CSV with a `name` column (and optionally `id`)."""
    check_input_file(path, "roster", 5_000_000)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SpecError([Issue(str(path), None, None, f"cannot read the roster: {e}",
                               "a CSV file in UTF-8 with a header row, e.g. name,id")]) from None
    if len(rows) > MAX_ROSTER:
        raise SpecError([Issue(str(path), None, None,
                               f"the roster has {len(rows)} rows; at most {MAX_ROSTER}")])
    if not rows or "name" not in rows[0]:
        raise SpecError([Issue(str(path), 1, 1, "a roster needs a header row with a 'name' column",
                               "e.g. name,id")])
    out = []
    seen: set[str] = set()
    width = max(2, len(str(len(rows))))
    issues = []
    for k, row in enumerate(rows):
        raw = (row.get("id") or "").strip()
        name = (row.get("name") or "").strip()
        # the label names a folder and files and is printed on every page: ASCII letters,
        # digits, - and _, never a leading '-'
        label = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_"
                        for ch in raw).lstrip("-") or f"s{k + 1:0{width}d}"
        if len(label) > MAX_LABEL:
            issues.append(Issue(str(path), k + 2, 1, f"the id in this row is longer than "
                                f"{MAX_LABEL} characters", "ids name folders and files: "
                                "use short ids such as student numbers"))
        elif label in seen:
            issues.append(Issue(str(path), k + 2, 1, f"duplicate id '{raw}' in the roster"))
        for flaw in text_flaws(name)[:3]:  # the name is printed in every page header
            issues.append(Issue(str(path), k + 2, 1, f"name: {flaw.message}", flaw.hint))
        seen.add(label)
        out.append(Version(k, label, name))
    if issues:
        raise SpecError(issues[:50])
    return out


def _constraints_at(located: Located) -> tuple[Any, ...]:
    problems = located.data.get("problems", []) if isinstance(located.data, dict) else []
    return next((("problems", i, "constraints") for i, p in enumerate(problems)
                 if isinstance(p, dict) and p.get("constraints")), ("problems",))


def tries_fit(doc: Document, located: Located, budgets: Budgets = DEFAULT) -> int:
    """How many draws a version may need (max_tries when a random draw can be rejected: by a
    constraint or a diverging training; else 1); a located SpecError when that many would
    pass the variant_work budget."""
    rejectable = any(isinstance(p, NetworkSetup) or p.constraints for p in doc.problems)
    tries = doc.spec.max_tries if rejectable and has_random(located.data) else 1
    per_try = doc.work + TRY_WORK
    if tries > 1 and tries * per_try > budgets.variant_work:
        where = ("max_tries",) if "max_tries" in located.data else _constraints_at(located)
        raise SpecError([located.issue(where, f"up to {tries:,} draws of about {per_try:.3g} "
                                       f"multiply-adds each ({tries * per_try:.3g} in all)",
                                       "lower max_tries; " + budgets.hint("variant_work"))])
    return tries


def solve_version(path: Path, seed: int, version: Version, budgets: Budgets = DEFAULT,
                  earlier: list[dict[str, Fingerprint]] | None = None
                  ) -> tuple[Document, dict[str, Any], int]:
    """Draw, solve and check one version; returns (document, solutions, attempts used).
    The YAML is read once; each attempt draws, validates and resolves it again. With
    `distinct_versions`, `earlier` are the asked answers of versions 0..k-1 (worked out here
    when not given, so a version solved on its own is the version of the batch)."""
    located = load_file(path, budgets)
    doc = finish(located, (seed, version.index, 0), budgets)
    if earlier is None and needs_history(doc):
        earlier = history(located, seed, version.index, budgets)
    return _draw(located, doc, seed, version, budgets, earlier or [])


def history(located: Located, seed: int, upto: int,
            budgets: Budgets = DEFAULT) -> list[dict[str, Fingerprint]]:
    """The asked answers of versions 0..upto-1, each drawn given the ones before it."""
    out: list[dict[str, Fingerprint]] = []
    for k in range(upto):
        doc = finish(located, (seed, k, 0), budgets)
        doc, sols, _ = _draw(located, doc, seed, Version(k, f"v{k + 1}"), budgets, out)
        out.append(fingerprints(doc, sols))
    return out


def _draw(located: Located, doc: Document, seed: int, version: Version, budgets: Budgets,
          earlier: list[dict[str, Fingerprint]]) -> tuple[Document, dict[str, Any], int]:
    tries = tries_fit(doc, located, budgets)
    random = tries > 1  # without random values a second draw is the same draw
    reasons: Counter[str] = Counter()
    for attempt in range(tries):
        if attempt:
            doc = finish(located, (seed, version.index, attempt), budgets)
        try:
            solutions = solve(doc)
        except ComputeError:
            reasons["training diverged"] += 1
            continue
        failed = failures(doc, solutions, earlier)
        if not failed:
            return doc, solutions, attempt + 1
        reasons.update(failed)
        if not random:
            break
    where = _constraints_at(located)
    summary = ", ".join(f"{r} failed {n} times" for r, n in reasons.most_common())
    raise SpecError([located.issue(where, f"version {version.label}: no draw met the constraints "
                                   f"in {sum(reasons.values())} tries ({summary})",
                                   "widen the random ranges or relax the constraints")])


class Keys:
    """Each version's solved key, solved at most once: marking a class costs one solve per
    version marked (and, with distinct_versions, one per earlier version, each once), never
    one history per student."""

    def __init__(self, path: Path, seed: int = 0, budgets: Budgets = DEFAULT,
                 located: Located | None = None) -> None:
        self.path, self.seed, self.budgets = path, seed, budgets
        self.located = located or load_file(path, budgets)
        self.first = finish(self.located, None, budgets)
        tries_fit(self.first, self.located, budgets)  # before any version is solved
        self.history = needs_history(self.first)
        self._solved: dict[int, tuple[Document, dict[str, Any]]] = {}
        self._prints: list[dict[str, Fingerprint]] = []

    def _solve(self, version: Version) -> tuple[Document, dict[str, Any]]:
        if version.index not in self._solved:
            doc = finish(self.located, (self.seed, version.index, 0), self.budgets)
            doc, sols, _ = _draw(self.located, doc, self.seed, version, self.budgets,
                                 self._prints[:version.index])
            self._solved[version.index] = (doc, sols)
        return self._solved[version.index]

    def get(self, version: Version) -> tuple[Document, dict[str, Any]]:
        if self.history:  # the versions before it, in order, each solved once
            while len(self._prints) < version.index:
                k = len(self._prints)
                self._prints.append(fingerprints(*self._solve(Version(k, f"v{k + 1}"))))
        return self._solve(version)


VERSIONS_FILE = "versions.json"


def record_batch(folder: Path, seed: int, versions: list[Version]) -> None:
    """versions.json beside a batch: its seed and versions, so that `check` and `solve` know
    which versions exist (a submission for a version never built is an error)."""
    import json

    with (folder / VERSIONS_FILE).open("w", encoding="utf-8") as fh:
        json.dump({"seed": seed, "versions": [{"label": v.label, "index": v.index,
                                                "student": v.student} for v in versions]},
                  fh, indent=1)


def built_batch(folder: Path) -> tuple[int, list[Version]] | None:
    """(seed, versions) of the batch built into `folder` (output/<spec>/variants), if any."""
    import json

    f = folder / VERSIONS_FILE
    try:
        check_input_file(f, "batch record", 10_000_000)
        data = json.loads(f.read_text(encoding="utf-8"))
        return int(data["seed"]), [Version(int(v["index"]), str(v["label"]), str(v["student"]))
                                   for v in data["versions"]]
    except (SpecError, OSError, ValueError, KeyError, TypeError):
        return None


def version_named(text: str, versions: list[Version]) -> Version | None:
    """The version a submission or --variant names: its label (v07, a roster id) or its number
    (7, v7, 07), among the versions built."""
    t = text.strip()
    for v in versions:
        if v.label == t:
            return v
    m = re.fullmatch(r"[vV]?0*([1-9][0-9]{0,5})", t, flags=re.ASCII)
    if m:
        k = int(m.group(1)) - 1
        return next((v for v in versions if v.index == k and re.fullmatch(
            r"v\d+", v.label)), None)
    return None


def marking_versions(spec: Path, located: Located, seed: int | None, count: int | None,
                     roster: Path | None, batch_folder: Path
                     ) -> tuple[int, list[Version] | None]:
    """The seed and the versions submissions may name: the roster's (--roster), the first
    `count` (--variants), or those of the batch built into batch_folder (versions.json);
    None for a spec without random values, whose every version is the same exam (any name
    is marked against it). A seed that differs from the built batch's, or random values
    with no batch known, is a located error."""
    batch = built_batch(batch_folder)
    if batch is not None and seed is not None and seed != batch[0]:
        raise SpecError([Issue(str(batch_folder / VERSIONS_FILE), None, None,
                               f"the versions in {batch_folder} were built with --seed "
                               f"{batch[0]}, not {seed}", f"check with --seed {batch[0]}, as "
                               "the versions handed out")])
    seed = seed if seed is not None else batch[0] if batch is not None else 0
    if roster is not None:
        return seed, from_roster(roster)
    if count is not None:
        return seed, numbered(count)
    if batch is not None:
        return seed, batch[1]
    if not has_random(located.data):
        return seed, None
    raise SpecError([Issue(str(spec), None, None, "which versions were handed out? this spec "
                           f"has random values and no batch was found in {batch_folder}",
                           "give --variants N (as built) or --roster, or -o the folder the "
                           "batch was built into")])


def keys_for(spec: Path, output: Path, seed: int | None, count: int | None,
             roster: Path | None, budgets: Budgets = DEFAULT) -> tuple[Keys, list[Version] | None]:
    """The versions' keys (the spec loaded and its budgets checked first) and the versions
    that were handed out (marking_versions), the batch looked for in output/<spec>/variants."""
    from ..outdir import output_name

    keys = Keys(spec, budgets=budgets, located=load_file(spec, budgets))
    keys.seed, versions = marking_versions(spec, keys.located, seed, count, roster,
                                           output / output_name(spec) / "variants")
    return keys, versions


def pick(text: str, versions: list[Version] | None) -> Version:
    """The version --variant names (a ValueError says which exist); any text names the one
    version of a spec without random values."""
    if versions is None:
        return Version(0, "v01")
    found = version_named(text, versions)
    if found is None:
        shown = ", ".join(v.label for v in versions[:8]) + (" ..." if len(versions) > 8 else "")
        raise ValueError(f"no version '{text}' was built: give a version number or roster id "
                         f"of the batch ({shown})")
    return found

