#!/usr/bin/env python3
"""Writes dict/wire.dict, libFuzzer's dictionary for sync_push and sync_pull: every key and
snake_case value of the protocol snapshots, plus JSON punctuation and edge numbers. Run
from fuzz/."""
import glob
import json
import re

keys, values = set(), set()


def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            keys.add(k)
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
    elif isinstance(x, str) and re.fullmatch(r'[a-z][a-z0-9_]{1,30}', x):
        values.add(x)


for path in glob.glob('../core/domain/src/protocol/snapshots/*.snap'):
    walk(json.loads(open(path, encoding='utf-8').read().split('---\n', 2)[2]))
lines = ['# JSON tokens of the wire format: every key and enum value of the protocol snapshots',
         '# (core/domain/src/protocol/snapshots), for sync_push and sync_pull. Generated; see README.md.']
lines += [f'"\\"{k}\\":"' for k in sorted(keys)]
lines += [f'"\\"{v}\\""' for v in sorted(values - keys)]
for token in ['{', '}', '[', ']', ':', ',', 'null', 'true', 'false', '-0.0', '1e308',
              '-9223372036854775808', '18446744073709551615', '"00000000-0000-0000-0000-000000000000"']:
    lines.append('"' + token.replace('\\', '\\\\').replace('"', '\\"') + '"')
open('dict/wire.dict', 'w', encoding='utf-8').write('\n'.join(lines) + '\n')
