// Command ferretdb runs an embedded FerretDB (MongoDB wire protocol) with the
// SQLite backend on a loopback address. It exists because
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` panics (the
// generated build/version/version.txt is missing from the module zip), while
// the embeddable package github.com/FerretDB/FerretDB/ferretdb works as is.
//
// Telemetry: the embeddable package never creates the telemetry reporter and
// explicitly disables (and locks) telemetry in its state provider, so nothing
// phones home. The state provider is in-memory (no state.json is written).
//
// Usage: ferretdb -listen 127.0.0.1:27017 -sqlite-dir ./data
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "", "directory for SQLite database files (created if missing)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listen, *sqliteDir, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, sqliteDir, logLevel string) error {
	if sqliteDir == "" {
		return fmt.Errorf("-sqlite-dir is required")
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("invalid -log-level %q: %w", logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// FerretDB expects an opaque "file:" URI whose path ends with "/".
	sqliteURL := (&url.URL{Scheme: "file", Path: strings.TrimSuffix(dir, "/") + "/", OmitHost: true}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Run returns once ctx is canceled and all listeners, connections and the
	// backend are closed.
	return f.Run(ctx)
}
