"""QuickSight calculated-field expressions: parsed far enough to know what they reference and what they return.

The dashboard validator needs three answers for every calculated field: which columns and parameters it
reads (they must exist), its result type (a visual wraps it as a numerical, categorical or date field, and a
mismatch fails the deploy), and whether it is aggregated (an aggregated field must not be aggregated again
by the visual). The grammar is QuickSight's: ``{column}``, ``${Parameter}``, ``'text'``, numbers, ``NULL``,
``true``/``false``, arithmetic, comparisons, ``AND``/``OR``/``NOT``, function calls and ``[...]`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Result types, named like QuickSight's column types.
STRING, INTEGER, DECIMAL, DATETIME, BOOLEAN = "STRING", "INTEGER", "DECIMAL", "DATETIME", "BOOLEAN"
NUMERIC = frozenset({INTEGER, DECIMAL})

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<param>\$\{[^}]*\})
    | (?P<column>\{[^}]*\})
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><>|!=|<=|>=|[-+*/^=<>(),\[\]])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT"}


class ExpressionError(ValueError):
    """An expression that does not parse, references something unknown, or mixes incompatible types."""


@dataclass(frozen=True)
class Node:
    kind: str  # number, string, boolean, null, column, param, name, call, list, unary, binary
    value: str = ""
    children: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Result:
    """What an expression returns; ``type`` is None for NULL or an argument like ``MONTH``."""

    type: str | None
    aggregated: bool = False
    constant: bool = False


def parse(text: str) -> Node:
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    node = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()[1]!r} in {text!r}")
    return node


def references(node: Node, kind: str) -> set[str]:
    """Names of every ``column`` or ``param`` the expression mentions."""
    found = {node.value} if node.kind == kind else set()
    for child in node.children:
        found |= references(child, kind)
    return found


def infer(node: Node, column: Callable[[str], Result], parameter: Callable[[str], str]) -> Result:
    """Result type of ``node``; ``column``/``parameter`` look names up and raise ExpressionError if unknown."""
    kind = node.kind
    if kind == "number":
        return Result(DECIMAL if any(c in node.value for c in ".eE") else INTEGER, constant=True)
    if kind == "string":
        return Result(STRING, constant=True)
    if kind == "boolean":
        return Result(BOOLEAN, constant=True)
    if kind in ("null", "name"):
        return Result(None, constant=True)
    if kind == "column":
        return column(node.value)
    if kind == "param":
        return Result(parameter(node.value), constant=True)
    if kind == "list":
        items = [infer(child, column, parameter) for child in node.children]
        return Result(None, aggregated=any(item.aggregated for item in items), constant=all(i.constant for i in items))
    if kind == "unary":
        operand = infer(node.children[0], column, parameter)
        if node.value == "NOT":
            return Result(BOOLEAN, operand.aggregated, operand.constant)
        _require_numeric(operand, node.value)
        return operand
    if kind == "binary":
        return _binary(node, column, parameter)
    return _call(node, column, parameter)


def _binary(node: Node, column: Callable[[str], Result], parameter: Callable[[str], str]) -> Result:
    left, right = (infer(child, column, parameter) for child in node.children)
    aggregated = _combine(node, left, right)
    constant = left.constant and right.constant
    if node.value in ("AND", "OR", "=", "<>", "!=", "<", ">", "<=", ">="):
        return Result(BOOLEAN, aggregated, constant)
    _require_numeric(left, node.value)
    _require_numeric(right, node.value)
    exact = node.value != "/" and INTEGER == left.type == right.type
    return Result(INTEGER if exact else DECIMAL, aggregated, constant)


def _combine(node: Node, *parts: Result) -> bool:
    """Aggregated if any part is; an aggregate next to a row-level column is an error in QuickSight."""
    aggregated = any(part.aggregated for part in parts)
    if aggregated and any(not part.aggregated and not part.constant for part in parts):
        raise ExpressionError(f"{node.value!r} mixes aggregated and row-level values")
    return aggregated


def _require_numeric(result: Result, operator: str) -> None:
    if result.type is not None and result.type not in NUMERIC:
        raise ExpressionError(f"{operator!r} needs numbers, got {result.type}")


# Function name (lower case) -> result type: a type, "arg" for the first argument's, "branch" for ifelse's.
_SCALAR: dict[str, str] = {
    "ifelse": "branch",
    "coalesce": "branch",
    "nullif": "arg",
    "abs": "arg",
    "isnull": BOOLEAN,
    "isnotnull": BOOLEAN,
    "in": BOOLEAN,
    "notin": BOOLEAN,
    "contains": BOOLEAN,
    "startswith": BOOLEAN,
    "endswith": BOOLEAN,
    "datediff": INTEGER,
    "extract": INTEGER,
    "strlen": INTEGER,
    "locate": INTEGER,
    "parseint": INTEGER,
    "decimaltoint": INTEGER,
    "mod": INTEGER,
    "adddatetime": DATETIME,
    "addworkdays": DATETIME,
    "truncdate": DATETIME,
    "now": DATETIME,
    "parsedate": DATETIME,
    "epochdate": DATETIME,
    "formatdate": STRING,
    "tostring": STRING,
    "concat": STRING,
    "substring": STRING,
    "left": STRING,
    "right": STRING,
    "tolower": STRING,
    "toupper": STRING,
    "trim": STRING,
    "ltrim": STRING,
    "rtrim": STRING,
    "replace": STRING,
    "split": STRING,
    "round": DECIMAL,
    "floor": DECIMAL,
    "ceil": DECIMAL,
    "exp": DECIMAL,
    "ln": DECIMAL,
    "log": DECIMAL,
    "sqrt": DECIMAL,
    "parsedecimal": DECIMAL,
    "inttodecimal": DECIMAL,
}
_AGGREGATE: dict[str, str] = {
    "sum": "arg",
    "min": "arg",
    "max": "arg",
    "avg": DECIMAL,
    "median": DECIMAL,
    "percentile": DECIMAL,
    "percentilecont": DECIMAL,
    "percentiledisc": "arg",
    "stdev": DECIMAL,
    "stdevp": DECIMAL,
    "var": DECIMAL,
    "varp": DECIMAL,
    "count": INTEGER,
    "distinct_count": INTEGER,
    "sumif": "arg",
    "minif": "arg",
    "maxif": "arg",
    "avgif": DECIMAL,
    "countif": INTEGER,
    "distinct_countif": INTEGER,
}


# Window and period functions run after aggregation: they take aggregated values, and their result cannot
# be aggregated again by a visual.
_WINDOW: dict[str, str] = {
    "sumover": "arg",
    "minover": "arg",
    "maxover": "arg",
    "avgover": DECIMAL,
    "countover": INTEGER,
    "runningsum": "arg",
    "percentoftotal": DECIMAL,
    "rank": INTEGER,
    "denserank": INTEGER,
    "lag": "arg",
    "lead": "arg",
    "periodoverperioddifference": "arg",
    "periodoverperiodlastvalue": "arg",
    "periodoverperiodpercentdifference": DECIMAL,
    "periodtodatesum": "arg",
}


def _call(node: Node, column: Callable[[str], Result], parameter: Callable[[str], str]) -> Result:
    name = node.value.lower()
    args = [infer(child, column, parameter) for child in node.children]
    if name in _AGGREGATE:
        if args and args[0].aggregated:
            raise ExpressionError(f"{node.value}() of an already aggregated value")
        return Result(_result_type(_AGGREGATE[name], node, args), aggregated=True)
    if name in _WINDOW:
        return Result(_result_type(_WINDOW[name], node, args), aggregated=True)
    if name not in _SCALAR:
        raise ExpressionError(f"unknown function {node.value}() (add its result type to bcr.quicksight.expressions)")
    aggregated = _combine(node, *args)
    return Result(_result_type(_SCALAR[name], node, args), aggregated, all(arg.constant for arg in args))


def _result_type(rule: str, node: Node, args: list[Result]) -> str | None:
    if rule == "arg":
        return args[0].type if args else None
    if rule != "branch":
        return rule
    # ifelse(condition, value, [condition, value, ...] else): the values are the odd arguments and the last;
    # coalesce: every argument. A NULL branch says nothing; numbers widen to DECIMAL.
    values = args if node.value.lower() == "coalesce" else [*args[1::2], args[-1]]
    types = {value.type for value in values if value.type is not None}
    if types <= NUMERIC and types:
        return DECIMAL if DECIMAL in types else INTEGER
    if len(types) > 1:
        raise ExpressionError(f"{node.value}() returns different types: {', '.join(sorted(types))}")
    return types.pop() if types else None


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:].strip()[:20]!r} in {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: OR < AND < NOT < comparison < + - < * / < ^ < unary minus < primary."""

    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens, self.text, self.index = tokens, text, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"{self.text!r} ends too early")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "name" and _KEYWORDS.get(token[1].lower()) == word:
            self.index += 1
            return True
        return False

    def operator(self, *symbols: str) -> str | None:
        token = self.peek()
        if token and token[0] == "op" and token[1] in symbols:
            self.index += 1
            return token[1]
        return None

    def expect(self, symbol: str) -> None:
        if self.peek() is None:
            raise ExpressionError(f"{self.text!r} ends too early")
        if self.operator(symbol) is None:
            raise ExpressionError(f"expected {symbol!r} in {self.text!r}")

    def expression(self) -> Node:
        node = self.conjunction()
        while self.keyword("OR"):
            node = Node("binary", "OR", (node, self.conjunction()))
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.keyword("AND"):
            node = Node("binary", "AND", (node, self.negation()))
        return node

    def negation(self) -> Node:
        if self.keyword("NOT"):
            return Node("unary", "NOT", (self.negation(),))
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        while symbol := self.operator("=", "<>", "!=", "<", ">", "<=", ">="):
            node = Node("binary", symbol, (node, self.additive()))
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while symbol := self.operator("+", "-"):
            node = Node("binary", symbol, (node, self.multiplicative()))
        return node

    def multiplicative(self) -> Node:
        node = self.power()
        while symbol := self.operator("*", "/"):
            node = Node("binary", symbol, (node, self.power()))
        return node

    def power(self) -> Node:
        node = self.unary()
        if self.operator("^"):
            node = Node("binary", "^", (node, self.power()))
        return node

    def unary(self) -> Node:
        if self.operator("-"):
            return Node("unary", "-", (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return Node("number", text)
        if kind == "string":
            return Node("string", text[1:-1])
        if kind == "column":
            return Node("column", text[1:-1])
        if kind == "param":
            return Node("param", text[2:-1])
        if kind == "op" and text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if kind == "op" and text == "[":
            return Node("list", "", tuple(self.arguments("]")))
        if kind == "name":
            lowered = text.lower()
            if self.operator("("):
                return Node("call", text, tuple(self.arguments(")")))
            if lowered in ("true", "false"):
                return Node("boolean", lowered)
            if lowered == "null":
                return Node("null")
            return Node("name", text)  # a bare argument such as MONTH or PRE_AGG
        raise ExpressionError(f"unexpected {text!r} in {self.text!r}")

    def arguments(self, closing: str) -> list[Node]:
        items: list[Node] = []
        if self.operator(closing):
            return items
        while True:
            items.append(self.expression())
            if self.operator(closing):
                return items
            self.expect(",")
