"""What the index knows about one file: its language, top-level symbols and leading doc.

Python, JavaScript and TypeScript are parsed with tree-sitter; other languages use
the line-based patterns in `fallback`. Extraction never raises on odd input: a file
that cannot be understood simply has no symbols.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

MAX_SYMBOLS = 2000
MAX_DOC_CHARS = 1000

# Extension (or exact file name) -> language. Anything else is "text" when it decodes.
LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java", ".kt": "kotlin", ".kts": "kotlin",
    ".scala": "scala", ".cs": "csharp", ".swift": "swift",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp",
    ".hh": "cpp", ".hxx": "cpp", ".m": "objc", ".mm": "objc",
    ".rb": "ruby", ".rake": "ruby", ".php": "php", ".pl": "perl", ".pm": "perl",
    ".lua": "lua", ".ex": "elixir", ".exs": "elixir", ".erl": "erlang", ".hs": "haskell",
    ".ml": "ocaml", ".clj": "clojure", ".dart": "dart", ".r": "r", ".jl": "julia",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".fish": "shell",
    ".sql": "sql", ".proto": "protobuf", ".vue": "vue", ".svelte": "svelte",
    ".md": "markdown", ".markdown": "markdown", ".rst": "rst", ".txt": "text",
    ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".ini": "ini",
    ".cfg": "ini", ".html": "html", ".css": "css", ".scss": "css", ".xml": "xml",
}
NAMES: dict[str, str] = {
    "Makefile": "make", "makefile": "make", "GNUmakefile": "make", "Dockerfile": "docker",
    "Rakefile": "ruby", "Gemfile": "ruby", "CMakeLists.txt": "cmake", "BUILD": "bazel",
}
TREE_SITTER = frozenset({"python", "javascript", "typescript", "tsx"})


@dataclass(frozen=True)
class Symbol:
    name: str
    """`parse_args`, or `Class.method` for a method."""
    kind: str
    """function, class, method, variable, const, interface, type, enum, module, heading..."""
    line: int
    """1-based first line (decorators included)."""
    end_line: int

    def to_json(self) -> list[object]:
        return [self.name, self.kind, self.line, self.end_line]

    @classmethod
    def from_json(cls, item: list[object]) -> "Symbol":
        name, kind, line, end = item
        return cls(str(name), str(kind), int(line), int(end))  # type: ignore[call-overload]


@dataclass
class FileSummary:
    language: str
    symbols: list[Symbol] = field(default_factory=list)
    doc: str = ""


def language_for(path: str) -> str:
    """The language of a repo-relative path, by name then extension; "text" otherwise."""
    name = PurePosixPath(path).name
    if name in NAMES:
        return NAMES[name]
    return LANGUAGES.get(PurePosixPath(name).suffix.lower(), "text")


def is_binary(data: bytes) -> bool:
    """Git's test: a NUL byte in the first 8 KB."""
    return b"\0" in data[:8192]


def extract(path: str, data: bytes) -> FileSummary:
    """Symbols and leading doc of a (non-binary) file."""
    language = language_for(path)
    summary: FileSummary | None = None
    if language in TREE_SITTER:
        from once.index.treesitter import extract_tree

        summary = extract_tree(language, data)
    if summary is None:
        from once.index.fallback import extract_regex

        summary = extract_regex(language, data.decode("utf-8", errors="replace"))
    summary.symbols = summary.symbols[:MAX_SYMBOLS]
    summary.doc = " ".join(summary.doc.split())[:MAX_DOC_CHARS]
    return summary
