// Package postgres keeps the receiver's durable state in PostgreSQL, with
// the same operations and semantics as the embedded bbolt store
// (receiver/store), so that two or more receivers sharing one database
// behave as one: a notification posted to all of them is queued once, and
// leases (or row claims) let one of them at a time poll Telegram and drain
// the queue.
//
// Atomicity matches bbolt's: every read-write operation is one SERIALIZABLE
// transaction, retried when PostgreSQL reports a serialization failure or a
// deadlock, so concurrent receivers see the same outcome as if their
// transactions had run one after the other. The function given to Update
// may therefore run more than once and must have no effect outside the Tx.
//
// The schema is created and migrated by Open (see migrate.go).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune Open.
type Options struct {
	// Timeout bounds each operation (the store's methods take no context,
	// like the bbolt store's). Default 30s.
	Timeout time.Duration
	// MaxConns is the pool size; 0 keeps pgxpool's default.
	MaxConns int32
}

// Store is the receiver's state in PostgreSQL. It is safe for concurrent
// use, also by several processes on one database.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	where   string // redacted URL, for messages
}

// Open connects to the database at dsn (postgres://user:password@host/db or
// key=value form), then creates or migrates the schema. Errors never
// contain the password.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	s, err := open(ctx, dsn, o)
	if err != nil {
		return nil, scrub(err, dsn)
	}
	return s, nil
}

func open(ctx context.Context, dsn string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the URL with the password redacted.
		return nil, fmt.Errorf("invalid storage URL: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	where := fmt.Sprintf("postgres %s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", where, err)
	}
	s := &Store{pool: pool, timeout: o.Timeout, where: where}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("preparing schema in %s: %w", where, err)
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Path names the database (host, port, database; never the password), as
// the bbolt store's Path names its file.
func (s *Store) Path() string { return s.where }

// Redact returns dsn with its password replaced by "xxxxx", for logs.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return scrubString(dsn, dsn)
}

var (
	urlPassword = regexp.MustCompile(`://[^:/@]*:([^@]*)@`)
	kvPassword  = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
)

// passwords returns every string of dsn that may be its password.
func passwords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	for _, m := range urlPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[1])
		if p, err := url.PathUnescape(m[1]); err == nil {
			out = append(out, p)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[1], strings.Trim(m[1], "'"))
	}
	return out
}

func scrubString(s, dsn string) string {
	for _, p := range passwords(dsn) {
		if p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}

// scrub makes sure no error leaving Open contains the password, whatever
// the drivers or url.Parse put into their messages.
func scrub(err error, dsn string) error {
	msg := err.Error()
	clean := scrubString(msg, dsn)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// retryable reports whether a transaction failed only because of a
// concurrent one, or on a pooled connection that had died before anything
// was sent (the database restarted), and may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return (errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")) || pgconn.SafeToRetry(err)
}

// serializable runs fn in a SERIALIZABLE transaction, again after a
// serialization failure or deadlock (a concurrent receiver won: the retry
// sees its result, as bbolt's single writer would have).
func (s *Store) serializable(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, fn)
		if err == nil || !retryable(err) || attempt == 30 {
			return err
		}
		backoff := time.Duration(rand.Int64N(int64(attempt) * int64(2*time.Millisecond)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}
