"""Read a built key's .tex as a user does and check it against answers.json (issue 21):

- `lines(tex)`: each problem's worked lines (lhs, right-hand sides), its rounded-chain rows
  and its given values, read with tests/texarith.py and tests/texnumbers.py;
- `name_of(lhs, problem)`: the canonical JSON name (and entry) a line's left-hand side
  stands for, from the spec alone (docs/spec.md's notation; display names from `names:`);
- `check_key(tex, spec, answers)`: every line that prints a number has a name, every printed
  result is its JSON value correctly rounded (tests/test_number_properties.check), every
  given value is the spec's number, every rounded-chain row is the JSON chain value rounded,
  and every substituted side that tests/texarith.py can evaluate gives the JSON value, to
  within how far the rounding of its printed numbers can move it (`redo`);
  and `delimiter_problems(tex)`: rows whose braces, \\left/\\right or environments do not
  pair up."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from test_number_properties import check as check_sig
from test_number_properties import half_up
from texarith import Unsupported, _drop_command, reach, split_top
from texnumbers import parse_matrix

EXPR_LHS = {"y": "y", "z1": "z_{1}", "out": r"\mathrm{out}", "h_2": "h_{2}",
            "nll": r"\mathrm{nll}", "mean_ce": r"\mathrm{mean}_{ce}", "yhat": r"\hat{y}",
            "t": "t", "a": "a", "v": "v", "w": "w", "M": "M", "K": "K", "F": "F"}
DERIV = {"sigmoid": r"\sigma'", "tanh": r"\tanh'", "relu": r"\operatorname{ReLU}'",
         "leaky_relu": r"\operatorname{LReLU}'_{\alpha}"}


def problems_of(tex: str) -> dict[str, str]:
    """Each problem's part of the document, by id."""
    parts = re.split(r"^% nnreport problem: (\S+)$", tex, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def network_names(p: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """lhs -> (name, index) for every line a network problem's key may print; index is a
    sample (per-sample values) or None."""
    layers = p["network"]["layers"]
    L = len(layers)
    shown = p.get("names", {})
    course = p.get("symbols", {})  # the course's letters: {Z: net} (plain letters here)

    def sym(family: str, l: int, default: str) -> str:
        if family not in course:
            return default
        base, _, sub = course[family].partition("_")  # s_j: s_{j,1}, docs/spec.md's names
        b = base if len(base) == 1 else rf"\mathrm{{{base}}}"
        return f"{b}_{{{sub},{l}}}" if sub else f"{b}_{{{l}}}"

    def d(key: str) -> str:
        if key.startswith("theta"):  # bias: threshold
            return shown.get(key, sym("theta", int(key[5:]), rf"\theta_{{{key[5:]}}}"))
        return shown.get(key, sym(key[0], int(key[1:]), f"{key[0]}_{{{key[1:]}}}"))

    t: dict[str, tuple[str, Any]] = {r"\hat{Y}": ("yhat", None), "L": ("loss", None),
                                     "R": ("loss_l2", None), r"\mathbf{L}": ("loss_per_sample", None),
                                     r"L^{\text{batch}}": ("loss_batch", None),
                                     r"d\hat{Y}": ("dyhat", None),
                                     r"\hat{Y}^{\text{final}}": ("yhat_final", None),
                                     r"\text{accuracy}": ("accuracy_final", None),
                                     r"L^{\text{final}}": ("loss_final", None)}
    for i in range(1, 7):
        t[f"L_{{{i}}}"] = ("loss_per_sample", i - 1)
    soft = [l for l in range(1, L + 1) if layers[l - 1]["activation"] == "softmax"]
    if soft:
        t["E"], t[r"\mathbf{s}"] = ("E", soft), ("Esum", soft)  # in layer order
    for l in range(1, L + 1):
        t[sym("Z", l, f"Z_{{{l}}}")] = (f"Z{l}", None)
        if l < L:
            t[sym("H", l, f"H_{{{l}}}")] = (f"H{l}", None)
        t[sym("dZ", l, f"dZ_{{{l}}}")] = (f"dZ{l}", None)
        t[sym("delta", l, rf"\delta_{{{l}}}")] = (f"delta{l}", None)  # delta: error
        t[sym("dH", l, f"dH_{{{l}}}")] = (f"dH{l}", None)
        act = layers[l - 1]["activation"]
        if act in DERIV:
            t[rf"{DERIV[act]}\left({sym('Z', l, f'Z_{{{l}}}')}\right)"] = (f"dact{l}", None)
        for key in (f"W{l}", f"b{l}", f"theta{l}"):
            n = d(key)
            for i in range(1, 7):
                t[rf"\frac{{\partial L_{{{i}}}}}{{\partial {n}}}"] = (f"d{key}_per_sample", i - 1)
            g = f"d{n}" if key in shown else sym("d" + key.rstrip("0123456789"), l, f"d{n}")
            t[g] = (f"d{key}", None)
            t[rf"{g}^{{\text{{batch}}}}"] = (f"d{key}_batch", None)
            for state in ("v", "s", "m"):
                t[rf"{state}_{{{n}}}"] = (f"{key}_{state}", None)
            t[rf"\hat m_{{{n}}}"], t[rf"\hat v_{{{n}}}"] = (f"{key}_mhat", None), (f"{key}_vhat", None)
            t[rf"\Delta_{{{n}}}"] = (f"{key}_step", None)
            t[rf"{n}^{{\text{{new}}}}"] = (f"{key}_new", None)
            t[rf"{n}^{{\text{{final}}}}"] = (f"{key}_final", None)
    return t


def expression_names(p: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    shown = {**EXPR_LHS, **p.get("names", {})}
    return {shown[next(iter(s))]: (next(iter(s)), None) for s in p["compute"]}


def steps_of(part: str) -> list[tuple[str, list[str], list[str], bool]]:
    """(lhs, sides, rounded-chain rows, whether it shows points) of every step of a
    problem's align* blocks."""
    out = []
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", part, re.S):
        for step in re.split(r"\\\\\*?\[0\.8ex\]", body):  # \\*[0.8ex]: a kept line
            graded = bool(re.search(r"\\tag\*\{[^$]*\$[^$]*\[[\d.]+\\,\\text\{pts?\}\]", step))
            step = _drop_command(_drop_command(step, r"\shortintertext"), r"\tag*")
            rows = [r.strip() for r in step.split(r"\\*")]
            chain = [r.split(r"\text{rounded chain: }")[1].strip().removeprefix("{")
                     .removesuffix("}") for r in rows if "rounded chain" in r]
            rows = [r for r in rows if "rounded chain" not in r]
            lhs, _, line = rows[0].partition("&=")
            for r in rows[1:]:
                line += (" = " + r[2:]) if r.startswith("&=") else " " + re.sub(
                    r"^&\\q?quad", "", r)
            line = re.sub(r"\\left\.|\\right\.", " ", line)
            out.append((lhs.strip(), split_top(line) if line.strip() else [], chain, graded))
    return out


def given_of(part: str) -> dict[str, str]:
    """The given values printed under 'Given': display name -> LaTeX of the value."""
    m = re.search(r"\\subsection\*\{Given\}(?:(?!\\subsection).)*?\\begin\{gather\*\}(.*?)"
                  r"\\end\{gather\*\}", part, re.S)
    if not m:
        return {}
    out = {}
    for cell in re.split(r"\\qquad|\\\\\[0\.8ex\]", m.group(1)):
        name, _, value = cell.strip().partition(" = ")
        out[name.strip()] = value.strip()
    return out


def check(x: float, shown: Any, digits: Any) -> None:
    """test_number_properties.check for significant digits; for `digits: {decimals: n}`
    the value rounded half up to n decimal places (more printed places are fine, fewer
    only when the value is exact)."""
    if not isinstance(digits, dict):
        return check_sig(x, shown, digits)
    from decimal import Decimal
    t, n = Decimal(repr(float(x))), int(digits["decimals"])
    if not np.isfinite(x) or shown.value in (t, half_up(t, -n)):
        return None
    ok = [last for last in range(shown.last, shown.last_max + 1)
          if last <= -n and half_up(t, last) == shown.value]
    assert ok, f"{x!r} at {n} decimals printed {shown.text}: want {half_up(t, -n)}"
    return None


def half_unit(x: float, d: Any) -> float:
    """Half a unit in the last digit a value is printed with."""
    if isinstance(d, dict):
        return 0.5 * 10.0 ** -int(d["decimals"]) if x else 0.0
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(x))) - d + 1) if x else 0.0


def compare(printed: str, want: Any, digits: int, what: str) -> int:
    """Every entry of a printed value against the JSON value; the shapes must agree (a 1-D
    value may be a row or a column). Returns the entries compared."""
    m = parse_matrix(printed)
    a = np.asarray([np.nan if x is None else x for x in np.ravel(np.asarray(want, dtype=object))],
                   dtype=float).reshape(np.shape(want))
    a2 = a.reshape(1, 1) if a.ndim == 0 else a.reshape(1, -1) if a.ndim == 1 else a
    if a.ndim == 1 and m.shape == (a.size, 1):
        a2 = a.reshape(-1, 1)
    assert m.shape == a2.shape, f"{what}: printed {m.shape}, JSON {a2.shape}: {printed[:100]}"
    for (i, j), shown in m.cells.items():
        if np.isnan(a2[i, j]) and not shown.value.is_finite():
            continue  # JSON null: a NaN or an infinity, printed as such
        try:
            check(float(a2[i, j]), shown, digits)
        except AssertionError as e:
            raise AssertionError(f"{what}[{i}][{j}]: {e}") from None
    return len(m.cells)


def env(p: dict[str, Any], name: str) -> dict[str, float]:
    """The symbols a network's substituted line may keep: epsilon, its layer's alpha."""
    if "network" not in p:
        return {}
    layers = p["network"]["layers"]
    loss = p["loss"] if isinstance(p["loss"], dict) else {}
    m = re.fullmatch(r"[A-Za-z]+?(\d+)(?:_.*)?", name)
    l = int(m.group(1)) if m else len(layers)
    return {"eps": loss.get("eps") or 0.0, "alpha": layers[min(l, len(layers)) - 1].get("alpha", 0.01)}


def redo(side: str, want: Any, d: int, digits: int, symbols: dict[str, float], what: str) -> int:
    """A substituted side evaluated from the numbers it prints must give the value, to within
    how far moving each possibly rounded number by half a unit in its last digit can move it
    (texarith.reach, with a fifth more for second-order terms), half a unit of the value at
    its own digits and float noise. A side texarith cannot read (symbols, text, an elided
    matrix) is skipped; returns 1 when the side was redone."""
    try:
        v0, bound = reach(side, symbols, digits)
    except (Unsupported, KeyError):
        return 0
    except ValueError as e:  # the printed values do not fit together (a lost transpose)
        raise AssertionError(f"{what}: {side[:160]} does not compute: {e}") from None
    w = np.asarray([np.nan if x is None else x for x in np.ravel(np.asarray(want, dtype=object))],
                   dtype=float)
    if v0.size != w.size:
        raise AssertionError(f"{what}: the side {side[:120]} has {v0.size} entries, the value {w.size}")
    v0, bound = v0.ravel(), np.broadcast_to(bound, v0.shape).ravel()
    if not (np.all(np.isfinite(v0)) and np.all(np.isfinite(w)) and np.all(np.isfinite(bound))):
        return 0
    half = np.array([half_unit(x, d) for x in w])
    tol = 1.2 * bound + half + 1e-9 * np.abs(w) + 1e-12
    bad = np.abs(v0 - w) > tol
    assert not bad.any(), (f"{what}: {side[:160]} gives {v0[bad][:4]}, the value is {w[bad][:4]} "
                           f"(allowed {tol[bad][:4]})")
    return 1


ENTRY = re.compile(r"^\\left\((.*)\\right\)_\{(\d)(\d)\}$")


def check_key(tex: str, spec: dict[str, Any], answers: dict[str, Any]) -> int:
    """All the checks of the module docstring; returns the number of entries compared."""
    count = 0
    chains = answers.get("chain", {})
    for p in spec["problems"]:
        pid = p["id"]
        part = problems_of(tex)[pid]
        want = answers["problems"][pid]
        digits = p.get("digits", spec.get("digits", 4))
        per = p.get("digits_for", {})
        is_net = "network" in p
        table = network_names(p) if is_net else expression_names(p)
        seen: dict[str, int] = {}
        graded_lines: set[str] = set()
        # worked_steps: k: step t's section ("Step t" to the next) holds steps[t-1]'s values
        cuts = [(m.start(), int(m.group(1))) for m in
                re.finditer(r"\\subsection\*\{Step (\d+)\}", part)]
        if cuts:  # after the last step's parts: the training run's (the problem's values)
            rest = re.search(r"\\subsection\*\{(?!Step )", part[cuts[-1][0]:])
            if rest:
                cuts.append((cuts[-1][0] + rest.start(), 1))
        bounds = [(0, 1)] + cuts
        lines = []
        for k, (start, t) in enumerate(bounds):
            end = bounds[k + 1][0] if k + 1 < len(bounds) else len(part)
            lines += [(t, *x) for x in steps_of(part[start:end])]
        full = want
        for t, lhs, sides, chain, graded in lines:
            pre = f"steps[{t - 1}]." if t > 1 else ""
            want = full["steps"][t - 1] if t > 1 else full
            if pre and seen.get("@step") != t:
                seen = {"@step": t}
            try:
                parse_matrix(sides[-1]) if sides else None
            except ValueError:
                sides = []
            if not sides:
                continue  # a definition (L_i = ..., H = Z) or a frozen parameter: no value
            m = ENTRY.match(lhs)
            parent = m.group(1) if m else lhs
            if parent == "s_{1}" or lhs == "s_{1}":
                parent = r"\mathbf{s}"
            assert parent in table, f"problem {pid}: a line with no name: {lhs} = {sides[-1][:60]}"
            name, index = table[parent]
            if isinstance(index, list):  # E, Esum: the softmax layers in order
                k = seen.get(name, 0) if not m and lhs != "s_{1}" else max(seen.get(name, 1) - 1, 0)
                if not m and lhs != "s_{1}":
                    seen[name] = k + 1
                name, index = f"{name}{index[k]}", None
            assert name in want, f"problem {pid}: line {lhs} names {name}, not in the JSON"
            if graded and not m:
                graded_lines.add(pre + name)
            value = want[name] if index is None else want[name][index]
            d = per.get(name, digits)
            if m or lhs == "s_{1}":
                i, j = (int(m.group(2)) - 1, int(m.group(3)) - 1) if m else (0, 0)
                value = np.atleast_2d(np.asarray(value, dtype=float))[i, j]
            count += compare(sides[-1], value, d, f"{pid}.{name} ({lhs})")
            fewest = min([0 if isinstance(x, dict) else x for x in (digits, *per.values())])
            # a number showing this many significant digits may be rounded (decimals: any)
            for side in sides[:-1]:
                count += redo(side, value, d, fewest, env(p, name), f"{pid}.{name} ({lhs})")
            for row in chain:
                ch = chains.get(pid, {}).get(pre + name)
                if ch is not None and index is None and not m:
                    count += compare(row.strip(), ch, d, f"{pid}.{name} chain")
        want = full
        missing = [n for n in p.get("ask", []) if n not in graded_lines]
        assert not missing, f"problem {pid}: asked but no graded line in the key: {missing}"
        if is_net:
            count += training_table(part, want, digits, pid)
        count += check_given(part, p, digits, spec.get("layout", "rows"))
    return count


def samples_of(printed: str, data: Any, cols: bool, digits: int, what: str) -> int:
    """Printed data (all samples, or the worked batch's) are samples of the spec's data:
    each printed sample is one of them, correctly rounded."""
    m = parse_matrix(printed)
    rows = np.atleast_2d(np.asarray(data, dtype=float))
    rows = rows.T if cols else rows
    shown = [[m.cells[(i, j)] for j in range(m.shape[1])] for i in range(m.shape[0])]
    shown = [list(x) for x in zip(*shown, strict=True)] if cols else shown
    for k, sample in enumerate(shown):
        def fits(row: np.ndarray, sample: list = sample) -> bool:
            try:
                for x, n in zip(row, sample, strict=True):
                    check(float(x), n, digits)
            except (AssertionError, ValueError):
                return False
            return True
        assert any(fits(r) for r in rows), f"{what}: printed sample {k + 1} is no sample of the data"
    return m.shape[0] * m.shape[1]


def check_given(part: str, p: dict[str, Any], digits: int, layout: str = "rows") -> int:
    """The given values a problem prints (key or question sheet) are the spec's numbers."""
    given, pid, count = given_of(part), p["id"], 0
    if "network" not in p:
        shown = {**EXPR_LHS, **p.get("names", {})}
        for k, v in p["given"].items():
            v = np.full(v["shape"], v["fill"]) if isinstance(v, dict) else v
            if shown[k] in given:
                count += compare(given[shown[k]], v, digits, f"{pid} given {k}")
        return count
    cols = p.get("layout", layout) == "columns"
    for k in ("X", "Y"):  # the data as the spec gives it, in the problem's layout
        if k in given:
            count += samples_of(given[k], p["data"][k], cols, digits, f"{pid} given {k}")
    shown = p.get("names", {})
    for k, v in p.get("params", {}).items():
        lhs = shown.get(k, f"{k[0]}_{{{k[1:]}}}")
        if lhs in given:
            count += compare(given[lhs], v, digits, f"{pid} given {k}")
    return count


def training_table(part: str, want: dict[str, Any], digits: int, pid: str) -> int:
    """The loss at the start of each epoch and at the end, as the training table prints it."""
    m = re.search(r"Epoch&Loss at the start of the epoch(?:&[^&]*&Epoch&Loss at the start of "
                  r"the epoch)?\\\\%(.*?)\\bottomrule", part, re.S)
    if not m:
        return 0
    n = 0  # a report's two column pairs: epoch & loss & spacer & epoch & loss
    for epoch, x in re.findall(r"(?:^|&)(\d+|end)&\$(.*?)\$", m.group(1), re.M):
        value = want["loss_final"] if epoch == "end" else want["loss_history"][int(epoch) - 1]
        n += compare(x, value, digits, f"{pid} training table, epoch {epoch}")
    return n


def delimiter_problems(tex: str) -> list[str]:
    """Rows of the document's math whose delimiters do not pair up, in order."""
    bad = []
    for body in re.findall(r"\\begin\{(?:align|gather)\*\}(.*?)\\end\{(?:align|gather)\*\}", tex, re.S):
        for row in re.split(r"\\\\(?:\*|\[(?:0\.8|1\.5)ex\])", body):
            if not _pairs(row):
                bad.append(row.strip()[:200])
    return bad


def _pairs(text: str) -> bool:
    stack: list[str] = []
    for m in re.finditer(r"\\[{}|]|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\begin\{(\w+)\}|"
                         r"\\end\{(\w+)\}|[{}]", text):
        tok = m.group()
        if tok in (r"\{", r"\}", r"\|"):
            continue
        if tok in ("{", r"\left") or m.group(1):
            stack.append(m.group(1) or tok)
            continue
        want = m.group(2) or ("{" if tok == "}" else r"\left")
        if not stack or stack.pop() != want:
            return False
    return not stack
