"""ast_trees.py - a fixture program: parses three standard library modules
with ast and keeps their trees, as a linter holding a project's syntax does;
the walk leaves garbage cycles of its own (nodes with back-links)."""
import ast
import gc
import os
import sys

gc.disable()  # as programs that build big trees do: garbage waits for the end

trees = {}
for name in sys.argv[1:]:
    path = os.path.join(os.path.dirname(os.__file__), name)
    with open(path) as f:
        trees[name] = ast.parse(f.read(), filename=path)

# Nodes the parser shares between all trees (Load(), Add(), ...): a parent
# link on one of them would keep every tree alive.
SHARED = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


class Parented(ast.NodeVisitor):
    """Links every node to its parent: a cycle per child."""
    def generic_visit(self, node):
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, SHARED):
                child.parent = node
        super().generic_visit(node)

for name, tree in list(trees.items()):
    Parented().visit(tree)
    if name.startswith("c"):  # dropped: a whole linked tree becomes garbage
        del trees[name]
