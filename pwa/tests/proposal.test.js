// Proposing a household from the phone: the form's fields as a `propose_household` outbox item, checked
// on the phone first; queued offline and sent by POST /sync with its client id, like a check-in.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/lib/db.js';
import { enqueue, flush, queued, queuedCount } from '../src/lib/outbox.js';
import { knownVillages, proposalCommand } from '../src/lib/proposal.js';
import en from '../src/i18n/en.js';
import zh from '../src/i18n/zh-CN.js';

const FIELDS = {
  head_name: ' 符阿婆 ', phone: '138-1234-5678', village: '469029100201', address: '什聘村三组 5 号', size: '2',
  tags: ['empty_nest_elderly', 'hardship_resident', 'empty_nest_elderly'], notes: '独居',
};
const FIX = { lat: 18.6412, lon: 109.7013, accuracy_m: 12 };
const NOW = () => new Date('2026-03-05T01:30:00Z');

let db;
beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory(); // a fresh phone per test
  db = await openStore();
});
afterEach(() => db.close());

describe('a household proposal', () => {
  it('becomes the propose_household payload the server takes, township from the village code', () => {
    const item = proposalCommand(FIELDS, FIX, { id: 'p-1', now: NOW, villageName: '什聘村' });
    expect(item).toEqual({
      id: 'p-1',
      type: 'propose_household',
      label: '符阿婆 · 什聘村',
      payload: {
        village: '469029100201', township: '469029100', address: '什聘村三组 5 号', lat: 18.6412, lon: 109.7013,
        size: 2, tags: ['empty_nest_elderly', 'hardship_resident'], head_name: '符阿婆', phone: '13812345678',
        notes: '独居', occurred_at: '2026-03-05T01:30:00.000Z',
      },
    });
    expect(proposalCommand({ ...FIELDS, phone: ' ' }, FIX).payload.phone).toBeNull();
  });

  it('names every missing or wrong field, in both languages, and makes no item', () => {
    const { problems } = proposalCommand({ head_name: ' ', village: '4690', address: '', size: '2.5', phone: 'abc' }, null);
    expect(problems).toEqual(['propose_need_name', 'propose_need_village', 'propose_need_address',
      'propose_need_size', 'propose_bad_phone', 'propose_need_position']);
    for (const key of [...problems, 'sync_item_propose_household']) expect([en[key], zh[key]].every(Boolean)).toBe(true);
  });

  it('is queued offline and sent once with its client id when the phone syncs', async () => {
    const item = proposalCommand(FIELDS, FIX, { now: NOW });
    const [id] = await enqueue(db, [item]);
    expect(id).toBe(item.id);
    const offline = await flush(db, async () => {
      throw new Error('offline');
    });
    expect(offline.remaining).toBe(1);
    expect((await queued(db))[0]).toMatchObject({ type: 'propose_household', label: '符阿婆 · 469029100201' });
    let sent;
    const result = await flush(db, async (commands) => ((sent = commands), commands.map((c) => ({ id: c.id, status: 'applied' }))));
    expect(sent).toEqual([{ id: item.id, type: 'propose_household', payload: item.payload }]);
    expect(result.applied).toBe(1);
    expect(await queuedCount(db)).toBe(0); // answered: the personal fields leave the phone's outbox
  });

  it('offers the villages the phone knows, once each, by name', () => {
    const households = [{ village: '469029100202', village_name: '新民村' }, { village: '469029100201', village_name: '什聘村' },
      { village: '469029100202', village_name: '新民村' }];
    const villages = knownVillages(households);
    expect(villages).toHaveLength(2);
    expect(villages.map((v) => v.name)).toEqual(['什聘村', '新民村'].sort((a, b) => a.localeCompare(b, 'zh')));
    expect(villages.find((v) => v.name === '新民村').code).toBe('469029100202');
  });
});
