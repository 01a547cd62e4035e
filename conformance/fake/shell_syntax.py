"""The shell language's syntax: tokenizer, parser (Simple commands and compound tuples) and word expansion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def expand_word(segments: list[tuple[str, str]], env: dict[str, str], status: int) -> str:
    out = []
    for kind, text in segments:
        out.append(text if kind == "'" else _expand(text, env, status))
    return "".join(out)


def _expand(text: str, env: dict[str, str], status: int) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "?":
            out.append(str(status))
            i += 2
        elif nxt == "$":
            out.append("1")
            i += 2
        elif nxt == "{":
            end = text.find("}", i)
            name = text[i + 2:end] if end > 0 else ""
            name, _, default = name.partition(":-")
            out.append(env.get(name) or default)
            i = end + 1 if end > 0 else len(text)
        elif nxt.isalnum() or nxt == "_":
            j = i + 1
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(env.get(text[i + 1:j], ""))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


Token = tuple[str, object]  # ("word", segments) | ("op", str)


def tokenize(script: str) -> list[Token]:
    tokens: list[Token] = []
    segments: list[tuple[str, str]] = []
    current: list[str] = []
    in_word = False
    i = 0

    def flush_text() -> None:
        if current:
            segments.append(("", "".join(current)))
            current.clear()

    def end_word() -> None:
        nonlocal in_word, segments
        flush_text()
        if in_word:
            tokens.append(("word", segments))
        segments = []
        in_word = False

    while i < len(script):
        ch = script[i]
        if ch in " \t":
            end_word()
            i += 1
        elif ch == "#" and not in_word:
            while i < len(script) and script[i] != "\n":
                i += 1
        elif ch == "\\" and i + 1 < len(script):
            if script[i + 1] == "\n":
                i += 2
                continue
            current.append(script[i + 1])
            in_word = True
            i += 2
        elif ch == "'":
            end = script.find("'", i + 1)
            end = len(script) if end < 0 else end
            flush_text()
            segments.append(("'", script[i + 1:end]))
            in_word = True
            i = end + 1
        elif ch == '"':
            j = i + 1
            buf = []
            while j < len(script) and script[j] != '"':
                if script[j] == "\\" and j + 1 < len(script) and script[j + 1] in '"\\$`':
                    buf.append(script[j + 1] if script[j + 1] != "$" else "\\$")
                    j += 2
                    continue
                buf.append(script[j])
                j += 1
            flush_text()
            segments.append(('"', "".join(buf)))
            in_word = True
            i = j + 1
        elif ch in ";\n|&<>":
            # An all-digit word right before a redirection is its fd ("2>&1").
            fd = ""
            if ch in "<>" and in_word and not segments and current and "".join(current).isdigit():
                fd = "".join(current)
                current.clear()
                in_word = False
            end_word()
            for op in ("&&", "||", ">>", ">&", "<<", ";", "\n", "|", "&", "<", ">"):
                if script.startswith(op, i):
                    tokens.append(("op", fd + op))
                    i += len(op)
                    break
        else:
            current.append(ch)
            in_word = True
            i += 1
    end_word()
    return tokens


@dataclass
class Simple:
    words: list[list[tuple[str, str]]] = field(default_factory=list)
    redirs: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)


# Compound commands: ("for", var, words, body) | ("while"/"until", cond, body) | ("if", [(cond, body)], else)
Compound = tuple
Seq = list  # [(connector, pipeline)] where a pipeline is [Simple | Compound]
KEYWORDS = {"for", "while", "until", "if", "then", "elif", "else", "fi", "do", "done", "in", "{", "}"}
_SEPARATORS = (";", "\n", "&", "&&", "||")


def _literal(token: Token) -> str | None:
    """The plain text of an unquoted word token (keywords only count when unquoted)."""
    if token[0] != "word":
        return None
    segments = token[1]
    if len(segments) == 1 and segments[0][0] == "":  # type: ignore[index]
        return str(segments[0][1])  # type: ignore[index]
    return None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek_literal(self) -> str | None:
        return _literal(self.tokens[self.i]) if self.i < len(self.tokens) else None

    def skip_separators(self) -> None:
        while self.i < len(self.tokens) and self.tokens[self.i] == ("op", ";") or \
                self.i < len(self.tokens) and self.tokens[self.i] == ("op", "\n"):
            self.i += 1

    def expect(self, word: str) -> None:
        self.skip_separators()
        if self.peek_literal() != word:
            raise SyntaxError(f"syntax error: expected {word!r}")
        self.i += 1

    def parse_list(self, terminators: set[str]) -> Seq:
        items: Seq = []
        connector = ";"
        while True:
            self.skip_separators()
            if self.i >= len(self.tokens) or self.peek_literal() in terminators:
                return items
            pipeline = self.parse_pipeline()
            if pipeline:
                items.append((connector, pipeline))
            connector = ";"
            if self.i < len(self.tokens) and self.tokens[self.i][0] == "op" and self.tokens[self.i][1] in _SEPARATORS:
                op = str(self.tokens[self.i][1])
                connector = op if op in ("&&", "||") else ";"
                self.i += 1

    def parse_pipeline(self) -> list[Any]:
        stages = [self.parse_command()]
        while self.i < len(self.tokens) and self.tokens[self.i] == ("op", "|"):
            self.i += 1
            stages.append(self.parse_command())
        return [s for s in stages if s is not None]

    def parse_command(self) -> Any:
        word = self.peek_literal()
        if word == "for":
            self.i += 1
            var = self.peek_literal() or ""
            self.i += 1
            words: list[Any] = []
            if self.peek_literal() == "in":
                self.i += 1
                while self.i < len(self.tokens) and self.tokens[self.i][0] == "word":
                    words.append(self.tokens[self.i][1])
                    self.i += 1
            self.expect("do")
            body = self.parse_list({"done"})
            self.expect("done")
            return ("for", var, words, body)
        if word in ("while", "until"):
            self.i += 1
            cond = self.parse_list({"do"})
            self.expect("do")
            body = self.parse_list({"done"})
            self.expect("done")
            return (word, cond, body)
        if word == "if":
            self.i += 1
            branches = []
            otherwise: Seq = []
            while True:
                cond = self.parse_list({"then"})
                self.expect("then")
                body = self.parse_list({"elif", "else", "fi"})
                branches.append((cond, body))
                self.skip_separators()
                keyword = self.peek_literal()
                self.i += 1
                if keyword == "elif":
                    continue
                if keyword == "else":
                    otherwise = self.parse_list({"fi"})
                    self.expect("fi")
                elif keyword != "fi":
                    raise SyntaxError("syntax error: expected 'fi'")
                return ("if", branches, otherwise)
        if word == "{":
            self.i += 1
            body = self.parse_list({"}"})
            self.expect("}")
            return ("group", body)
        simple = Simple()
        while self.i < len(self.tokens):
            kind, value = self.tokens[self.i]
            if kind == "word":
                simple.words.append(value)  # type: ignore[arg-type]
            elif value in _SEPARATORS or value == "|":
                break
            else:  # redirection: the next word is its target
                target: list[tuple[str, str]] = []
                if self.i + 1 < len(self.tokens) and self.tokens[self.i + 1][0] == "word":
                    target = self.tokens[self.i + 1][1]  # type: ignore[assignment]
                    self.i += 1
                simple.redirs.append((str(value), target))
            self.i += 1
        return simple if simple.words or simple.redirs else None


def parse(script: str) -> Seq:
    """A command list: [(connector, pipeline)], connector being how it joins the previous one."""
    parser = _Parser(tokenize(script))
    seq = parser.parse_list(set())
    if parser.i < len(parser.tokens):
        raise SyntaxError(f"syntax error: unexpected {parser.peek_literal() or parser.tokens[parser.i][1]!r}")
    return seq
