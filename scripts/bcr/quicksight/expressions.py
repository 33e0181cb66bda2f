"""QuickSight calculated-field expressions: one parser into a small syntax tree, and questions about that tree.

Every place a definition holds an expression (dataset ``CreateColumnsOperation`` and ``FilterOperation``,
join ``OnClause``, the dashboard's ``CalculatedFields``, ``CalculatedMeasureField`` and rolling dates) goes
through :func:`parse`. ``bcr dashboard validate`` asks the tree what it references, what type it returns
and whether it aggregates (:func:`infer`); ``bcr report`` translates the same tree into DuckDB SQL and
into the page's expressions. A syntax error or an unknown function is an ``ExpressionError`` naming the
position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# --- syntax tree -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: int | float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Null:
    pass


@dataclass(frozen=True)
class Field:
    """``{name}`` or a bare name: a dataset column or another calculated field."""

    name: str


@dataclass(frozen=True)
class Param:
    """``${Name}``: a dashboard parameter."""

    name: str


@dataclass(frozen=True)
class Keyword:
    """A bare enum word in argument position: ``PRE_AGG``, ``MONTH``, ``ASC`` …"""

    name: str


@dataclass(frozen=True)
class Call:
    name: str  # canonical QuickSight spelling
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Op:
    """Operators: ``+ - * / ^ % = <> < > <= >= and or not neg``."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class ListOf:
    """``[a, b DESC]``: partition and sort lists of window functions, value lists of ``in``."""

    items: tuple[Expr, ...]
    directions: tuple[str | None, ...]


Expr = Num | Str | Null | Field | Param | Keyword | Call | Op | ListOf


class ExpressionError(ValueError):
    """The expression is not valid QuickSight: syntax, unknown function, or wrong use."""


# --- the function catalogue --------------------------------------------------------------------------

# Result types, named like QuickSight's column types.
STRING, INTEGER, DECIMAL, DATETIME, BOOLEAN = "STRING", "INTEGER", "DECIMAL", "DATETIME", "BOOLEAN"
NUMERIC = frozenset({INTEGER, DECIMAL})
# What a parameter of each declaration type holds.
PARAMETER_TYPES = {
    "StringParameterDeclaration": STRING,
    "IntegerParameterDeclaration": INTEGER,
    "DecimalParameterDeclaration": DECIMAL,
    "DateTimeParameterDeclaration": DATETIME,
}
# A function's result: a type, ``arg`` for its first argument's type, or ``branch`` for the common type of
# the arguments it may return (ifelse, coalesce, switch).
ARG, BRANCH = "arg", "branch"


def name_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _typed(names: str, result: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), result)


AGGREGATE_RESULTS = {
    **_typed("sum min max sumIf minIf maxIf percentileDisc percentile", ARG),
    **_typed("count distinct_count countIf distinct_countIf", INTEGER),
    **_typed("avg median percentileCont stdev stdevp var varp avgIf medianIf stdevIf stdevpIf varIf varpIf", DECIMAL),
}
# Window and period functions: after aggregation unless their level is PRE_AGG or PRE_FILTER.
WINDOW_RESULTS = {
    **_typed(
        "sumOver minOver maxOver runningSum runningMin runningMax lag lead difference periodOverPeriodDifference "
        "periodOverPeriodLastValue periodToDateSum periodToDateMin periodToDateMax windowSum windowMin windowMax "
        "firstValue lastValue",
        ARG,
    ),
    **_typed(
        "avgOver stdevOver stdevpOver varOver varpOver percentOfTotal runningAvg percentileRank percentDifference "
        "periodOverPeriodPercentDifference periodToDateAvg windowAvg",
        DECIMAL,
    ),
    **_typed("countOver distinctCountOver runningCount rank denseRank periodToDateCount windowCount", INTEGER),
}
SCALAR_RESULTS = {
    **_typed("ifelse coalesce switch", BRANCH),
    **_typed("nullIf abs", ARG),
    **_typed("isNull isNotNull in notIn contains startsWith endsWith isWorkDay", BOOLEAN),
    **_typed("dateDiff extract strlen locate parseInt decimalToInt mod netWorkDays", INTEGER),
    **_typed("addDateTime addWorkDays truncDate now parseDate epochDate", DATETIME),
    **_typed(
        "formatDate toString concat substring left right toLower toUpper trim ltrim rtrim replace split parseJson",
        STRING,
    ),
    **_typed("round floor ceil exp ln log sqrt parseDecimal intToDecimal", DECIMAL),
}
AGGREGATES = frozenset(AGGREGATE_RESULTS)
WINDOWS = frozenset(WINDOW_RESULTS)
SCALARS = frozenset(SCALAR_RESULTS)
_CANONICAL = {name.lower(): name for name in AGGREGATES | WINDOWS | SCALARS}

# Window functions whose aggregation happens before the visual groups rows: evaluated in SQL.
PRE_LEVELS = frozenset({"PRE_AGG", "PRE_FILTER"})
KEYWORDS = frozenset(
    {"PRE_AGG", "PRE_FILTER", "POST_AGG_FILTER", "ASC", "DESC", "CASE_SENSITIVE", "CASE_INSENSITIVE"}
    | {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND", "SECONDS", "MILLISECOND"}
)

# --- tokenizer ----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|/\*.*?\*/)
  | (?P<field>\{[^{}]*\})
  | (?P<param>\$\{[^{}]*\})
  | (?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<op><=|>=|<>|!=|[-+*/^%=<>(),\[\]])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> Iterator[_Token]:
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        kind = match.lastgroup or ""
        if kind != "space":
            yield _Token(kind, match.group(), pos)
        pos = match.end()
    yield _Token("end", "", len(text))


def _unquote(literal: str) -> str:
    quote = literal[0]
    body = literal[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


# --- parser -------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.token
        self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.token
        if token.kind == "word":
            return token.text.upper() in texts
        return token.kind == "op" and token.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            found = self.token.text or "the end"
            raise ExpressionError(f"expected {text!r} at position {self.token.pos + 1}, found {found!r}")
        self.take()

    def parse(self) -> Expr:
        expr = self.or_()
        if self.token.kind != "end":
            raise ExpressionError(f"unexpected {self.token.text!r} at position {self.token.pos + 1}")
        return expr

    def or_(self) -> Expr:
        expr = self.and_()
        while self.at("OR"):
            self.take()
            expr = Op("or", (expr, self.and_()))
        return expr

    def and_(self) -> Expr:
        expr = self.not_()
        while self.at("AND"):
            self.take()
            expr = Op("and", (expr, self.not_()))
        return expr

    def not_(self) -> Expr:
        if self.at("NOT"):
            self.take()
            return Op("not", (self.not_(),))
        return self.comparison()

    def comparison(self) -> Expr:
        expr = self.additive()
        if self.at("=", "<>", "!=", "<", ">", "<=", ">="):
            op = self.take().text
            expr = Op("<>" if op == "!=" else op, (expr, self.additive()))
        return expr

    def additive(self) -> Expr:
        expr = self.multiplicative()
        while self.at("+", "-"):
            expr = Op(self.take().text, (expr, self.multiplicative()))
        return expr

    def multiplicative(self) -> Expr:
        expr = self.unary()
        while self.at("*", "/", "%"):
            expr = Op(self.take().text, (expr, self.unary()))
        return expr

    def unary(self) -> Expr:
        if self.at("-"):
            self.take()
            return Op("neg", (self.unary(),))
        if self.at("+"):
            self.take()
            return self.unary()
        expr = self.primary()
        if self.at("^"):
            self.take()
            expr = Op("^", (expr, self.unary()))
        return expr

    def primary(self) -> Expr:
        token = self.take()
        if token.kind == "number":
            value = float(token.text)
            return Num(int(value) if value.is_integer() and re.fullmatch(r"\d+", token.text) else value)
        if token.kind == "string":
            return Str(_unquote(token.text))
        if token.kind == "field":
            return Field(token.text[1:-1].strip())
        if token.kind == "param":
            return Param(token.text[2:-1].strip())
        if token.kind == "op" and token.text == "(":
            expr = self.or_()
            self.expect(")")
            return expr
        if token.kind == "op" and token.text == "[":
            return self.list_()
        if token.kind == "word":
            if self.at("("):
                return self.call(token)
            upper = token.text.upper()
            if upper == "NULL":
                return Null()
            return Keyword(upper) if upper in KEYWORDS else Field(token.text)
        found = token.text or "the end of the expression"
        raise ExpressionError(f"unexpected {found!r} at position {token.pos + 1}")

    def call(self, name: _Token) -> Call:
        canonical = _CANONICAL.get(name.text.lower())
        if canonical is None:
            raise ExpressionError(f"unknown function {name.text!r} at position {name.pos + 1}")
        self.expect("(")
        args: list[Expr] = []
        if not self.at(")"):
            args.append(self.or_())
            while self.at(","):
                self.take()
                args.append(self.or_())
        self.expect(")")
        return Call(canonical, tuple(args))

    def list_(self) -> ListOf:
        items: list[Expr] = []
        directions: list[str | None] = []
        while not self.at("]"):
            if items:
                self.expect(",")
            items.append(self.or_())
            direction = None
            if self.at("ASC", "DESC"):
                direction = self.take().text.upper()
            directions.append(direction)
        self.expect("]")
        return ListOf(tuple(items), tuple(directions))


def parse(text: str) -> Expr:
    """Parse one QuickSight expression; raises ``ExpressionError`` naming the position of the problem."""
    if not text or not text.strip():
        raise ExpressionError("the expression is empty")
    return _Parser(text).parse()


# --- questions about a tree ---------------------------------------------------------------------------


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Call | Op):
        return expr.args
    if isinstance(expr, ListOf):
        return expr.items
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    for child in children(expr):
        yield from walk(child)


def fields(expr: Expr) -> set[str]:
    return {node.name for node in walk(expr) if isinstance(node, Field)}


def params(expr: Expr) -> set[str]:
    return {node.name for node in walk(expr) if isinstance(node, Param)}


def window_level(call: Call) -> str:
    """The calculation level of a window function: its last argument when that is a level keyword."""
    last = call.args[-1] if call.args else None
    if isinstance(last, Keyword) and last.name in PRE_LEVELS | {"POST_AGG_FILTER"}:
        return last.name
    return "POST_AGG_FILTER"


def is_aggregated(expr: Expr) -> bool:
    """True when the expression aggregates rows (an aggregate, or a window function after aggregation)."""
    for node in walk(expr):
        if isinstance(node, Call):
            if node.name in AGGREGATES:
                return True
            if node.name in WINDOWS and window_level(node) not in PRE_LEVELS:
                return True
    return False


def replace_fields(expr: Expr, replacements: dict[str, Expr]) -> Expr:
    """Substitute fields by trees: inlines calculated fields that reference other calculated fields."""
    if isinstance(expr, Field):
        return replacements.get(expr.name, expr)
    if isinstance(expr, Call):
        return Call(expr.name, tuple(replace_fields(arg, replacements) for arg in expr.args))
    if isinstance(expr, Op):
        return Op(expr.op, tuple(replace_fields(arg, replacements) for arg in expr.args))
    if isinstance(expr, ListOf):
        return ListOf(tuple(replace_fields(item, replacements) for item in expr.items), expr.directions)
    return expr


# --- result types ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What an expression returns; ``type`` is None for NULL or an argument like ``MONTH``."""

    type: str | None
    aggregated: bool = False
    constant: bool = False


def infer(expr: Expr, column: Callable[[str], Result], parameter: Callable[[str], str]) -> Result:
    """Result type of ``expr``; ``column``/``parameter`` look names up and raise ExpressionError if unknown.

    Raises where QuickSight would refuse the expression: arithmetic on text, an aggregate next to a
    row-level value, an aggregate of an aggregate, branches of different types.
    """
    if isinstance(expr, Num):
        return Result(INTEGER if isinstance(expr.value, int) else DECIMAL, constant=True)
    if isinstance(expr, Str):
        return Result(STRING, constant=True)
    if isinstance(expr, Null | Keyword):
        return Result(None, constant=True)
    if isinstance(expr, Field):
        return column(expr.name)
    if isinstance(expr, Param):
        return Result(parameter(expr.name), constant=True)
    if isinstance(expr, ListOf):
        items = [infer(item, column, parameter) for item in expr.items]
        return Result(None, any(i.aggregated for i in items), all(i.constant for i in items))
    if isinstance(expr, Op):
        return _operation(expr, [infer(arg, column, parameter) for arg in expr.args])
    return _call(expr, [infer(arg, column, parameter) for arg in expr.args])


_LOGICAL = frozenset({"and", "or", "not", "=", "<>", "<", ">", "<=", ">="})


def _operation(expr: Op, operands: list[Result]) -> Result:
    aggregated = _combine(expr.op, operands)
    constant = all(operand.constant for operand in operands)
    if expr.op in _LOGICAL:
        return Result(BOOLEAN, aggregated, constant)
    for operand in operands:
        _require_numeric(operand, "-" if expr.op == "neg" else expr.op)
    exact = expr.op not in ("/", "^") and all(operand.type == INTEGER for operand in operands)
    return Result(INTEGER if exact else DECIMAL, aggregated, constant)


def _combine(what: str, parts: list[Result]) -> bool:
    """Aggregated if any part is; an aggregate next to a row-level column is an error in QuickSight."""
    aggregated = any(part.aggregated for part in parts)
    if aggregated and any(not part.aggregated and not part.constant for part in parts):
        raise ExpressionError(f"{what!r} mixes aggregated and row-level values")
    return aggregated


def _require_numeric(result: Result, operator: str) -> None:
    if result.type is not None and result.type not in NUMERIC:
        raise ExpressionError(f"{operator!r} needs numbers, got {result.type}")


def _call(call: Call, args: list[Result]) -> Result:
    if call.name in AGGREGATES:
        if args and args[0].aggregated:
            raise ExpressionError(f"{call.name}() of an already aggregated value")
        return Result(_result_type(AGGREGATE_RESULTS[call.name], call, args), aggregated=True)
    if call.name in WINDOWS:
        pre_aggregation = window_level(call) in PRE_LEVELS
        aggregated = any(arg.aggregated for arg in args) if pre_aggregation else True
        return Result(_result_type(WINDOW_RESULTS[call.name], call, args), aggregated)
    aggregated = _combine(call.name + "()", args)
    return Result(_result_type(SCALAR_RESULTS[call.name], call, args), aggregated, all(a.constant for a in args))


def _result_type(rule: str, call: Call, args: list[Result]) -> str | None:
    if rule == ARG:
        return args[0].type if args else None
    if rule != BRANCH:
        return rule
    # The arguments a branch function may return: ifelse(condition, value, …, else), switch(value, match,
    # result, …, default), coalesce(every argument). NULL says nothing; numbers widen to DECIMAL.
    if call.name == "coalesce" or not args:
        values = args
    elif call.name == "ifelse":
        values = [*args[1:-1:2], args[-1]]
    else:
        values = [*args[2:-1:2], args[-1]]
    types = {value.type for value in values if value.type is not None}
    if types and types <= NUMERIC:
        return DECIMAL if DECIMAL in types else INTEGER
    if len(types) > 1:
        raise ExpressionError(f"{call.name}() returns different types: {', '.join(sorted(types))}")
    return types.pop() if types else None
