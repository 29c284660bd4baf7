// Package pgtest starts a private PostgreSQL cluster for tests: initdb and
// pg_ctl into a temporary directory, listening only on 127.0.0.1 on a free
// port with its unix socket inside that directory, never the system
// service. One cluster serves a whole test binary (TestMain calls Main);
// every test gets a fresh database from DB.
//
// When run as root the cluster runs as the "postgres" user, because the
// server refuses to run as root.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the database superuser that initdb creates.
const Superuser = "postgres"

// Cluster is one running private PostgreSQL cluster.
type Cluster struct {
	dir      string // temporary directory: data/, socket, log
	bin      string // directory holding initdb, pg_ctl and postgres
	port     int
	password string
	cred     *syscall.Credential // nil unless running as root
	dbs      atomic.Int64
}

// BinDir finds the PostgreSQL server binaries: $PGTEST_BINDIR, else the
// newest /usr/lib/postgresql/<version>/bin (Debian's layout), else the
// directory of initdb in PATH.
func BinDir() (string, error) {
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			return "", fmt.Errorf("PGTEST_BINDIR: %w", err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or PATH (make deps installs Debian's postgresql package)")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start creates and starts a cluster. Stop it with Stop.
func Start() (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, password: randomHex(16)}
	if err := c.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The free port is found by binding and closing: another process may
	// take it in between, so a failed start is retried on a new port.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err == nil {
			if err = c.start(); err == nil {
				return c, nil
			}
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (c *Cluster) init() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs a \"postgres\" user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return err
		}
	}
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	if c.cred != nil {
		if err := os.Chown(pwfile, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
	}
	defer os.Remove(pwfile)
	return c.run("initdb", "-D", c.data(), "-U", Superuser, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync")
}

func (c *Cluster) start() error {
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(c.port),
		"-c unix_socket_directories=" + c.dir,
		// Test data need not survive a power cut.
		"-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
		"-c max_connections=200",
	}, " ")
	return c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the cluster at once and removes its directory.
func (c *Cluster) Stop() error {
	err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	if rerr := os.RemoveAll(c.dir); err == nil {
		err = rerr
	}
	return err
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs a PostgreSQL tool as the cluster's user.
func (c *Cluster) run(tool string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, tool), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if log, _ := os.ReadFile(filepath.Join(c.dir, "log")); len(log) > 0 && tool == "pg_ctl" {
			out = append(out, log...)
		}
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("%s: %w: %s", tool, err, msg)
		}
		return fmt.Errorf("%s: %w", tool, err)
	}
	return nil
}

// DSN is the URL of database db as the superuser, password included.
func (c *Cluster) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(Superuser, c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Password is the superuser's password (tests check it never leaks).
func (c *Cluster) Password() string { return c.password }

// NewDatabase creates an empty database and returns its DSN; drop drops it.
func (c *Cluster) NewDatabase(ctx context.Context) (dsn string, drop func() error, err error) {
	name := fmt.Sprintf("test_%d_%s", c.dbs.Add(1), randomHex(4))
	if err := c.exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return c.exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	}
	return c.DSN(name), drop, nil
}

func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connecting to the test cluster: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// shared is the one cluster of this test binary, started by the first DB
// call and stopped by Main. A package variable because TestMain and the
// tests have no other place to share it.
var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// Main runs the tests and then stops the shared cluster if a test started
// it: use it as `func TestMain(m *testing.M) { pgtest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stopping cluster:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Shared returns the binary's shared cluster, starting it on first use.
// Without PostgreSQL the test is skipped with the reason, or fails under
// CI=true where PostgreSQL must be installed.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() { shared.cluster, shared.err = Start() })
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but PostgreSQL tests cannot run: %v", shared.err)
		}
		t.Skipf("skipping: %v", shared.err)
	}
	return shared.cluster
}

// DB returns the DSN of a fresh empty database on the shared cluster,
// dropped when the test ends (see Shared for skipping). The package's
// TestMain must call Main, which stops the cluster: pg_ctl detaches the
// server, so it would otherwise outlive the test binary.
func DB(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, drop, err := c.NewDatabase(ctx)
	if err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("dropping test database: %v", err)
		}
	})
	return dsn
}
