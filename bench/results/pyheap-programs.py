"""pyheap-programs.py - the three real programs whose heaps README's table
replays (bench/results/pyheap-2026-12-01.md), each run under
bench/pyheap_capture.py and captured at its end:

    python3 bench/pyheap_capture.py -o ast.gpugc --label "ast over the stdlib" -- \
        bench/results/pyheap-programs.py ast
    ... docutils / imports

ast       parses every module of the standard library (its packages too, not
          its tests or site-packages) with ast, Python's own parser, and keeps
          the trees, as a linter or a type checker holds a project's syntax.
docutils  docutils (the package; its version is printed) builds the document
          trees of reStructuredText made from the standard library's own
          docstrings, and keeps them, as a documentation build does.
imports   imports every standard library module and package submodule that
          can be imported without side effects (sys.stdlib_module_names and
          their submodules, less GUI, test and demo modules): the heap of a
          big application's import set.
Each leaves what garbage its own work left since the last automatic
collection, as a running program has.
"""
import importlib
import os
import pkgutil
import sys

STDLIB = os.path.dirname(os.__file__)
# Modules that open windows, print, run demos or tests, or are slow to import.
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test",
        "lib2to3", "ensurepip", "venv", "pydoc_data", "__main__", "__phello__",
        "_tkinter", "msvcrt", "winreg", "_winapi", "winsound", "nt", "_msi", "msilib"}


def stdlib_files():
    return sorted(f for f in os.listdir(STDLIB) if f.endswith(".py"))


def run_ast():
    import ast
    trees = {}
    for top, dirs, files in os.walk(STDLIB):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and d not in
                         ("site-packages", "tests", "__pycache__", "config-3.11-x86_64-linux-gnu"))
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(top, name)
                with open(path, encoding="utf-8") as f:
                    try:
                        trees[path] = ast.parse(f.read(), filename=path)
                    except SyntaxError:  # deliberately broken files of the stdlib
                        pass
    return trees


def run_docutils():
    import docutils
    import docutils.core
    import pydoc
    print("docutils", docutils.__version__)
    docs = []
    for name in stdlib_files():
        try:
            mod = importlib.import_module(name[:-3])
        except Exception:  # modules that cannot be imported here are left out
            continue
        parts = [name, "=" * len(name), "", pydoc.getdoc(mod) or "(no docstring)", ""]
        for attr in sorted(vars(mod)):
            obj = getattr(mod, attr)
            doc = pydoc.getdoc(obj) if callable(obj) else ""
            if doc and not attr.startswith("_"):
                parts += [attr, "-" * len(attr), "", doc, ""]
        docs.append(docutils.core.publish_doctree(
            "\n".join(parts), settings_overrides={"report_level": 5, "halt_level": 5}))
    return docs


def run_imports():
    mods = []
    for name in sorted(sys.stdlib_module_names):
        if name in SKIP or name.startswith("_"):
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:  # platform modules absent here
            continue
        mods.append(mod)
        for sub in pkgutil.walk_packages(getattr(mod, "__path__", []), name + ".",
                                         onerror=lambda _: None):
            if not (set(sub.name.split(".")) & SKIP or "test" in sub.name):
                try:
                    mods.append(importlib.import_module(sub.name))
                except Exception:  # needs what this machine lacks
                    pass
    return mods


if __name__ == "__main__":
    kept = {"ast": run_ast, "docutils": run_docutils, "imports": run_imports}[sys.argv[1]]()
    print("%s: %d items kept" % (sys.argv[1], len(kept)))
