// Reads Parquet files with DuckDB (@duckdb/node-api, pinned in
// package-lock.json) and prints what DuckDB sees, for engine/duckdb_test.go.
//
// Input, a JSON object on stdin:
//   {"files": ["/abs/a.parquet", ...], "orderBy": "id",
//    "listed": ["/abs/a.parquet", ...], "deletes": ["/abs/d.parquet", ...]}
// "deletes" (optional) are Iceberg v2 position delete files (columns
// file_path, pos): a row of files[i] at position pos (0-based, in file
// order) is left out when a delete file holds (listed[i], pos), listed[i]
// being the path the table's manifests give files[i].
// Output, a JSON object on stdout:
//   {"duckdb": "v1.5.x", "columns": [{"name": "id", "type": "BIGINT"}, ...],
//    "rows": [["1", "2.5", null, ...], ...]}
// where every value is DuckDB's own CAST(value AS VARCHAR), or null for
// NULL, and rows are ordered by the column orderBy. Nothing is
// downloaded: extension autoinstall is off, and read_parquet is built in.
// Exits non-zero with the error on stderr if anything fails.
'use strict';

const { DuckDBInstance } = require('@duckdb/node-api');

function quoteIdent(name) {
  return '"' + name.replaceAll('"', '""') + '"';
}

function quoteString(s) {
  return "'" + s.replaceAll("'", "''") + "'";
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const input = JSON.parse(await readStdin());
  if (!Array.isArray(input.files) || input.files.length === 0) {
    throw new Error('input needs a non-empty "files" array');
  }
  if (typeof input.orderBy !== 'string' || input.orderBy === '') {
    throw new Error('input needs an "orderBy" column name');
  }
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  try {
    const version = (await conn.runAndReadAll('SELECT version()')).getRows()[0][0];
    let source = 'read_parquet([' + input.files.map(quoteString).join(', ') + '])';
    const deletes = input.deletes || [];
    if (deletes.length > 0) {
      const listed = input.listed || [];
      if (listed.length !== input.files.length) {
        throw new Error('"listed" must name each of "files"');
      }
      await conn.run('CREATE TEMP TABLE listed (path VARCHAR, listed VARCHAR)');
      const pairs = input.files.map((f, i) => '(' + quoteString(f) + ', ' + quoteString(listed[i]) + ')');
      await conn.run('INSERT INTO listed VALUES ' + pairs.join(', '));
      source = '(SELECT d.* EXCLUDE (filename, file_row_number) FROM read_parquet([' +
        input.files.map(quoteString).join(', ') + '], filename = true, file_row_number = true) AS d' +
        ' JOIN listed AS l ON l.path = d.filename' +
        ' ANTI JOIN read_parquet([' + deletes.map(quoteString).join(', ') + ']) AS x' +
        ' ON x.file_path = l.listed AND x.pos = d.file_row_number)';
    }

    const described = await conn.runAndReadAll('DESCRIBE SELECT * FROM ' + source);
    const columns = described.getRowObjects().map((r) => ({
      name: String(r.column_name),
      type: String(r.column_type),
    }));
    const casts = columns
      .map((c) => 'CAST(t.' + quoteIdent(c.name) + ' AS VARCHAR)')
      .join(', ');
    const reader = await conn.runAndReadAll(
      'SELECT ' + casts + ' FROM ' + source + ' AS t ORDER BY t.' + quoteIdent(input.orderBy));
    const rows = reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v))));
    process.stdout.write(JSON.stringify({ duckdb: String(version), columns, rows }) + '\n');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
