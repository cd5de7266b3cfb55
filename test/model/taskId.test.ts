import { describe, expect, it } from 'vitest';
import { newId } from '../../src/model/task.js';

describe('newId', () => {
  it('makes lowercase version-4 uuids, distinct across more ids than one fill of random bytes gives', () => {
    const ids = Array.from({ length: 2000 }, newId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('returns strings that do not change when later ids are made (the buffer it writes into is reused)', () => {
    const first = newId();
    const copy = `${first}`;
    for (let i = 0; i < 300; i++) newId();
    expect(first).toBe(copy);
  });
});
