package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestClusterSettings(t *testing.T) {
	dsn := DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	c := Shared(t)
	for _, tc := range []struct{ setting, want string }{
		{"listen_addresses", "127.0.0.1"},
		{"unix_socket_directories", c.dir},
		{"fsync", "off"},
	} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", tc.setting).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tc.setting, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.setting, got, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, "data", "PG_VERSION")); err != nil {
		t.Errorf("cluster data not in the temporary directory: %v", err)
	}
}

func TestDatabasesAreFresh(t *testing.T) {
	ctx := context.Background()
	var names []string
	for range 2 {
		conn, err := pgx.Connect(ctx, DB(t))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		var name string
		var tables int
		err = conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&name, &tables)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("database %s: got %d tables, want 0", name, tables)
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Errorf("two DB calls gave the same database %q", names[0])
	}
}

func TestStopRemovesDirectory(t *testing.T) {
	Shared(t) // skips without PostgreSQL
	c, err := Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s after Stop: got %v, want not exist", c.dir, err)
	}
}
