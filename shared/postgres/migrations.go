package postgres

import "io/fs"

// Migrations is the embedded SQL migrations Migrate applies, one file per
// version: for tools that must know what a migrated database holds, such
// as the tests' template database, named after a hash of them.
func Migrations() fs.FS { return mustSub(migrations, "migrations") }
