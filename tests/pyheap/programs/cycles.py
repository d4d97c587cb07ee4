"""cycles.py - a fixture program heavy in cycles: doubly linked lists,
object graphs with back-references, closures and bound methods that refer
to their owners, suspended generators; a third of it dropped while the
collector is off, so the heap ends with much garbage."""
import collections
import functools
import gc
import random

class Node:
    def __init__(self, value):
        self.value, self.prev, self.next = value, None, None

class Graph:
    def __init__(self, n, rnd):
        self.nodes = [Node(i) for i in range(n)]
        for a in self.nodes:
            a.edges = [rnd.choice(self.nodes) for _ in range(rnd.randint(0, 3))]
        self.on_change = self.changed  # a bound method: a cycle through the graph
    def changed(self):
        return len(self.nodes)

def chain(n):
    head = prev = Node(0)
    for i in range(1, n):
        node = Node(i)
        prev.next, node.prev = node, prev
        prev = node
    return head

def walker(graph):
    seen = set()
    for node in graph.nodes:
        seen.add(node.value)
        yield node

gc.disable()
rnd = random.Random(16)
kept = []
for i in range(60):
    graph = Graph(rnd.randint(10, 80), rnd)
    walk = walker(graph)
    next(walk)
    things = [graph, chain(rnd.randint(5, 50)), walk,
              functools.partial(graph.changed), collections.deque([graph.nodes[0]])]
    if i % 3:
        kept.append(things)
