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
