"""Where a YAML slip is, as an operator can act on it: a line, a column and one sentence.

ruamel's own message spans several lines with a caret and often points past the mistake: an
unclosed `[` is only noticed at the next key, lines later. For an unclosed bracket or quote the
place to fix is where it opened, which ruamel keeps as the error's context mark.
"""

from __future__ import annotations

from ruamel.yaml.error import MarkedYAMLError, YAMLError

# ruamel's context for a construct left open, and what to tell the operator about it.
_OPENED = {
    "while parsing a flow sequence": "a '[' that is never closed; add the missing ']'",
    "while parsing a flow mapping": "a '{' that is never closed; add the missing '}'",
    "while scanning a quoted scalar": "a quote that is never closed; add the closing quote",
}


def yaml_problem(exc: YAMLError) -> tuple[int, int, str]:
    """(line, column, reason) of a YAML syntax error, 1-based; (1, 1) when ruamel gives no place."""
    if not isinstance(exc, MarkedYAMLError):
        return 1, 1, str(exc)
    opened = _OPENED.get(exc.context or "")
    if opened is not None and exc.context_mark is not None:
        return exc.context_mark.line + 1, exc.context_mark.column + 1, opened
    mark = exc.problem_mark or exc.context_mark
    reason = f"{exc.problem or exc.context or 'invalid YAML'}; check indentation"
    return (mark.line + 1, mark.column + 1, reason) if mark is not None else (1, 1, reason)


__all__ = ["yaml_problem"]
