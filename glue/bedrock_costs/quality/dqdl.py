"""DQDL, the rule language of AWS Glue Data Quality: a grammar of our own, parsed into plain dataclasses.

Glue publishes no DQDL parser for Python (only ANTLR sources and a Java parser on Maven), so the same
rulesets the Glue job evaluates are parsed here for the local evaluator. The grammar follows the
official one (sections ``Metadata``, ``DataSources``, variables, ``Rules``, ``Analyzers``; rule type,
parameters, condition, ``where`` clause, labels, ``with threshold``; ``and``/``or`` composites in
parentheses; numbers with ``last(k)`` functions; dates with ``now()`` arithmetic; durations) and keeps
its semantics, including the surprising ones: arithmetic has one precedence level and runs left to
right, and ``between`` excludes its bounds. Rule types and their parameter counts come from Glue's rule
catalogue, so a misspelt rule type fails here as it would in Glue. Every error names the line, the
column and the text of the rule it is in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

_GRAMMAR = r"""
start: metadata? data_sources? variable* default_labels? sections
sections: rules analyzers? | analyzers
metadata: "Metadata" "=" dictionary
data_sources: "DataSources" "=" dictionary
rules: "Rules" "=" "[" [top_rule ("," top_rule)*] "]"
analyzers: "Analyzers" "=" "[" [analyzer ("," analyzer)*] "]"
dictionary: "{" pair ("," pair)* "}"
pair: STRING ":" (STRING | string_array)
string_array: "[" STRING ("," STRING)* "]"
variable: IDENTIFIER "=" (string_value | string_values)
default_labels: "DefaultLabels" "=" "[" [label ("," label)*] "]"

top_rule: dq_rule | or_rules
or_rules: and_rules (OR and_rules)*
and_rules: group (AND group)*
group: "(" (dq_rule | or_rules) ")" labels?

dq_rule: IDENTIFIER parameter* condition? where? labels? tag*
analyzer: IDENTIFIER parameter*
parameter: (OF | AND)? (STRING | IDENTIFIER | var_ref)
where: "where" STRING
labels: "labels" "=" "[" [label ("," label)*] "]"
label: STRING "=" STRING
tag: "with" IDENTIFIER condition

condition: NOT? "between" operand AND operand          -> between
         | COMPARATOR operand                            -> compare
         | "!" "=" operand                               -> not_equal
         | NOT? "in" "[" operand ("," operand)* "]"      -> in_list
         | NOT? "in" var_ref                             -> in_variable
         | NOT? "matches" STRING                         -> matches

?operand: number | string_value | now | duration | size
?string_value: STRING -> text
             | KEYWORD -> keyword
             | var_ref
string_values: "[" string_value ("," string_value)* "]"
var_ref: "$" IDENTIFIER

?number: atom | number OPERATOR atom -> arithmetic
?atom: NUMBER -> literal
     | "-" NUMBER -> negative
     | IDENTIFIER "(" [number ("," number)*] ")" -> call
     | "(" number ")"
now: NOW | "(" NOW SIGN duration ")"
duration: NUMBER DURATION_UNIT
size: NUMBER SIZE_UNIT

NOW.3: "now()"
SIGN: "+" | "-"
OPERATOR: "+" | "-" | "*" | "/"
COMPARATOR: ">=" | "<=" | ">" | "<" | "="
DURATION_UNIT.3: "days" | "hours" | "minutes"
SIZE_UNIT.3: "B" | "KB" | "MB" | "GB" | "TB"
KEYWORD.3: "NULL" | "null" | "EMPTY" | "empty" | "WHITESPACES_ONLY" | "whitespaces_only"
AND.3: "and" | "AND"
OR.3: "or" | "OR"
OF.3: "of" | "OF"
NOT.3: "not"
STRING: /"(?:\\.|[^"\\])*"/
NUMBER.2: /[0-9]+(\.[0-9]+)?/
IDENTIFIER: /[A-Za-z0-9_.]+/
COMMENT: /#[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""


@dataclass(frozen=True)
class RuleType:
    """What Glue's rule catalogue says about a rule type: parameters, return kind, where/threshold support."""

    min_params: int
    max_params: int | None  # None: any number (IsPrimaryKey "a" "b" ...)
    returns: str  # NUMBER, BOOLEAN, ANY (ColumnValues), DURATION, NUMBER|BOOLEAN, DATE, SIZE, STRING
    where: bool = False
    threshold: bool = False


_W = {"where": True}
RULE_TYPES: Mapping[str, RuleType] = {
    "RowCount": RuleType(0, 0, "NUMBER", **_W),
    "RowCountMatch": RuleType(1, 1, "NUMBER"),
    "ColumnCount": RuleType(0, 0, "NUMBER"),
    "Completeness": RuleType(1, 1, "NUMBER", **_W),
    "IsComplete": RuleType(1, 1, "BOOLEAN", **_W),
    "ColumnDataType": RuleType(1, 1, "STRING", where=True, threshold=True),
    "ColumnNamesMatchPattern": RuleType(1, 1, "BOOLEAN"),
    "ColumnExists": RuleType(1, 1, "BOOLEAN"),
    "ColumnCorrelation": RuleType(2, 2, "NUMBER", **_W),
    "Uniqueness": RuleType(1, None, "NUMBER", **_W),
    "IsUnique": RuleType(1, None, "BOOLEAN", **_W),
    "Mean": RuleType(1, 1, "NUMBER", **_W),
    "Sum": RuleType(1, 1, "NUMBER", **_W),
    "StandardDeviation": RuleType(1, 1, "NUMBER", **_W),
    "Variance": RuleType(1, 1, "NUMBER", **_W),
    "Entropy": RuleType(1, 1, "NUMBER", **_W),
    "DistinctValuesCount": RuleType(1, 1, "NUMBER", **_W),
    "UniqueValueRatio": RuleType(1, 1, "NUMBER", **_W),
    "ColumnLength": RuleType(1, 1, "NUMBER", where=True, threshold=True),
    "IsPrimaryKey": RuleType(1, None, "BOOLEAN", **_W),
    "ColumnValues": RuleType(1, 1, "ANY", where=True, threshold=True),
    "DataFreshness": RuleType(1, 1, "DURATION", **_W),
    "CustomSql": RuleType(1, 1, "NUMBER|BOOLEAN", threshold=True),
    "ReferentialIntegrity": RuleType(2, 2, "NUMBER"),
    "DatasetMatch": RuleType(2, 3, "NUMBER"),
    "SchemaMatch": RuleType(1, 1, "NUMBER"),
    "AggregateMatch": RuleType(2, 2, "NUMBER"),
    "DetectAnomalies": RuleType(1, None, "BOOLEAN"),
    "FileMatch": RuleType(0, 2, "BOOLEAN"),
    "FileUniqueness": RuleType(0, 1, "NUMBER"),
    "FileFreshness": RuleType(0, 1, "DATE", threshold=True),
    "FileSize": RuleType(0, 1, "SIZE", threshold=True),
}
ANALYZER_TYPES = frozenset({*RULE_TYPES, "AllStatistics"})


# ---- operands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: float
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Arithmetic:
    left: Number
    operator: str
    right: Number

    def __str__(self) -> str:
        return f"{self.left} {self.operator} {self.right}"


@dataclass(frozen=True)
class Call:
    """A function over past metric values, e.g. ``avg(last(10))``: a dynamic rule."""

    name: str
    args: tuple[Number, ...]

    def __str__(self) -> str:
        return f"{self.name}({','.join(map(str, self.args))})"


Number = Literal | Arithmetic | Call


@dataclass(frozen=True)
class Text:
    value: str

    def __str__(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Keyword:
    """``NULL``, ``EMPTY`` (zero-length text) or ``WHITESPACES_ONLY``, upper-cased."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # days | hours | minutes

    @property
    def seconds(self) -> int:
        return self.amount * {"days": 86400, "hours": 3600, "minutes": 60}[self.unit]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


@dataclass(frozen=True)
class Now:
    """``now()`` or ``(now() ± duration)``; ``offset_seconds`` is signed."""

    offset_seconds: int = 0
    text: str = "now()"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Size:
    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


Operand = Number | Text | Keyword | Duration | Now | Size


@dataclass(frozen=True)
class Condition:
    """``> 0.9``, ``between 1 and 10``, ``in ["a", NULL]``, ``not matches "x"`` … applied to a metric or a value."""

    operator: str  # > >= < <= = != between in matches
    operands: tuple[Operand, ...]
    negated: bool = False

    def __str__(self) -> str:
        prefix = "not " if self.negated else ""
        if self.operator == "between":
            return f"{prefix}between {self.operands[0]} and {self.operands[1]}"
        if self.operator == "in":
            return f"{prefix}in [{','.join(map(str, self.operands))}]"
        if self.operator == "matches":
            return f"{prefix}matches {self.operands[0]}"
        return f"{self.operator} {self.operands[0]}"

    @property
    def is_dynamic(self) -> bool:
        return any(_has_call(operand) for operand in self.operands)


def _has_call(operand: Operand) -> bool:
    if isinstance(operand, Call):
        return True
    if isinstance(operand, Arithmetic):
        return _has_call(operand.left) or _has_call(operand.right)
    return False


# ---- rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class Rule:
    """One rule: ``ColumnValues "x" in ["a"] where "y > 0" with threshold > 0.9``."""

    rule_type: str
    parameters: tuple[str, ...]
    condition: Condition | None
    where: str | None
    threshold: Condition | None
    options: Mapping[str, Condition]  # other ``with name <condition>`` tags
    labels: Mapping[str, str]
    text: str
    position: Position


@dataclass(frozen=True)
class Composite:
    """``(rule) and (rule)`` / ``(rule) or (rule)``; operands may be composites themselves."""

    operator: str  # and | or
    rules: tuple[Rule | Composite, ...]
    labels: Mapping[str, str]
    text: str
    position: Position


AnyRule = Rule | Composite


@dataclass(frozen=True)
class Ruleset:
    rules: tuple[AnyRule, ...]
    analyzers: tuple[Rule, ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)
    data_sources: Mapping[str, object] = field(default_factory=dict)


class DQDLError(ValueError):
    """A ruleset that does not parse, or a rule Glue would reject; says where and in which rule."""

    def __init__(self, message: str, line: int, column: int, rule_text: str | None = None) -> None:
        self.line, self.column, self.rule_text, self.reason = line, column, rule_text, message
        where = f"line {line}, column {column}"
        super().__init__(f"{where}: {message}" + (f"\n  in rule: {rule_text}" if rule_text else ""))


# ---- transformation ------------------------------------------------------------------------------------


def _unquote(token: Token) -> str:
    return re.sub(r"\\([\"\\])", r"\1", str(token)[1:-1])


def _position(meta: object) -> Position:
    return Position(getattr(meta, "line", 1), getattr(meta, "column", 1))


class _ToModel(Transformer):
    """Parse tree → dataclasses, checking what the grammar cannot (rule types, parameter counts)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.variables: dict[str, object] = {}

    def _text(self, meta: object) -> str:
        return " ".join(self.source[meta.start_pos : meta.end_pos].split())  # type: ignore[attr-defined]

    def _fail(self, message: str, meta: object) -> DQDLError:
        return DQDLError(message, meta.line, meta.column, self._text(meta))  # type: ignore[attr-defined]

    # sections
    def start(self, items: list) -> Ruleset:
        parts: dict[str, object] = {}
        for item in items:
            if isinstance(item, tuple) and item and item[0] in ("metadata", "data_sources", "sections"):
                parts[item[0]] = item[1]
        rules, analyzers = parts["sections"]  # type: ignore[misc]
        return Ruleset(
            rules=tuple(rules),
            analyzers=tuple(analyzers),
            metadata=parts.get("metadata", {}),  # type: ignore[arg-type]
            data_sources=parts.get("data_sources", {}),  # type: ignore[arg-type]
        )

    def sections(self, items: list) -> tuple[str, tuple[list, list]]:
        rules = next((i[1] for i in items if i[0] == "rules"), [])
        analyzers = next((i[1] for i in items if i[0] == "analyzers"), [])
        return ("sections", (rules, analyzers))

    def metadata(self, items: list) -> tuple[str, dict]:
        return ("metadata", items[0])

    def data_sources(self, items: list) -> tuple[str, dict]:
        return ("data_sources", items[0])

    def rules(self, items: list) -> tuple[str, list]:
        return ("rules", [item for item in items if item is not None])

    def analyzers(self, items: list) -> tuple[str, list]:
        return ("analyzers", [item for item in items if item is not None])

    def dictionary(self, items: list) -> dict:
        return dict(items)

    def pair(self, items: list) -> tuple[str, object]:
        return (_unquote(items[0]), items[1] if isinstance(items[1], list) else _unquote(items[1]))

    def string_array(self, items: list) -> list[str]:
        return [_unquote(item) for item in items]

    @v_args(meta=True)
    def variable(self, meta: object, items: list) -> None:
        name, value = str(items[0]), items[1]
        if name in self.variables:
            raise self._fail(f"variable {name} is declared twice", meta)
        self.variables[name] = value

    def default_labels(self, items: list) -> None:
        return None

    # composites
    def top_rule(self, items: list) -> AnyRule:
        return items[0]

    @v_args(meta=True)
    def or_rules(self, meta: object, items: list) -> AnyRule:
        return self._composite("or", meta, [item for item in items if not isinstance(item, Token)])

    @v_args(meta=True)
    def and_rules(self, meta: object, items: list) -> AnyRule:
        return self._composite("and", meta, [item for item in items if not isinstance(item, Token)])

    def _composite(self, operator: str, meta: object, rules: list[AnyRule]) -> AnyRule:
        if len(rules) == 1:
            return rules[0]
        return Composite(operator, tuple(rules), {}, self._text(meta), _position(meta))

    @v_args(meta=True)
    def group(self, meta: object, items: list) -> AnyRule:
        inner, labels = items[0], (items[1] if len(items) > 1 else {})
        if isinstance(inner, Composite):
            return Composite(inner.operator, inner.rules, labels, self._text(meta), _position(meta))
        if labels:
            return Rule(**{**inner.__dict__, "labels": {**inner.labels, **labels}})
        return inner

    # rules
    @v_args(meta=True)
    def dq_rule(self, meta: object, items: list) -> Rule:
        rule_type = str(items[0])
        parameters = [item for item in items[1:] if isinstance(item, _Param)]
        condition = next((item for item in items if isinstance(item, Condition)), None)
        where = next((item.sql for item in items if isinstance(item, _Where)), None)
        labels = next((item for item in items if isinstance(item, dict)), {})
        tags = [item for item in items if isinstance(item, _Tag)]
        spec = RULE_TYPES.get(rule_type)
        if spec is None:
            raise self._fail(f"unknown rule type {rule_type!r}", meta)
        values = tuple(value for param in parameters for value in param.values)
        if len(values) < spec.min_params or (spec.max_params is not None and len(values) > spec.max_params):
            expected = str(spec.min_params) if spec.max_params == spec.min_params else f"at least {spec.min_params}"
            if spec.max_params not in (None, spec.min_params):
                expected = f"{spec.min_params} to {spec.max_params}"
            raise self._fail(f"{rule_type} takes {expected} parameter(s), got {len(values)}", meta)
        self._check_condition(rule_type, spec, condition, meta)
        if where is not None and not spec.where:
            raise self._fail(f"{rule_type} does not support a where clause", meta)
        threshold = None
        options: dict[str, Condition] = {}
        for tag in tags:
            if tag.name == "threshold":
                if not spec.threshold:
                    raise self._fail(f"{rule_type} does not support 'with threshold'", meta)
                threshold = tag.condition
            else:
                options[tag.name] = tag.condition
        return Rule(rule_type, values, condition, where, threshold, options, labels, self._text(meta), _position(meta))

    def _check_condition(self, rule_type: str, spec: RuleType, condition: Condition | None, meta: object) -> None:
        if spec.returns == "BOOLEAN" and condition is not None:
            raise self._fail(f"{rule_type} is a yes/no rule and takes no condition", meta)
        if spec.returns in ("NUMBER", "DURATION", "STRING", "ANY") and condition is None:
            raise self._fail(f"{rule_type} needs a condition, e.g. {rule_type} ... > 0", meta)
        if condition is None:
            return
        numeric = all(isinstance(op, Literal | Arithmetic | Call) for op in condition.operands)
        if spec.returns == "NUMBER" and not (numeric and condition.operator != "matches"):
            raise self._fail(f"{rule_type} compares a number: the condition must use numbers", meta)
        if spec.returns == "DURATION" and not all(isinstance(op, Duration) for op in condition.operands):
            raise self._fail(f"{rule_type} compares an age: use durations such as 24 hours or 3 days", meta)

    @v_args(meta=True)
    def analyzer(self, meta: object, items: list) -> Rule:
        name = str(items[0])
        if name not in ANALYZER_TYPES:
            raise self._fail(f"unknown analyzer type {name!r}", meta)
        values = tuple(value for param in items[1:] for value in param.values)
        return Rule(name, values, None, None, None, {}, {}, self._text(meta), _position(meta))

    def parameter(self, items: list) -> _Param:
        value = items[-1]
        if isinstance(value, _VarRef):
            resolved = self.variables.get(value.name)
            if not isinstance(resolved, Text):
                raise DQDLError(f"${value.name} is not a declared text variable", value.line, value.column)
            return _Param((resolved.value,))
        return _Param((_unquote(value) if value.type == "STRING" else str(value),))

    def where(self, items: list) -> _Where:
        return _Where(_unquote(items[0]))

    def labels(self, items: list) -> dict[str, str]:
        return dict(item for item in items if item is not None)

    def label(self, items: list) -> tuple[str, str]:
        return (_unquote(items[0]), _unquote(items[1]))

    def tag(self, items: list) -> _Tag:
        return _Tag(str(items[0]), items[1])

    # conditions
    def between(self, items: list) -> Condition:
        negated = isinstance(items[0], Token) and items[0].type == "NOT"
        low, high = [item for item in items if not isinstance(item, Token)]
        return Condition("between", (low, high), negated)

    def compare(self, items: list) -> Condition:
        return Condition(str(items[0]), (items[1],))

    def not_equal(self, items: list) -> Condition:
        return Condition("!=", (items[-1],))

    def in_list(self, items: list) -> Condition:
        negated = isinstance(items[0], Token) and items[0].type == "NOT"
        values = tuple(item for item in items if not isinstance(item, Token))
        return Condition("in", tuple(self._deref(value) for value in values), negated)

    def in_variable(self, items: list) -> Condition:
        negated = isinstance(items[0], Token) and items[0].type == "NOT"
        ref: _VarRef = items[-1]
        values = self.variables.get(ref.name)
        if not isinstance(values, list):
            raise DQDLError(f"${ref.name} is not a declared list variable", ref.line, ref.column)
        return Condition("in", tuple(values), negated)

    def matches(self, items: list) -> Condition:
        negated = isinstance(items[0], Token) and items[0].type == "NOT"
        return Condition("matches", (Text(_unquote(items[-1])),), negated)

    def _deref(self, value: object) -> Operand:
        if isinstance(value, _VarRef):
            resolved = self.variables.get(value.name)
            if not isinstance(resolved, Text | Keyword):
                raise DQDLError(f"${value.name} is not a declared text variable", value.line, value.column)
            return resolved
        return value  # type: ignore[return-value]

    # operands
    def text(self, items: list) -> Text:
        return Text(_unquote(items[0]))

    def keyword(self, items: list) -> Keyword:
        return Keyword(str(items[0]).upper())

    def string_values(self, items: list) -> list:
        return [self._deref(item) for item in items]

    def var_ref(self, items: list) -> _VarRef:
        return _VarRef(str(items[0]), items[0].line, items[0].column)

    def literal(self, items: list) -> Literal:
        return Literal(float(items[0]), str(items[0]))

    def negative(self, items: list) -> Literal:
        return Literal(-float(items[0]), f"-{items[0]}")

    def arithmetic(self, items: list) -> Arithmetic:
        return Arithmetic(items[0], str(items[1]), items[2])

    def call(self, items: list) -> Call:
        return Call(str(items[0]), tuple(item for item in items[1:] if item is not None))

    def now(self, items: list) -> Now:
        if len(items) == 1:
            return Now()
        sign, duration = str(items[1]), items[2]
        offset = duration.seconds if sign == "+" else -duration.seconds
        return Now(offset, f"(now() {sign} {duration})")

    def duration(self, items: list) -> Duration:
        return Duration(_integer(items[0]), str(items[1]))

    def size(self, items: list) -> Size:
        return Size(_integer(items[0]), str(items[1]))


def _integer(token: Token) -> int:
    if "." in token:
        raise DQDLError(f"{token} is not a whole number", token.line, token.column)
    return int(token)


@dataclass(frozen=True)
class _Param:
    values: tuple[str, ...]


@dataclass(frozen=True)
class _Where:
    sql: str


@dataclass(frozen=True)
class _Tag:
    name: str
    condition: Condition


@dataclass(frozen=True)
class _VarRef:
    name: str
    line: int
    column: int


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


_FRIENDLY = {
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "IDENTIFIER": "a name",
    "COMPARATOR": "a comparison (> >= < <= =)",
    "KEYWORD": "NULL/EMPTY/WHITESPACES_ONLY",
    "DURATION_UNIT": "days/hours/minutes",
    "SIZE_UNIT": "a size unit",
    "OPERATOR": "+ - * /",
    "SIGN": "+ or -",
    "$END": "the end",
}


def _describe(expected: set[str]) -> str:
    """Terminal names → what a person would type: ``RSQB`` → ``]``, ``AND`` → ``and``."""
    patterns = {terminal.name: terminal.pattern for terminal in _parser().terminals}
    names = set()
    for name in expected:
        pattern = patterns.get(name)
        if name in _FRIENDLY:
            names.add(_FRIENDLY[name])
        elif pattern is not None and pattern.type == "str":
            names.add(pattern.value)
        else:
            names.add(name.lower())
    ordered = sorted(names, key=lambda n: (len(n) > 2, n))
    return ", ".join(ordered[:14]) + (" …" if len(ordered) > 14 else "")


def _rule_at(source: str, offset: int) -> str:
    """The text of the top-level rule around ``offset``: the span between the commas or brackets that
    enclose it at depth one (inside ``Rules = [ ... ]``), skipping quoted text."""
    start, end, depth, quoted, escaped = 0, len(source), 0, False, False
    for index, char in enumerate(source):
        if quoted:
            escaped, quoted = (False, True) if escaped else (char == "\\", char != '"')
            continue
        if char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
            if depth == 1 and index < offset:
                start = index + 1
        elif (char in ")]}" or char == ",") and depth == 1 and index >= offset:
            end = index
            break
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 1:
            start = index + 1
    return " ".join(source[start:end].split())


def parse(source: str) -> Ruleset:
    """Parse a DQDL document; raise :class:`DQDLError` with line, column and rule text on any problem."""
    try:
        tree: Tree = _parser().parse(source)
    except UnexpectedCharacters as exc:
        char = source[exc.pos_in_stream]
        raise DQDLError(
            "a quoted string is not closed" if char == '"' else f"unexpected character {char!r}",
            exc.line,
            exc.column,
            _rule_at(source, exc.pos_in_stream),
        ) from None
    except (UnexpectedEOF, UnexpectedToken) as exc:
        at_end = isinstance(exc, UnexpectedEOF) or exc.token.type == "$END"
        found = "the ruleset ends before it is complete" if at_end else f"unexpected {str(exc.token)!r}"
        offset = len(source.rstrip()) if at_end else exc.token.start_pos
        line = source.count("\n", 0, offset) + 1
        column = offset - (source.rfind("\n", 0, offset) + 1) + 1
        raise DQDLError(
            f"{found}; expected {_describe(set(exc.expected))}", line, column, _rule_at(source, offset)
        ) from None
    except UnexpectedInput as exc:  # pragma: no cover - the subclasses above are exhaustive
        raise DQDLError(str(exc), exc.line, exc.column) from None
    try:
        return _ToModel(source).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, DQDLError):
            raise exc.orig_exc from None
        raise
