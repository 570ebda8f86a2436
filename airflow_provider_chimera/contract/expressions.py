"""User-written SQL in an intent (a ``failed_rows`` check's ``expression``) is exactly one
expression over the columns of the rows checked: no second statement, no comment, no query.

Soda puts the expression into ``SELECT ... FROM <dataset> WHERE (<expression>)``. A ``;`` would
start a second statement, a comment could hide the rest of Soda's query, and a sub-query or
table function could read another relation (or rename what the automatic checks read), so none
of these is allowed. The text is tokenized and parsed with sqlglot's DuckDB dialect (DuckDB runs
the checks), which knows string literals, quoted identifiers and dollar quoting exactly as DuckDB
does; a hand-made tokenizer would have to re-implement all of them. ``validate`` rejects such an
expression and ``governance.soda`` checks it again before any engine sees it, so an intent that
bypassed ``validate`` cannot run it either.
"""

from __future__ import annotations

EXPRESSION_MAX = 4000
# Functions that read or reach outside the rows checked (files, settings, the environment, other queries).
_FORBIDDEN_FUNCTIONS = ("read_", "_scan", "glob", "getenv", "current_setting", "query", "sniff_csv", "parquet_",
                        "load", "install", "attach", "copy", "export", "import", "pragma", "system", "shell")


def expression_problem(text: str) -> str | None:
    """Why ``text`` is not one SQL expression a check may run, or ``None`` when it is one."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
    from sqlglot.tokens import TokenType

    if len(text) > EXPRESSION_MAX:
        return f"the expression is longer than {EXPRESSION_MAX} characters"
    dialect = sqlglot.Dialect.get_or_raise("duckdb")
    try:
        tokens = dialect.tokenize(text)
    except TokenError as exc:
        return f"the expression cannot be read: {str(exc).splitlines()[0]}"
    if any(token.comments for token in tokens):
        return "the expression holds a comment (-- or /* */); comments are not allowed in a check"
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        return "the expression holds ';': a check is one expression, never a second statement"
    try:
        parsed = [tree for tree in dialect.parse(text) if tree is not None]
    except ParseError as exc:
        return f"the expression is no SQL expression: {str(exc).splitlines()[0]}"
    if len(parsed) != 1:
        return "a check is exactly one expression"
    tree = parsed[0]
    if isinstance(tree, (exp.Query, exp.Command, exp.DDL, exp.DML)) or not isinstance(tree, exp.Expression):
        return f"the expression is a {tree.key.upper()} statement; a check is one expression over the row's columns"
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.Table, exp.Command, exp.DDL, exp.DML)):
            return "the expression holds a query; a check reads only the columns of the rows it checks"
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if any(part in name for part in _FORBIDDEN_FUNCTIONS):
                return f"the expression calls {name}(), which reads outside the rows checked"
    return None
