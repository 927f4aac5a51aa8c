"""The project's check."""
import ast
import pathlib

from app import log, stock

for path in pathlib.Path("app").glob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
            raise SystemExit(f"check: {path} calls print() (line {node.lineno})")

if not hasattr(stock, "remove"):
    raise SystemExit("check: app.stock has no remove yet")
stock.remove("pears")
assert "pears" not in stock.LEVELS
assert log.MESSAGES == ["removed pears"], f"messages logged: {log.MESSAGES}"
print("check: ok")
