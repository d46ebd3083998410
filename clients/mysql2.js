// Client compatibility session: node's mysql2 (pinned in package-lock.json)
// against a running anomalydb with the examples loaded.
//
//   node clients/mysql2.js HOST PORT
//
// Covers query (text protocol, client-side placeholders), execute (server
// prepared statements, COM_STMT_PREPARE/EXECUTE) and a pool. Prints one
// line per check ("ok ..." or "FAIL ..."), goes on after a failed check so
// that one run shows every failure, and exits 1 if any check failed (2 on
// a usage error).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');
const mysql = require('mysql2/promise');

const DB = 'c_mysql2';
const CSV = path.join(__dirname, 'quoted.csv');
const QUOTED_ROWS = [
  [1, 'Smith, John', 'said "hi"', 1.5],
  [2, 'two\nlines', 'plain', -2.25],
  [3, 'Zürich', '', null],
  [4, '"quoted"', 'a,b,"c"', 4000],
];
const LOAD_QUOTED =
  "LOAD DATA LOCAL INFILE ? INTO TABLE quoted FIELDS TERMINATED BY ',' " +
  "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES";
const CREATE_D = (name) =>
  `CREATE DETECTOR ${name} USING autoencoder WITH (epochs = 2, seed = 1) ` +
  'AS SELECT f0, f1, f2 FROM examples.thyroid';

// The bulk fixture (the same as clients/checks.py's): BULK_ROWS rows of
// (id BIGINT PRIMARY KEY, k INT, x DOUBLE, name VARCHAR(40), ts DATETIME).
// Every x is a multiple of 1/8, so that its sum is exact in any order; k
// is NULL in every 13th row; the names hold commas, doubled quotes, a
// newline, UTF-8 and the empty string.
const BULK_ROWS = 100000;
const BULK_TABLE = (name) =>
  `CREATE TABLE ${name} (id BIGINT PRIMARY KEY, k INT, x DOUBLE, name VARCHAR(40), ts DATETIME)`;
const BULK_CHECKSUM = (name) =>
  'SELECT COUNT(*), SUM(id), COUNT(k), SUM(k), SUM(x), SUM(CRC32(name)), SUM(LENGTH(name)), ' +
  `SUM(CRC32(CAST(ts AS CHAR))) FROM ${name}`;
const LOAD_BULK = (name) =>
  `LOAD DATA LOCAL INFILE ? INTO TABLE ${name} FIELDS TERMINATED BY ',' ` +
  "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES";

function bulkName(i) {
  if (i % 17 === 0) return `two\nlines ${i}`;
  if (i % 11 === 0) return '';
  if (i % 7 === 0) return `Zürich ${i}`;
  if (i % 5 === 0) return `Smith, "J" ${i}`;
  return `row ${i}`;
}

// bulkRows returns the fixture's rows as arrays [id, k, x, name, ts], ts a
// 'YYYY-MM-DD hh:mm:ss' string (a Date would be sent in node's time zone).
function bulkRows() {
  const epoch = Date.UTC(2024, 0, 1);
  const rows = [];
  for (let i = 0; i < BULK_ROWS; i++) {
    const ts = new Date(epoch + 37000 * i).toISOString().slice(0, 19).replace('T', ' ');
    rows.push([i, i % 13 === 0 ? null : (i * 7919) % 2001 - 1000, ((i * 31) % 4001 - 2000) / 8, bulkName(i), ts]);
  }
  return rows;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

// crc32 is MySQL's CRC32() of a buffer.
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// bulkChecksum computes BULK_CHECKSUM's values over rows here.
function bulkChecksum(rows) {
  const sum = [rows.length, 0, 0, 0, 0, 0, 0, 0];
  for (const [id, k, x, name, ts] of rows) {
    const b = Buffer.from(name, 'utf8');
    sum[1] += id;
    if (k !== null) {
      sum[2]++;
      sum[3] += k;
    }
    sum[4] += x;
    sum[5] += crc32(b);
    sum[6] += b.length;
    sum[7] += crc32(Buffer.from(ts));
  }
  return sum;
}

// csvField is one field as a CSV export writes it: enclosed in double
// quotes (doubled inside) when it holds a comma, a quote or a newline,
// \N for NULL.
function csvField(v) {
  if (v === null) return '\\N';
  const s = String(v);
  return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// timed runs fn and returns its wall time as a check's detail.
async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return `${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`;
}

let passed = 0;
let failed = 0;

// check runs one named check; a failure is printed and counted, and the
// next check still runs.
async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name}${detail ? ': ' + detail : ''}`);
  } catch (e) {
    failed++;
    // a server error carries errno; anything else is a script error: show where
    let msg;
    if (e.errno !== undefined) msg = `${e.code} (${e.errno}): ${e.message}`;
    else if (e instanceof assert.AssertionError) {
      msg = `got ${JSON.stringify(e.actual)}, want ${JSON.stringify(e.expected)}` +
        (e.generatedMessage ? '' : ` (${e.message})`);
    } else msg = e.stack;
    console.log(`FAIL ${name}: ${e.statement ? e.statement + ' => ' : ''}${msg}`);
  }
}

// run calls conn[method](sql, params) and names the statement in an error.
async function run(conn, method, sql, params) {
  try {
    const [rows] = await conn[method](sql, params);
    return rows;
  } catch (e) {
    e.statement = `${method}(${JSON.stringify(typeof sql === 'string' ? sql : sql.sql)}${params ? ', ' + JSON.stringify(params) : ''})`;
    throw e;
  }
}

// expectError requires fn to fail with MySQL error errno.
async function expectError(fn, errno) {
  try {
    await fn();
  } catch (e) {
    if (e.errno === errno) return;
    throw e;
  }
  throw new Error(`want error ${errno}, got success`);
}

async function main() {
  if (process.argv.length !== 4) {
    console.log('usage: node mysql2.js HOST PORT');
    return 2;
  }
  const [host, port] = [process.argv[2], Number(process.argv[3])];
  const version = require('mysql2/package.json').version;
  console.log(`client: mysql2 ${version}, node ${process.version}`);
  const base = { host, port, user: 'root', password: '', charset: 'utf8mb4' };

  const setup = await mysql.createConnection(base);
  await setup.query(`DROP DATABASE IF EXISTS ${DB}`);
  await setup.query(`CREATE DATABASE ${DB}`);
  await setup.end();

  const opts = { ...base, database: DB, infileStreamFactory: (p) => fs.createReadStream(p) };
  const conn = await mysql.createConnection(opts);
  const observer = await mysql.createConnection(opts);
  const ids = async (c) => (await run(c || observer, 'query', 'SELECT id FROM tx ORDER BY id')).map((r) => r.id);

  // --- detectors: query (text protocol) --------------------------------
  await check('query: CREATE DETECTOR; SHOW DETECTORS lists it', async () => {
    await run(conn, 'query', CREATE_D('d'));
    const rows = await run(conn, 'query', 'SHOW DETECTORS');
    assert.deepStrictEqual(rows.map((r) => [r.name, r.algorithm, r.features, Number(r.training_rows), r.status]),
      [['d', 'autoencoder', 'f0,f1,f2', 3772, 'ready']]);
  });

  const row = {};
  await check('execute: score of row id = ?', async () => {
    const [r] = await run(conn, 'execute',
      "SELECT f0, f1, f2, anomaly_score('d', f0, f1, f2) AS s FROM examples.thyroid WHERE id = ?", [7]);
    Object.assign(row, r);
    assert.strictEqual(typeof r.s, 'number', `score ${JSON.stringify(r.s)} is not a number`);
    return String(r.s);
  });

  await check('query: anomaly_score(?, ?, ?, ?) (client-side placeholders) = the row\'s score', async () => {
    const [r] = await run(conn, 'query', 'SELECT anomaly_score(?, ?, ?, ?) AS s', ['d', row.f0, row.f1, row.f2]);
    assert.strictEqual(r.s, row.s);
  });

  await check('execute: anomaly_score(\'d\', ?, ?, ?) (prepared, DOUBLE parameters) = the row\'s score', async () => {
    const [r] = await run(conn, 'execute', "SELECT anomaly_score('d', ?, ?, ?) AS s", [row.f0, row.f1, row.f2]);
    assert.strictEqual(r.s, row.s);
  });

  await check('execute: anomaly_score(?, ?, ?, ?) (prepared, the name as a parameter)', async () => {
    const [r] = await run(conn, 'execute', 'SELECT anomaly_score(?, ?, ?, ?) AS s', ['d', row.f0, row.f1, row.f2]);
    assert.strictEqual(r.s, row.s);
  });

  await check('execute: anomaly_score(\'d\', ?, ?, ?) with numeric strings (as read from a form or a CSV)', async () => {
    const [r] = await run(conn, 'execute', "SELECT anomaly_score('d', ?, ?, ?) AS s",
      [String(row.f0), String(row.f1), String(row.f2)]);
    assert.strictEqual(r.s, row.s);
  });

  await check('query: DROP DETECTOR; scoring it is error 1305', async () => {
    await run(conn, 'query', 'DROP DETECTOR d');
    assert.deepStrictEqual(await run(conn, 'query', 'SHOW DETECTORS'), []);
    await expectError(() => run(conn, 'execute', "SELECT anomaly_score('d', ?, ?, ?)", [1, 2, 3]), 1305);
  });

  // --- detectors: execute (COM_STMT_PREPARE) ---------------------------
  await check('execute: CREATE DETECTOR (prepared)', async () => {
    await run(conn, 'execute', CREATE_D('d2'));
  });
  await check('execute: SHOW DETECTORS (prepared)', async () => {
    const rows = await run(conn, 'execute', 'SHOW DETECTORS');
    assert.deepStrictEqual(rows.map((r) => r.name), ['d2']);
  });
  await check('execute: DROP DETECTOR (prepared)', async () => {
    await run(conn, 'execute', 'DROP DETECTOR IF EXISTS d2');
    assert.deepStrictEqual(await run(conn, 'query', 'SHOW DETECTORS'), []);
  });
  await check('execute: CREATE DETECTOR with placeholders (WITH (epochs = ?, seed = ?) … WHERE id <= ?)', async () => {
    await run(conn, 'execute',
      'CREATE DETECTOR d3 USING autoencoder WITH (epochs = ?, seed = ?) AS SELECT f0, f1 FROM examples.thyroid WHERE id <= ?',
      [1, 1, 100]);
    const rows = await run(conn, 'execute', 'SHOW DETECTORS LIKE ?', ['d_']);
    assert.deepStrictEqual(rows.map((r) => [r.name, Number(r.training_rows)]), [['d3', 100]]);
    assert.deepStrictEqual(await run(conn, 'execute', 'SHOW DETECTORS LIKE ?', ['x%']), []);
    await run(conn, 'execute', 'DROP DETECTOR d3');
  });

  // --- transactions ----------------------------------------------------
  await check('beginTransaction; execute INSERT; rollback undoes it', async () => {
    await run(conn, 'query', 'CREATE TABLE tx (id INT PRIMARY KEY, v VARCHAR(16))');
    await run(conn, 'execute', 'INSERT INTO tx VALUES (?, ?)', [1, 'kept']);
    await conn.beginTransaction();
    await run(conn, 'execute', 'INSERT INTO tx VALUES (?, ?)', [2, 'undone']);
    assert.deepStrictEqual(await ids(conn), [1, 2]);
    assert.deepStrictEqual(await ids(), [1], 'another connection sees the uncommitted insert');
    await conn.rollback();
    assert.deepStrictEqual(await ids(conn), [1]);
    assert.deepStrictEqual(await ids(), [1]);
  });

  await check('SAVEPOINT; ROLLBACK TO SAVEPOINT; commit', async () => {
    await conn.beginTransaction();
    await run(conn, 'execute', 'INSERT INTO tx VALUES (?, ?)', [3, 'kept']);
    await run(conn, 'query', 'SAVEPOINT sp');
    await run(conn, 'execute', 'INSERT INTO tx VALUES (?, ?)', [4, 'undone']);
    await run(conn, 'query', 'ROLLBACK TO SAVEPOINT sp');
    await conn.commit();
    assert.deepStrictEqual(await ids(), [1, 3]);
  });

  // --- pool ------------------------------------------------------------
  const pool = mysql.createPool({ ...opts, connectionLimit: 3 });
  await check('pool: 12 concurrent execute and query of anomaly_score', async () => {
    await run(pool, 'query', CREATE_D('dp'));
    const [want] = await run(pool, 'query',
      "SELECT id, anomaly_score('dp', f0, f1, f2) AS s FROM examples.thyroid WHERE id IN (1, 2, 3) ORDER BY id");
    const jobs = [];
    for (let i = 0; i < 12; i++) {
      const method = i % 2 ? 'execute' : 'query';
      jobs.push(run(pool, method,
        "SELECT anomaly_score('dp', f0, f1, f2) AS s FROM examples.thyroid WHERE id = ?", [1]));
    }
    for (const rows of await Promise.all(jobs)) assert.deepStrictEqual(rows, [{ s: want.s }]);
    await run(pool, 'query', 'DROP DETECTOR dp');
  });

  await check('pool: getConnection; beginTransaction; rollback; release', async () => {
    const pc = await pool.getConnection();
    try {
      await pc.beginTransaction();
      await run(pc, 'execute', 'INSERT INTO tx VALUES (?, ?)', [5, 'undone']);
      assert.deepStrictEqual(await ids(), [1, 3], 'another connection sees the uncommitted insert');
      await pc.rollback();
    } finally {
      pc.release();
    }
    assert.deepStrictEqual(await ids(), [1, 3]);
  });
  await pool.end();

  // --- LOAD DATA LOCAL of a quoted CSV ---------------------------------
  await check('query: LOAD DATA LOCAL INFILE of a quoted CSV', async () => {
    await run(conn, 'query', 'CREATE TABLE quoted (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64), x DOUBLE)');
    await run(conn, 'query', LOAD_QUOTED, [CSV]);
  });
  await check('quoted CSV rows (commas, "", newline, UTF-8, empty string, \\N)', async () => {
    const rows = await run(observer, 'query', { sql: 'SELECT id, name, note, x FROM quoted ORDER BY id', rowsAsArray: true });
    assert.deepStrictEqual(rows, QUOTED_ROWS);
  });

  // --- bulk paths at the size users have -------------------------------
  const rows = bulkRows();
  const want = bulkChecksum(rows);
  const checksum = async (name) => {
    const [got] = await run(observer, 'query', { sql: BULK_CHECKSUM(name), rowsAsArray: true });
    // MySQL sums integers as DECIMAL (a string in mysql2): compare numbers
    assert.deepStrictEqual(got.map(Number), want,
      'checksum (count, sum(id), count(k), sum(k), sum(x), sum(crc32(name)), sum(length(name)), sum(crc32(ts)))');
  };
  await check(`query: INSERT INTO t VALUES ? with ${BULK_ROWS} nested arrays (one statement)`, async () => {
    await run(conn, 'query', BULK_TABLE('bulk_insert'));
    return timed(async () => {
      const res = await run(conn, 'query', { sql: 'INSERT INTO bulk_insert VALUES ?', values: [rows] });
      assert.strictEqual(res.affectedRows, BULK_ROWS, 'affectedRows');
    });
  });
  await check(`bulk INSERT: ${BULK_ROWS} rows, checksum of every column = the client's`, () => checksum('bulk_insert'));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mysql2-'));
  await check(`query: LOAD DATA LOCAL INFILE of a ${BULK_ROWS}-row quoted CSV (infileStreamFactory)`, async () => {
    const file = path.join(tmp, 'bulk.csv');
    const lines = ['id,k,x,name,ts'];
    for (const r of rows) lines.push(r.map(csvField).join(','));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    await run(conn, 'query', BULK_TABLE('bulk_csv'));
    return timed(async () => {
      const res = await run(conn, 'query', LOAD_BULK('bulk_csv'), [file]);
      assert.strictEqual(res.affectedRows, BULK_ROWS, 'affectedRows');
    });
  });
  fs.rmSync(tmp, { recursive: true, force: true });
  await check(`LOAD DATA LOCAL: ${BULK_ROWS} rows, checksum of every column = the client's`, () => checksum('bulk_csv'));

  await observer.end();
  await run(conn, 'query', `DROP DATABASE IF EXISTS ${DB}`);
  await conn.end();
  console.log(`mysql2: ${passed} checks passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.log(`FAIL setup: ${e.stack}`);
    process.exit(1);
  },
);
