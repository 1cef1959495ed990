#!/usr/bin/env python3
"""Caps a minimised corpus: keeps every seed (`gen_*`, `snap_*`) and then the inputs that
first reached the most coverage edges, up to CAP files. Reads the control file of a
libFuzzer merge (`-merge=1 -use_counters=0 -merge_control_file=FILE`), whose COV lines give
the edges each input reached first. Usage: cap_corpus.py CONTROL_FILE OUT_DIR CAP."""
import os
import shutil
import sys

control, out, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(control, encoding='utf-8').read().split('\n')
count = int(lines[0])
files = lines[2:2 + count]
edges = {}
for line in lines[2 + count:]:
    parts = line.split()
    if parts and parts[0] == 'COV':
        edges[int(parts[1])] = len(parts) - 2
seeds = [i for i, f in enumerate(files) if os.path.basename(f).startswith(('gen_', 'snap_'))]
found = sorted((i for i in range(count) if i not in set(seeds) and edges.get(i, 0) > 0),
               key=lambda i: (-edges[i], os.path.getsize(files[i])))
os.makedirs(out, exist_ok=True)
for i in seeds + found[:max(0, cap - len(seeds))]:
    shutil.copy(files[i], os.path.join(out, os.path.basename(files[i])))
