// The office's decisions on a proposed household: each posts to its own path with the version it saw;
// merge needs a household number and refuse a reason, or nothing is sent.
import { describe, expect, it, vi } from 'vitest';
import { createAdminApi } from '../src/admin/api.js';
import { decide, decisionRequest } from '../src/admin/proposals.js';
import en from '../src/admin/i18n/en.js';
import zh from '../src/admin/i18n/zh-CN.js';

const PROPOSAL = { proposal_id: '6f1c2f4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f', version: 1 };
const ON_RECORD = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';

describe('deciding a proposal', () => {
  it('confirms, merges and refuses by their own paths with the version seen', () => {
    expect(decisionRequest(PROPOSAL, 'confirm')).toEqual([`/proposals/${PROPOSAL.proposal_id}/confirm`,
      { expected_version: 1 }]);
    expect(decisionRequest(PROPOSAL, 'merge', { household_id: ` ${ON_RECORD} ` })).toEqual([
      `/proposals/${PROPOSAL.proposal_id}/merge`, { expected_version: 1, household_id: ON_RECORD }]);
    expect(decisionRequest(PROPOSAL, 'refuse', { reason: ' 已迁往外县 ' })[1]).toEqual({ expected_version: 1,
      reason: '已迁往外县' });
  });

  it('sends nothing for a merge without a household number or a refusal without a reason', async () => {
    const fetchImpl = vi.fn();
    const api = createAdminApi({ getToken: () => 'tok', fetchImpl });
    expect(() => decide(api, PROPOSAL, 'merge', { household_id: '12' })).toThrow(/household/);
    expect(() => decide(api, PROPOSAL, 'refuse', { reason: '   ' })).toThrow(/reason/);
    expect(() => decide(api, PROPOSAL, 'approve')).toThrow(/unknown/);
    expect(fetchImpl).not.toHaveBeenCalled();
  });

  it('posts the decision with the bearer token', async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ status: 'applied', result: { id: PROPOSAL.proposal_id, version: 2 } }), { status: 200 }));
    const api = createAdminApi({ getToken: () => 'tok', fetchImpl });
    await decide(api, PROPOSAL, 'confirm');
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe(`/api/v1/proposals/${PROPOSAL.proposal_id}/confirm`);
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual({ expected_version: 1 });
    expect(init.headers.Authorization).toBe('Bearer tok');
  });

  it('has every string of the page in both languages', () => {
    for (const key of ['proposals', 'proposals_hint', 'proposals_none', 'proposal_confirm', 'proposal_merge',
      'proposal_refuse', 'proposal_confirm_done', 'proposal_merge_needs', 'proposal_refuse_needs', 'household_size']) {
      expect([en[key], zh[key]].every(Boolean)).toBe(true);
    }
  });
});
