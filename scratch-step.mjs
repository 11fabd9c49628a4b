import Database from 'better-sqlite3';
const db = new Database('/work/scratch/hostile.db', { readonly: true });
const sql = `SELECT f.rowid AS id, e.ts AS ts, highlight(events_fts, 0, char(1), char(2)) AS marked
 FROM events_fts f JOIN events e ON e.id = f.rowid
 WHERE events_fts MATCH ? AND f.rowid >= ? AND f.rowid <= ? AND (? IS NULL OR e.stream = ?) AND e.ts >= ? AND e.ts <= ?
 ORDER BY f.rowid DESC LIMIT ?`;
const st = db.prepare(sql);
const max = db.prepare('select max(id) m from events').get().m;
for (const depth of [0, 100000, 500000, 900000]) for (const stream of [null, 'nope']) {
  const hi = max - depth; const t = process.hrtime.bigint();
  const rows = st.all('"a"*', hi - 4999, hi, stream, stream, 0, Number.MAX_SAFE_INTEGER, 200);
  console.log('depth', depth, 'stream', stream, 'rows', rows.length, 'ms', Number(process.hrtime.bigint() - t) / 1e6);
}
console.log(db.prepare('EXPLAIN QUERY PLAN ' + sql).all('"a"*', 1, 2, null, null, 0, 1, 1));
