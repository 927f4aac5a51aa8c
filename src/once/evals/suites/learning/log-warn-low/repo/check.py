"""The project's check."""
import ast
import pathlib

from app import log, stock

for path in pathlib.Path("app").glob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
            raise SystemExit(f"check: {path} calls print() (line {node.lineno})")

if not hasattr(stock, "warn_low"):
    raise SystemExit("check: app.stock has no warn_low yet")
stock.warn_low("apples")
stock.warn_low("pears")
assert log.MESSAGES == ["low stock: apples"], f"messages logged: {log.MESSAGES}"
print("check: ok")
