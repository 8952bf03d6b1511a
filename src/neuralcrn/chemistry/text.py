"""The human-readable reaction-network text format (``.crn`` files).

Format
------
One statement per line; ``#`` starts a comment (whole line or trailing). Blank lines are ignored.

::

    # comment
    name: my_network            # optional label (bare text, or a JSON string "..." for any text)
    species: A B C              # optional: species order, species in no reaction (commas allowed)
    A = 1.0                     # initial concentration (species not set start at 0)
    const S = 2.0               # constant species, held at that concentration (value optional: 0)
    A + B ->{1.0} A + B + C     # reaction with rate constant 1.0
    2Z ->{0.15} Z               # integer stoichiometric coefficients ("2Z" or "2 Z")
    Z ->{0.1} 0                 # "0" or "∅" for nothing
    A <->{1.0}{0.5} B           # reversible: two reactions, A -> B (1.0) then B -> A (0.5)
    A -> B                      # no braces: rate constant 1.0 (both directions for <->)

``→`` may be written for ``->`` and ``⇌``/``↔`` for ``<->``. Rate constants follow the mass-action
convention of :mod:`neuralcrn.chemistry.network` (rate = k·Π[X]^ν, no 1/ν! factor).

Species order is the order of first appearance in the file (``species:`` lines, initial values,
``const`` lines and reactions, top to bottom). :func:`to_text` always writes a ``species:`` line, so
``parse_text(to_text(net)) == net`` for every network (species order, initial values, constant
species, name and exact rate constants, written with ``repr(float)``).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from ..errors import NetworkError, ParseError
from .network import Reaction, ReactionNetwork, is_valid_species_name

__all__ = ["parse_text", "read_text", "to_text", "write_text"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.])")
_SPECIAL_NUMBER = re.compile(r"[+-]?(?:inf|infinity|nan)(?![A-Za-z0-9_])", re.IGNORECASE)
_INT = re.compile(r"\d+")
_DECIMAL = re.compile(r"(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?")  # "2.5A": not an integer
_WS = re.compile(r"[ \t\f\v\r]*")
_ARROWS = (("<->", True), ("⇌", True), ("↔", True), ("->", False), ("→", False))
_BARE_NAME = re.compile(r'[^\s#"][^#\x00-\x1f\x7f\x85\u2028\u2029]*')


class _Line:
    """Cursor over one source line; every error names file, line and 1-based column."""

    def __init__(self, text: str, lineno: int, source: str):
        self.text = text
        self.lineno = lineno
        self.source = source
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.lineno, (self.pos if pos is None else pos) + 1, self.source)

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.text)

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)

    def describe(self) -> str:
        """What stands at the cursor, for error messages."""
        if self.pos >= len(self.text):
            return "end of line"
        m = _NAME.match(self.text, self.pos) or _NUMBER.match(self.text, self.pos)
        tok = m.group(0) if m else self.text[self.pos]
        return repr(tok)

    def expect_end(self, after: str) -> None:
        if not self.at_end():
            raise self.error(f"unexpected {self.describe()} after {after}: expected end of line")

    def name(self, what: str) -> str:
        self.skip_ws()
        m = _NAME.match(self.text, self.pos)
        if not m:
            raise self.error(f"expected {what}, found {self.describe()}")
        self.pos = m.end()
        return m.group(0)

    def number(self, what: str) -> float:
        """A float literal (Python syntax; ``inf``/``nan`` are read so they can be refused)."""
        self.skip_ws()
        m = _NUMBER.match(self.text, self.pos) or _SPECIAL_NUMBER.match(self.text, self.pos)
        if not m:
            raise self.error(f"expected a number for {what}, found {self.describe()}")
        start = self.pos
        self.pos = m.end()
        value = float(m.group(0))
        if not math.isfinite(value):
            raise self.error(f"{what} must be a finite number, got {m.group(0)!r}", start)
        if value < 0:
            raise self.error(f"{what} must be ≥ 0, got {m.group(0)}", start)
        return value


def _find_arrow(line: _Line) -> tuple[int, str, bool] | None:
    """Position, text and reversibility of the first arrow on the line (None if there is none)."""
    best = None
    for token, reversible in _ARROWS:
        i = line.text.find(token)
        if i >= 0 and (best is None or i < best[0] or (i == best[0] and len(token) > len(best[1]))):
            best = (i, token, reversible)
    return best


def _strip_comment(text: str) -> str:
    i = text.find("#")
    return text if i < 0 else text[:i]


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.order: dict[str, None] = {}
        self.initial: dict[str, tuple[float, int]] = {}
        self.constant: dict[str, int] = {}
        self.declared: dict[str, int] = {}
        self.reactions: list[Reaction] = []
        self.name: str | None = None
        self.name_line = 0

    def see(self, species: str) -> None:
        self.order.setdefault(species, None)

    # ------------------------------------------------------------------ statements
    def statement(self, line: _Line) -> None:
        line.skip_ws()
        start = line.pos
        m = _NAME.match(line.text, start)
        if m and m.group(0) == "name":
            after = _WS.match(line.text, m.end()).end()
            if line.text[after:after + 1] == ":":  # the name may hold '#' inside a quoted string
                line.pos = after + 1
                self.name_stmt(line, start)
                return
        line.text = _strip_comment(line.text)
        arrow = _find_arrow(line)
        if arrow is not None:
            self.reaction(line, arrow)
            return
        if m:
            word = m.group(0)
            after = _WS.match(line.text, m.end()).end()
            nxt = line.text[after:after + 1]
            if word == "species" and nxt == ":":
                line.pos = after + 1
                self.species_stmt(line)
                return
            if word == "const" and nxt not in ("=", ""):
                line.pos = m.end()
                self.const_stmt(line, start)
                return
            if nxt == "=":
                line.pos = after + 1
                self.initial_stmt(line, word, start)
                return
        raise line.error(f"unexpected {line.describe()}: expected a reaction such as "
                         f"'A + B ->{{1.0}} C', 'name: ...', 'species: ...', 'X = value' or "
                         f"'const X = value'")

    def name_stmt(self, line: _Line, start: int) -> None:
        if self.name is not None:
            raise line.error(f"duplicate declaration: name already given on line {self.name_line}",
                             start)
        line.skip_ws()
        rest = line.text[line.pos:]
        if rest.startswith('"'):
            try:
                value, end = json.JSONDecoder().raw_decode(rest)
            except json.JSONDecodeError as e:
                raise line.error(f"bad quoted name: {e.msg}", line.pos + e.pos)
            if not isinstance(value, str):
                raise line.error("expected a quoted string after 'name:'")
            line.pos += end
            line.text = line.text[:line.pos] + _strip_comment(line.text[line.pos:])
            line.expect_end("the quoted name")
        else:
            value = _strip_comment(rest).strip()
            if not value:
                raise line.error("expected a network name after 'name:'")
            line.pos = len(line.text)
        self.name = value
        self.name_line = line.lineno

    def species_stmt(self, line: _Line) -> None:
        text = line.text
        count = 0
        for m in re.finditer(r"[^\s,]+", text[line.pos:]):
            tok, pos = m.group(0), line.pos + m.start()
            if not is_valid_species_name(tok):
                raise line.error(f"invalid species name {tok!r}: use a letter or '_' followed by "
                                 f"letters, digits or '_'", pos)
            if tok in self.declared:
                raise line.error(f"duplicate declaration: species {tok!r} already declared on "
                                 f"line {self.declared[tok]}", pos)
            self.declared[tok] = line.lineno
            self.see(tok)
            count += 1
        if count == 0:
            raise line.error("expected species names after 'species:'", len(text.rstrip()))
        line.pos = len(line.text)

    def _set_initial(self, line: _Line, species: str, value: float, pos: int) -> None:
        if species in self.initial:
            raise line.error(f"duplicate declaration: initial concentration of {species!r} already "
                             f"set on line {self.initial[species][1]}", pos)
        self.initial[species] = (value, line.lineno)

    def initial_stmt(self, line: _Line, species: str, start: int) -> None:
        value = line.number(f"the initial concentration of {species!r}")
        line.expect_end("the initial concentration")
        self.see(species)
        self._set_initial(line, species, value, start)

    def const_stmt(self, line: _Line, start: int) -> None:
        pos = _WS.match(line.text, line.pos).end()
        species = line.name("a species name after 'const'")
        if species in self.constant:
            raise line.error(f"duplicate declaration: {species!r} already declared constant on "
                             f"line {self.constant[species]}", pos)
        self.see(species)
        self.constant[species] = line.lineno
        line.skip_ws()
        if line.peek("="):
            line.pos += 1
            value = line.number(f"the concentration of constant species {species!r}")
            self._set_initial(line, species, value, pos)
            line.expect_end("the constant's concentration")
        else:
            line.expect_end(f"'const {species}' (expected '= value' or end of line)")

    # ------------------------------------------------------------------ reactions
    def side(self, line: _Line, end: int, what: str) -> list[tuple[str, int]]:
        """Parse ``0``, ``∅`` or ``[n]X + [n]Y ...`` between the cursor and ``end``."""
        terms: list[tuple[str, int]] = []
        line.skip_ws()
        if line.pos >= end:
            raise line.error(f"expected the {what} (species, or 0 / ∅ for nothing) before "
                             f"{'the arrow' if what == 'reactants' else 'end of line'}")
        empty_at = None
        while True:
            line.skip_ws()
            tpos = line.pos
            if line.pos >= end:
                raise line.error(f"expected a species after '+' in the {what}")
            if line.peek("∅"):
                empty_at = tpos
                line.pos += 1
            else:
                coeff = 1
                fm = _DECIMAL.match(line.text, line.pos)
                if fm and fm.end() <= end:
                    raise line.error(f"stoichiometric coefficient must be a positive integer, "
                                     f"got {fm.group(0)!r}")
                m = _INT.match(line.text, line.pos)
                if m and m.end() <= end:
                    after = _WS.match(line.text, m.end()).end()
                    if after < end and _NAME.match(line.text, after):
                        coeff = int(m.group(0))
                        if coeff < 1:
                            raise line.error(f"stoichiometric coefficient must be a positive "
                                             f"integer, got {m.group(0)}", tpos)
                        line.pos = after
                    elif m.group(0) == "0":
                        empty_at = tpos
                        line.pos = m.end()
                    else:
                        line.pos = after
                        found = "the arrow" if after >= end and after < len(line.text) \
                            else line.describe()
                        raise line.error(f"expected a species name after the coefficient "
                                         f"{m.group(0)}, found {found}")
                if empty_at != tpos:
                    nm = _NAME.match(line.text, line.pos)
                    if not nm or nm.end() > end:
                        bad = _NUMBER.match(line.text, line.pos)
                        if bad and bad.end() <= end:
                            raise line.error(f"stoichiometric coefficient must be a positive "
                                             f"integer written before the species, got "
                                             f"{bad.group(0)!r}")
                        raise line.error(f"expected a species name in the {what}, found "
                                         f"{line.describe()}")
                    line.pos = nm.end()
                    terms.append((nm.group(0), coeff))
            if empty_at is not None and (terms or empty_at != tpos):
                raise line.error(f"'0' / '∅' (nothing) cannot be combined with species in the "
                                 f"{what}", empty_at)
            line.skip_ws()
            if line.pos >= end:
                return terms
            if line.peek("+"):
                line.pos += 1
                if empty_at is not None:
                    raise line.error(f"'0' / '∅' (nothing) cannot be combined with species in the "
                                     f"{what}", empty_at)
                continue
            expected = "'+' or the arrow" if what == "reactants" else "'+' or end of line"
            raise line.error(f"unexpected {line.describe()} in the {what}: expected {expected}")

    def rate(self, line: _Line, label: str) -> float:
        if not line.peek("{"):
            raise line.error(f"expected '{{rate}}' for the {label} rate constant, found "
                             f"{line.describe()}")
        line.pos += 1
        value = line.number(f"the {label} rate constant")
        line.skip_ws()
        if not line.peek("}"):
            raise line.error(f"expected '}}' after the {label} rate constant, found "
                             f"{line.describe()}")
        line.pos += 1
        return value

    def reaction(self, line: _Line, arrow: tuple[int, str, bool]) -> None:
        apos, atext, reversible = arrow
        lhs = self.side(line, apos, "reactants")
        line.pos = apos + len(atext)
        line.skip_ws()
        if line.peek("{"):
            kf = self.rate(line, "forward" if reversible else "reaction's")
            kr = None
            if not reversible and _WS.match(line.text, line.pos).end() < len(line.text) and \
                    line.text[_WS.match(line.text, line.pos).end()] == "{":
                line.skip_ws()
                raise line.error(f"only reversible reactions ('<->') take two rate constants; "
                                 f"'{atext}' takes one")
            if reversible:
                line.skip_ws()
                if not line.peek("{"):
                    raise line.error(f"missing rate: a reversible reaction needs two rate "
                                     f"constants, '{atext}{{kf}}{{kr}}' (found {line.describe()})")
                kr = self.rate(line, "reverse")
        else:
            kf, kr = 1.0, (1.0 if reversible else None)
        rhs = self.side(line, len(line.text), "products")
        for s, _ in lhs + rhs:
            self.see(s)
        if not lhs and not rhs:
            raise line.error("empty reaction: neither reactants nor products", apos)
        try:
            self.reactions.append(Reaction(lhs, rhs, kf))
            if kr is not None:
                self.reactions.append(Reaction(rhs, lhs, kr))
        except NetworkError as e:  # pragma: no cover - the parser checks everything first
            raise line.error(str(e), apos)

    # ------------------------------------------------------------------ result
    def network(self) -> ReactionNetwork:
        try:
            return ReactionNetwork(self.reactions, tuple(self.order),
                                   {s: v for s, (v, _) in self.initial.items()},
                                   tuple(self.constant), self.name or "")
        except NetworkError as e:  # pragma: no cover - the parser checks everything first
            raise ParseError(str(e), None, None, self.source)


def parse_text(text: str, source: str = "<string>") -> ReactionNetwork:
    """Parse a reaction network written in the text format (see the module docstring).

    Parameters
    ----------
    text:
        The file's contents.
    source:
        Name used in error messages (a file name, or ``"<string>"``).

    Returns
    -------
    ReactionNetwork
        Species in order of first appearance; initial concentrations from ``X = v`` and
        ``const X = v`` lines (0 otherwise); constant species from ``const`` lines.

    Raises
    ------
    ParseError
        With ``source``, 1-based ``line`` and ``column``: unknown token, missing or bad rate
        constant, bad number, negative or non-finite value, invalid species name, non-integer
        coefficient, ``0``/``∅`` mixed with species, duplicate ``name``, species, initial-value or
        ``const`` declarations.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_text expects a str, got {type(text).__name__}")
    parser = _Parser(source)
    if text.startswith("\ufeff"):
        text = text[1:]
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _Line(raw, lineno, source)
        if not _strip_comment(raw).strip():
            continue
        parser.statement(line)
    return parser.network()


def read_text(path: str | os.PathLike) -> ReactionNetwork:
    """Read a text-format network from ``path`` (UTF-8).

    Raises
    ------
    ParseError
        As :func:`parse_text`, naming the file.
    OSError
        If the file cannot be read.
    """
    path = Path(path)
    return parse_text(path.read_text(encoding="utf-8"), source=str(path))


def _format_name(name: str) -> str:
    if _BARE_NAME.fullmatch(name) and name == name.strip():
        return name
    # JSON escapes the C0 controls; the other characters str.splitlines() breaks lines at are
    # escaped too, so a quoted name always stays on its line
    quoted = json.dumps(name, ensure_ascii=False)
    return quoted.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace(
        "\u2029", "\\u2029")


def _wrap(prefix: str, words: list[str], width: int = 100) -> list[str]:
    lines, cur = [], prefix
    for w in words:
        if len(cur) + 1 + len(w) > width and cur != prefix:
            lines.append(cur)
            cur = prefix
        cur += " " + w
    lines.append(cur)
    return lines


def to_text(network: ReactionNetwork) -> str:
    """Write ``network`` in the text format; ``parse_text(to_text(n)) == n`` exactly.

    Writes, in order: ``name:`` (if the network has a name; quoted as a JSON string when it
    contains ``#``, quotes, control characters or surrounding blanks), ``species:`` (the full
    species order, wrapped over several lines when long), one ``X = v`` line per non-constant
    species with a non-zero initial concentration, one ``const X = v`` line per constant species
    (in species order), then one line per reaction with ``repr`` of its rate constant.
    """
    if not isinstance(network, ReactionNetwork):
        raise TypeError(f"to_text expects a ReactionNetwork, got {type(network).__name__}")
    out: list[str] = []
    if network.name:
        out.append(f"name: {_format_name(network.name)}")
    if network.species:
        out.extend(_wrap("species:", list(network.species)))
    for s, v in zip(network.species, network.initial):
        if s not in network.constant and v != 0.0:
            out.append(f"{s} = {v!r}")
    for s, v in zip(network.species, network.initial):
        if s in network.constant:
            out.append(f"const {s} = {v!r}")
    out.extend(str(r) for r in network.reactions)
    return "\n".join(out) + "\n" if out else ""


def write_text(network: ReactionNetwork, path: str | os.PathLike) -> Path:
    """Write ``network`` to ``path`` in the text format, atomically (temporary file + rename).

    Returns the path written.
    """
    from ._atomic import write_text_atomic
    return write_text_atomic(path, to_text(network))
