#!/usr/bin/env python3
"""Copies the protocol's insta snapshots (core/domain/src/protocol/snapshots) into the
corpus as compact JSON: messages the server decodes to corpus/sync_push, those the phone
decodes to corpus/sync_pull (with the feed entries and acknowledgements of the sync answer
on their own). Run from fuzz/."""
import glob
import json
import os

SNAPSHOTS = '../core/domain/src/protocol/snapshots'
PUSH = ('fact_', 'sync_request', 'login_request')
PULL = ('record_', 'sync_response', 'login_response', 'blob_status', 'missing_blob', 'error_body')


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'))


for path in sorted(glob.glob(SNAPSHOTS + '/*.snap')):
    name = os.path.basename(path).split('snapshot_tests__')[1].replace('_wire_format.snap', '')
    data = json.loads(open(path, encoding='utf-8').read().split('---\n', 2)[2])
    target = 'sync_push' if name.startswith(PUSH) else 'sync_pull' if name.startswith(PULL) else None
    if target is None:
        continue
    open(f'corpus/{target}/snap_{name}.json', 'w', encoding='utf-8').write(compact(data))
    if name == 'sync_response':
        for i, entry in enumerate(data.get('feed', [])):
            open(f'corpus/sync_pull/snap_feed_entry_{i}.json', 'w', encoding='utf-8').write(compact(entry))
        for i, ack in enumerate(data.get('acks', []) + data.get('doc_acks', [])):
            open(f'corpus/sync_pull/snap_ack_{i}.json', 'w', encoding='utf-8').write(compact(ack))
