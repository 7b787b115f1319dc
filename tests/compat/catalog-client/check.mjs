// Drives a running Portico with Backstage's own CatalogClient and checks every answer.
// Usage: node check.mjs <base-url> <file-target-for-addLocation>
// Prints one line per check and exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { CatalogClient, CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';

const [baseUrl, newTarget] = process.argv.slice(2);
if (!baseUrl || !newTarget) {
  console.error('usage: node check.mjs <base-url> <file-target>');
  process.exit(2);
}

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async plugin => `${baseUrl}/api/${plugin}` },
  fetchApi: { fetch: (...args) => fetch(...args) },
});

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('getEntities with filter, fields and order', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'User' },
    fields: ['kind', 'metadata.name'],
    order: { field: 'metadata.name', order: 'asc' },
  });
  assert.equal(items.length, 17);
  assert.deepEqual(items[0], { kind: 'User', metadata: { name: 'amelia.park' } });
  const names = items.map(e => e.metadata.name);
  assert.deepEqual(names, [...names].sort());
});

check('getEntities with OR of filters and an existence filter', async () => {
  const { items } = await client.getEntities({
    filter: [{ kind: 'Domain' }, { kind: 'System', 'spec.domain': 'playback' }],
    fields: ['metadata.name'],
  });
  assert.equal(items.length, 5);
  const tagged = await client.getEntities({
    filter: { kind: 'Component', 'metadata.tags.java': CATALOG_FILTER_EXISTS },
    fields: ['metadata.name'],
  });
  assert.deepEqual(tagged.items.map(e => e.metadata.name).sort(), ['artist-lookup', 'playback-order', 'podcast-api']);
});

check('getEntities paging with offset and limit', async () => {
  const first = await client.getEntities({ filter: { kind: 'Component' }, limit: 5, offset: 0, order: { field: 'metadata.name', order: 'asc' }, fields: ['metadata.name'] });
  const second = await client.getEntities({ filter: { kind: 'Component' }, limit: 5, offset: 5, order: { field: 'metadata.name', order: 'asc' }, fields: ['metadata.name'] });
  assert.equal(first.items.length, 5);
  assert.equal(second.items.length, 5);
  assert.notDeepEqual(first.items, second.items);
});

check('queryEntities walks cursors to the end', async () => {
  let response = await client.queryEntities({
    filter: { kind: 'Component' },
    limit: 4,
    orderFields: { field: 'metadata.name', order: 'desc' },
    fields: ['metadata.name'],
  });
  assert.equal(response.totalItems, 13);
  const names = response.items.map(e => e.metadata.name);
  while (response.pageInfo.nextCursor) {
    response = await client.queryEntities({ cursor: response.pageInfo.nextCursor, limit: 4 });
    names.push(...response.items.map(e => e.metadata.name));
  }
  assert.equal(names.length, 13);
  assert.deepEqual(names, [...names].sort().reverse());
});

check('queryEntities with a full-text filter', async () => {
  const response = await client.queryEntities({
    fullTextFilter: { term: 'playback', fields: ['metadata.name'] },
    fields: ['metadata.name'],
  });
  assert.ok(response.totalItems >= 2);
  for (const e of response.items) assert.match(e.metadata.name, /playback/);
});

check('getEntitiesByRefs keeps order and gives undefined for missing', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/artist-lookup', 'component:default/no-such', 'group:default/team-a'],
  });
  assert.equal(items.length, 3);
  assert.equal(items[0].metadata.name, 'artist-lookup');
  assert.equal(items[1], undefined);
  assert.equal(items[2].kind, 'Group');
});

check('getEntityByRef and relations', async () => {
  const entity = await client.getEntityByRef('component:default/artist-lookup');
  assert.equal(entity.spec.owner, 'team-a');
  assert.ok(entity.metadata.uid && entity.metadata.etag);
  assert.ok(entity.relations.some(r => r.type === 'ownedBy' && r.targetRef === 'group:default/team-a'));
  assert.equal(await client.getEntityByRef('component:default/no-such'), undefined);
});

check('getEntityFacets', async () => {
  const { facets } = await client.getEntityFacets({ facets: ['kind', 'spec.lifecycle'], filter: { kind: 'Component' } });
  assert.deepEqual(facets.kind, [{ value: 'Component', count: 13 }]);
  assert.ok(facets['spec.lifecycle'].length >= 1);
});

let added;
check('addLocation dry run stores nothing', async () => {
  const before = (await client.getEntities({ fields: ['metadata.name'] })).items.length;
  const result = await client.addLocation({ type: 'file', target: newTarget, dryRun: true });
  assert.equal(result.exists, false);
  assert.ok(result.entities.length >= 1);
  const after = (await client.getEntities({ fields: ['metadata.name'] })).items.length;
  assert.equal(after, before);
});

check('addLocation registers and getLocationByRef finds it', async () => {
  added = await client.addLocation({ type: 'file', target: newTarget });
  assert.equal(added.location.type, 'file');
  const found = await client.getLocationByRef(`file:${added.location.target}`);
  assert.equal(found.id, added.location.id);
  const byEntity = await client.getLocationByEntity('component:default/artist-lookup');
  assert.ok(byEntity.target.endsWith('all.yaml'));
});

check('removeEntityByUid and refreshEntity', async () => {
  const entity = await client.getEntityByRef('component:default/artist-lookup');
  await client.removeEntityByUid(entity.metadata.uid);
  assert.equal(await client.getEntityByRef('component:default/artist-lookup'), undefined);
  await client.refreshEntity('component:default/playback-order');
});

check('validateEntity', async () => {
  const ok = await client.validateEntity(
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'g' }, spec: { type: 'team', children: [] } },
    'url:https://example.com/catalog-info.yaml',
  );
  assert.equal(ok.valid, true);
  const bad = await client.validateEntity(
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'bad name' }, spec: { type: 'team' } },
    'url:https://example.com/catalog-info.yaml',
  );
  assert.equal(bad.valid, false);
  assert.ok(bad.errors.length >= 2);
});

check('removeLocationById', async () => {
  await client.removeLocationById(added.location.id);
  assert.equal(await client.getLocationById(added.location.id), undefined);
});

let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}: ${err?.stack ?? err}`);
  }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
