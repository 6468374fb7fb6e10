"""Which first-party source files a Snakemake ``script:`` runs, and a content fingerprint of each.

Snakemake reruns a ``script:`` rule when the entry script is newer than the outputs, but it does not
see the modules the script imports. :class:`CodeIndex` follows the imports of an entry script in
``workflow/scripts/`` through the ``icistop`` package (and any sibling module of the scripts),
transitively, including imports inside functions and the ``__init__.py`` of every package on the
way; third-party and standard-library imports are ignored. :meth:`CodeIndex.params` gives one
``"<path> sha256:<12 hex>"`` string per file, used as rule params: Snakemake reruns a job whose
params changed (a content change, not a new mtime) and names the changed files in the dry-run reason.

Imports are found by a line scan (``from X import ...`` / ``import X`` at the start of a line, any
indentation), each statement then parsed with :mod:`ast`: a full :func:`ast.parse` of the package
takes ~0.4 s, far more than a no-op ``snakemake`` may spend. A prose line that happens to read like
an import of a package module counts as one (conservative). Files are hashed byte for byte, so a
comment or whitespace edit reruns the rules that use the file.

This module is imported by the rule files only (workflow/rules/common.smk), never by an entry
script, so no rule depends on it: editing it reruns nothing unless the params it produces change.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from pathlib import Path

IMPORT_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<stmt>from[ \t]+[.\w]+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)",
    re.MULTILINE,
)


def import_statements(source: str) -> list[tuple[bool, ast.Import | ast.ImportFrom]]:
    """Every import statement of ``source`` as ``(indented, node)``; ``indented`` is True for an import
    not at column 0 (inside a function, class, ``if`` or ``try``)."""
    found = []
    for match in IMPORT_LINE.finditer(source):
        try:
            body = ast.parse(match["stmt"]).body
        except SyntaxError:  # prose in a docstring, or a statement this scan does not cover
            # e.g. a ")" in a comment inside "from x import (...)": keep at least the module x
            head = re.match(r"from[ \t]+([.\w]+)[ \t]+import\b", match["stmt"])
            try:
                body = ast.parse(f"from {head[1]} import *").body if head else []
            except SyntaxError:
                continue
        if body and isinstance(body[0], (ast.Import, ast.ImportFrom)):
            found.append((bool(match["indent"]), body[0]))
    return found


class CodeIndex:
    """Import graph and fingerprints of the Python files under ``scripts_dir``, cached per file.

    ``root`` is the directory the reported paths are relative to (the workflow's top directory), so
    the params do not change when the checkout moves. Create one per Snakemake invocation.
    """

    def __init__(self, scripts_dir, root=None):
        self.scripts_dir = Path(scripts_dir).resolve()
        self.root = Path(root).resolve() if root is not None else self.scripts_dir
        self.modules = self._module_files()
        self._imports: dict[str, list[tuple[bool, set[str]]]] = {}
        self._bytes: dict[Path, bytes] = {}
        self._digests: dict[Path, str] = {}
        self._closure: dict[tuple, list[Path]] = {}

    def _module_files(self) -> dict[str, Path]:
        """Importable name -> file: top-level modules of scripts_dir and every package below it."""
        modules = {p.stem: p for p in self.scripts_dir.glob("*.py")}
        for dirpath, dirnames, filenames in os.walk(self.scripts_dir):
            dirnames[:] = sorted(d for d in dirnames if (Path(dirpath, d) / "__init__.py").is_file())
            rel = Path(dirpath).relative_to(self.scripts_dir)
            if rel == Path("."):
                continue
            package = ".".join(rel.parts)
            for name in filenames:
                if name.endswith(".py"):
                    stem = name[:-3]
                    modules[package if stem == "__init__" else f"{package}.{stem}"] = Path(dirpath, name)
        return modules

    def _package_of(self, module: str) -> str:
        path = self.modules.get(module)
        if path is not None and path.name == "__init__.py":
            return module
        return module.rpartition(".")[0]

    def _with_parents(self, module: str) -> set[str]:
        """The module and every package whose ``__init__.py`` importing it runs, if first-party."""
        parts = module.split(".")
        return {name for i in range(1, len(parts) + 1) if (name := ".".join(parts[:i])) in self.modules}

    def direct_imports(self, module: str) -> list[tuple[bool, set[str]]]:
        """First-party modules each import statement of ``module`` runs, as ``(indented, modules)``."""
        if module in self._imports:
            return self._imports[module]
        source = self._read(self.modules[module]).decode("utf-8")
        result = []
        for indented, node in import_statements(source):
            targets = set()
            if isinstance(node, ast.Import):
                for alias in node.names:
                    targets |= self._with_parents(alias.name)
            else:
                if node.level:
                    base = self._package_of(module)
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    full = f"{base}.{node.module}" if node.module else base
                else:
                    full = node.module
                targets |= self._with_parents(full)
                for alias in node.names:  # ``from pkg import submodule``
                    if f"{full}.{alias.name}" in self.modules:
                        targets |= self._with_parents(f"{full}.{alias.name}")
            if targets:
                result.append((indented, targets))
        self._imports[module] = result
        return result

    def lazy_imports(self, script: str) -> set[str]:
        """First-party modules imported by indented statements (e.g. inside functions) of an entry script."""
        return set().union(*(t for indented, t in self.direct_imports(Path(script).stem) if indented))

    def files(self, scripts=(), dispatch=(), extra=()) -> list[Path]:
        """Sorted files the entry ``scripts`` (names in scripts_dir) run, plus ``extra`` files.

        ``dispatch``: an entry script that imports one of several modules inside a function, chosen by
        a param (report_section.py builds one report section per rule), depends only on the named
        module(s): its indented first-party imports are replaced by ``dispatch``, each of which must be
        one of them. Imports of module-level code and of every package module are always followed.
        """
        key = (tuple(scripts), tuple(dispatch), tuple(extra))
        if key in self._closure:
            return self._closure[key]
        todo = []
        for script in scripts:
            entry = Path(script).stem
            if self.modules.get(entry) != self.scripts_dir / f"{entry}.py":
                raise ValueError(f"{script} is not a script in {self.scripts_dir}")
            todo.append(entry)
            statements = self.direct_imports(entry)
            if dispatch:
                lazy = self.lazy_imports(script)
                unknown = set(dispatch) - lazy
                if unknown:
                    raise ValueError(f"{script} imports no {', '.join(sorted(unknown))} inside a function; "
                                     f"dispatch must name one of: {', '.join(sorted(lazy))}")
                statements = [(i, t) for i, t in statements if not i]
                todo += [m for name in dispatch for m in sorted(self._with_parents(name))]
            todo += [m for _, targets in statements for m in sorted(targets)]
        seen = set()
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            if module not in {Path(s).stem for s in scripts}:
                todo += [m for _, targets in self.direct_imports(module) for m in targets]
        files = sorted({self.modules[m] for m in seen} | {Path(f).resolve() for f in extra})
        self._closure[key] = files
        return files

    def _read(self, path: Path) -> bytes:
        """The file's bytes, read once: the import scan and the digest see the same content."""
        if path not in self._bytes:
            self._bytes[path] = path.read_bytes()
        return self._bytes[path]

    def digest(self, path: Path) -> str:
        """``sha256:`` and the first 12 hex digits of the file's bytes."""
        path = Path(path)
        if path not in self._digests:
            self._digests[path] = "sha256:" + hashlib.sha256(self._read(path)).hexdigest()[:12]
        return self._digests[path]

    def params(self, scripts=(), dispatch=(), extra=()) -> dict[str, str]:
        """Rule params, one per file: ``code_<name>`` -> ``"<path relative to root> sha256:<12 hex>"``, where
        name is the path under scripts_dir (else under root) with every non-word character replaced by ``_``."""
        out = {}
        for path in self.files(scripts, dispatch, extra):
            rel = os.path.relpath(path, self.root).replace(os.sep, "/")
            short = path.relative_to(self.scripts_dir).as_posix() if path.is_relative_to(self.scripts_dir) else rel
            out["code_" + re.sub(r"\W", "_", short)] = f"{rel} {self.digest(path)}"
        return out
