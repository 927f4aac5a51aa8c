"""Top-level symbols and leading doc via tree-sitter (Python, JavaScript, TypeScript, TSX).

Only the top of the tree is walked (plus class bodies and top-level `if`/`try`
blocks), which keeps a parse-and-extract around a millisecond per file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from once.index.symbols import FileSummary, Symbol

Node = Any  # tree_sitter.Node; the module is imported lazily


@lru_cache(maxsize=None)
def _parser(language: str) -> Any:
    import tree_sitter

    if language == "python":
        import tree_sitter_python as grammar

        lang = grammar.language()
    elif language == "javascript":
        import tree_sitter_javascript as grammar

        lang = grammar.language()
    else:
        import tree_sitter_typescript as grammar

        lang = grammar.language_tsx() if language == "tsx" else grammar.language_typescript()
    return tree_sitter.Parser(tree_sitter.Language(lang))


def extract_tree(language: str, data: bytes) -> FileSummary | None:
    """None when the grammar is not installed (the caller falls back to patterns)."""
    try:
        parser = _parser(language)
    except ImportError:
        return None
    root = parser.parse(data).root_node
    if language == "python":
        symbols: list[Symbol] = []
        _python_block(root, "", symbols, depth=0)
        return FileSummary(language, symbols, _python_doc(root))
    symbols = []
    for child in root.named_children:
        _js_statement(child, symbols, exported=False)
    return FileSummary(language, symbols, _leading_comments(root))


def _text(node: Node | None) -> str:
    return "" if node is None else node.text.decode("utf-8", errors="replace")


def _symbol(name: str, kind: str, node: Node) -> Symbol:
    return Symbol(name, kind, node.start_point.row + 1, node.end_point.row + 1)


# ---- Python -------------------------------------------------------------------------

_PY_NESTED = ("if_statement", "try_statement", "with_statement", "else_clause", "elif_clause",
              "except_clause", "finally_clause", "block")


def _python_block(block: Node, owner: str, out: list[Symbol], depth: int) -> None:
    """Definitions directly in `block`; `owner` is the enclosing class ("" at module level)."""
    for node in block.named_children:
        outer = node
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        if node.type in ("function_definition", "class_definition"):
            name = _text(node.child_by_field_name("name"))
            if not name:
                continue
            is_class = node.type == "class_definition"
            kind = "class" if is_class else ("method" if owner else "function")
            qualified = f"{owner}.{name}" if owner else name
            out.append(_symbol(qualified, kind, outer))
            body = node.child_by_field_name("body")
            if is_class and body is not None and owner.count(".") < 1:
                _python_block(body, qualified, out, depth=0)
        elif not owner and node.type == "expression_statement":
            _python_assignment(node, out)
        elif not owner and node.type in _PY_NESTED and depth < 3:
            _python_block(node, owner, out, depth + 1)


def _python_assignment(statement: Node, out: list[Symbol]) -> None:
    for child in statement.named_children:
        if child.type == "assignment":
            target = child.child_by_field_name("left")
            if target is not None and target.type == "identifier":
                out.append(_symbol(_text(target), "variable", statement))


def _python_doc(root: Node) -> str:
    for node in root.named_children:
        if node.type == "comment":
            continue
        if node.type == "expression_statement" and node.named_child_count == 1:
            string = node.named_children[0]
            if string.type == "string":
                return "".join(_text(part) for part in string.named_children if part.type == "string_content")
        break
    return _leading_comments(root)


# ---- JavaScript / TypeScript ---------------------------------------------------------

_JS_KINDS = {
    "function_declaration": "function", "generator_function_declaration": "function",
    "class_declaration": "class", "abstract_class_declaration": "class",
    "interface_declaration": "interface", "type_alias_declaration": "type",
    "enum_declaration": "enum", "internal_module": "module", "module": "module",
}
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "class",
                              "generator_function", "call_expression"})


def _js_statement(node: Node, out: list[Symbol], exported: bool) -> None:
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            _js_statement(declaration, out, exported=True)
        return
    if node.type in ("ambient_declaration", "expression_statement"):
        for child in node.named_children:
            if child.type in ("internal_module", "module") or child.type in _JS_KINDS:
                _js_statement(child, out, exported)
        return
    kind = _JS_KINDS.get(node.type)
    if kind is not None:
        name = _text(node.child_by_field_name("name")).strip("\"'")
        if name:
            out.append(_symbol(name, kind, node))
            if kind == "class":
                _js_class_body(name, node.child_by_field_name("body"), out)
        return
    if node.type in ("lexical_declaration", "variable_declaration"):
        _js_variables(node, out, exported)


def _js_variables(node: Node, out: list[Symbol], exported: bool) -> None:
    # Exported bindings, and non-exported ones that hold a function or class
    # (`const Button = () => ...`): the names a reader would look for.
    for declarator in node.named_children:
        if declarator.type != "variable_declarator":
            continue
        name_node = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        holds_code = value is not None and value.type in _FUNCTION_VALUES
        if name_node is not None and name_node.type == "identifier" and (exported or holds_code):
            out.append(_symbol(_text(name_node), "function" if holds_code else "const", node))


def _js_class_body(owner: str, body: Node | None, out: list[Symbol]) -> None:
    if body is None:
        return
    for member in body.named_children:
        if member.type in ("method_definition", "abstract_method_signature", "method_signature"):
            name = _text(member.child_by_field_name("name"))
            if name:
                out.append(_symbol(f"{owner}.{name}", "method", member))


def _leading_comments(root: Node) -> str:
    """The comments before the first statement, markers stripped."""
    lines: list[str] = []
    for node in root.children:
        if node.type == "hash_bang_line" or (node.type == "comment" and node.text.startswith(b"#!")):
            continue
        if node.type != "comment":
            break
        lines.extend(_strip_comment(_text(node)))
    return " ".join(line for line in lines if line)


def _strip_comment(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        for marker in ("/**", "/*", "*/", "//", "#"):
            line = line.removeprefix(marker).removesuffix("*/")
        out.append(line.strip().lstrip("*").strip())
    return out
