package storage

import "errors"

// Sentinel errors. Functions wrap them with the offending name, so compare
// with errors.Is, never by text.
var (
	// ErrDatabaseExists is returned by CreateDatabase when a database with
	// the same name (compared case-insensitively) already exists.
	ErrDatabaseExists = errors.New("storage: database already exists")
	// ErrDatabaseNotFound is returned when a named database does not exist.
	ErrDatabaseNotFound = errors.New("storage: database not found")
	// ErrTableExists is returned by CreateTable when a table with the same
	// name (compared case-insensitively) already exists in the database.
	ErrTableExists = errors.New("storage: table already exists")
	// ErrTableNotFound is returned when a named table does not exist, and by
	// writes to a Table that has been dropped.
	ErrTableNotFound = errors.New("storage: table not found")
	// ErrDetectorNotFound is returned by DeleteDetector and RenameDetector
	// for an unknown name.
	ErrDetectorNotFound = errors.New("storage: detector not found")
	// ErrDetectorExists is returned by RenameDetector when the new name
	// (compared case-insensitively) is another detector's.
	ErrDetectorExists = errors.New("storage: detector already exists")
	// ErrViewExists is returned by SaveView, without replace, when a view
	// with the same name (compared case-insensitively) exists.
	ErrViewExists = errors.New("storage: view already exists")
	// ErrViewNotFound is returned by DeleteView for an unknown name.
	ErrViewNotFound = errors.New("storage: view not found")
	// ErrInvalidName is returned for database, table and detector names that
	// are empty, too long, or unsafe as a path segment.
	ErrInvalidName = errors.New("storage: invalid name")
	// ErrUnsupportedType is returned by CreateTable for Arrow types that have
	// no Iceberg counterpart in this package (see doc.go for the mapping).
	ErrUnsupportedType = errors.New("storage: unsupported column type")
	// ErrSchemaMismatch is returned by Append and Overwrite when a batch does
	// not match the table schema, or holds NULLs in a NOT NULL column.
	ErrSchemaMismatch = errors.New("storage: batch does not match table schema")
	// ErrReservedProperty is returned by CreateTable for property keys that
	// the store manages itself.
	ErrReservedProperty = errors.New("storage: reserved table property")
	// ErrSnapshotNotFound is returned by Table.SnapshotByID for an id that
	// is not one of the snapshots the table keeps: it never was one, or it
	// has expired (see Options.MaxSnapshots).
	ErrSnapshotNotFound = errors.New("storage: snapshot not found")
	// ErrSnapshotExpired is returned for a snapshot, or the snapshot of a
	// time, that is known to have existed but has expired.
	ErrSnapshotExpired = errors.New("storage: snapshot expired")
	// ErrNoSnapshotAsOf is returned by Table.SnapshotAsOf for a time before
	// the table's first snapshot, and for a table that has none.
	ErrNoSnapshotAsOf = errors.New("storage: no snapshot at that time")
	// ErrClosed is returned by every operation on a closed Store.
	ErrClosed = errors.New("storage: store is closed")
	// ErrDeleteFiles is returned by Table.DataFiles when the current
	// snapshot has delete files, so its data files alone do not hold the
	// table's rows.
	ErrDeleteFiles = errors.New("storage: snapshot has delete files")
	// ErrLocked is returned by Open when another process holds the data
	// directory.
	ErrLocked = errors.New("storage: data directory is in use")
)
