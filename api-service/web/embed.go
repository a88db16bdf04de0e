// Package web holds the admin web UI: a TypeScript single-page application
// built by Vite from this folder (see docs/admin-ui.md). Its build output,
// dist/, is embedded into the API binary; internal/webui serves it at
// /admin/.
//
// Only the placeholder dist/.gitkeep is committed, so the Go modules build,
// vet and test without Node; a binary built before the UI serves a page
// saying how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the UI's build output: index.html and the hashed assets/, or
// nothing but the placeholder when the UI was not built.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
