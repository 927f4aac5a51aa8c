"""The project's check."""
import ast
import pathlib

from app import log, stock

for path in pathlib.Path("app").glob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
            raise SystemExit(f"check: {path} calls print() (line {node.lineno})")

if not hasattr(stock, "restock"):
    raise SystemExit("check: app.stock has no restock yet")
stock.restock("apples", 10)
assert stock.level("apples") == 13, stock.level("apples")
assert log.MESSAGES == ["restocked apples to 13"], f"messages logged: {log.MESSAGES}"
print("check: ok")
