"""tables.py - a fixture program shaped like a data job: a JSON document
decoded into dicts and lists, indexed by key into a second table of
records that point back into the first, a cache of results; the rows of
one day replaced, leaving the old ones as garbage cycles."""
import json
import random

rnd = random.Random(3)
doc = json.dumps([{"id": i, "name": "item%d" % i, "tags": ["t%d" % rnd.randint(0, 9)
                                                         for _ in range(rnd.randint(0, 4))],
                   "price": rnd.random() * 100, "parts": [[i, j] for j in range(i % 4)]}
                  for i in range(4000)])
rows = json.loads(doc)

class Record:
    __slots__ = ("row", "table", "related")
    def __init__(self, row, table):
        self.row, self.table, self.related = row, table, []

table = {}
for row in rows:
    table[row["id"]] = Record(row, table)
for rec in table.values():
    rec.related = [table[rnd.randrange(len(rows))] for _ in range(rnd.randint(0, 3))]
cache = {tag: [r for r in table.values() if tag in r.row["tags"]] for tag in ("t1", "t5")}
for day in range(3):
    old = table
    table = {k: Record(r.row, None) for k, r in old.items() if k % 5}
    for r in table.values():
        r.table = table
del old
