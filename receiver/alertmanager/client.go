package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
)

// DefaultTimeout bounds one request to one Alertmanager.
const DefaultTimeout = 10 * time.Second

// Config says where the Alertmanager cluster is and how to authenticate.
type Config struct {
	// URLs of the peers of one cluster, e.g. http://127.0.0.1:9093. A path
	// prefix (Alertmanager behind a proxy, --web.route-prefix) is kept.
	URLs []*url.URL
	// HTTPClientConfig carries auth and TLS, as in Prometheus'
	// alerting.alertmanagers[].http_config and exporter-toolkit clients.
	HTTPClientConfig commoncfg.HTTPClientConfig
	// Timeout per request; DefaultTimeout when zero.
	Timeout time.Duration
	// Metrics, when set, are used instead of registering new ones on the
	// registerer New gets (a client rebuilt by a reload).
	Metrics *Metrics
}

// ErrNotConfigured: no Alertmanager URL is configured (the receiver then
// has no silence buttons and no reconciler).
var ErrNotConfigured = errors.New("no Alertmanager URL configured")

// ParseURL checks one --alertmanager.url value: http or https, a host, no
// credentials (they belong in the http client config, where they are kept
// secret), no query or fragment. The error never repeats a password.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("alertmanager URL: %w", redactErr(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("alertmanager URL %q: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("alertmanager URL %q: missing host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("alertmanager URL %q: credentials in the URL are not allowed; use basic_auth in the http client config", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("alertmanager URL %q: must not have a query or fragment", u.Redacted())
	}
	return u, nil
}

// redactErr drops the URL from a url.Error, which would print credentials.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// peer is one Alertmanager of the cluster.
type peer struct {
	name string // URL without credentials, for errors and logs
	api  *amclient.AlertmanagerAPI
}

// Client talks to one Alertmanager cluster. It is safe for concurrent use.
type Client struct {
	peers   []peer
	timeout time.Duration
	logger  *slog.Logger
	metrics *metrics
}

// New builds a client. reg may be nil (no metrics); logger may be nil.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, fmt.Errorf("alertmanager: %w", ErrNotConfigured)
	}
	if err := cfg.HTTPClientConfig.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager http client config: %w", err)
	}
	hc, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "downtime_receiver_alertmanager")
	if err != nil {
		return nil, fmt.Errorf("alertmanager http client config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{timeout: cfg.Timeout, logger: logger}
	if cfg.Metrics != nil {
		c.metrics = cfg.Metrics.m
	} else {
		c.metrics = newMetrics(reg)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	for i, u := range cfg.URLs {
		if _, err := ParseURL(u.String()); err != nil {
			return nil, fmt.Errorf("alertmanager URL #%d: %w", i+1, err)
		}
		base := strings.TrimSuffix(u.Path, "/") + amclient.DefaultBasePath
		tr := httptransport.NewWithClient(u.Host, base, []string{u.Scheme}, hc)
		c.peers = append(c.peers, peer{name: u.Redacted(), api: amclient.New(tr, strfmt.Default)})
	}
	return c, nil
}

// URLs returns the configured peers without credentials.
func (c *Client) URLs() []string {
	out := make([]string, len(c.peers))
	for i, p := range c.peers {
		out[i] = p.name
	}
	return out
}

// Error is a failed request to one Alertmanager. It names the peer (without
// credentials), the operation and the HTTP status (0 for network errors).
type Error struct {
	URL       string
	Operation string
	Status    int
	Message   string // Alertmanager's own error text, shortened
	Err       error  // network or decoding error when Status is 0
}

func (e *Error) Error() string {
	switch {
	case e.Status != 0 && e.Message != "":
		return fmt.Sprintf("alertmanager %s: %s: HTTP %d: %s", e.URL, e.Operation, e.Status, e.Message)
	case e.Status != 0:
		return fmt.Sprintf("alertmanager %s: %s: HTTP %d", e.URL, e.Operation, e.Status)
	default:
		return fmt.Sprintf("alertmanager %s: %s: %v", e.URL, e.Operation, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// ErrSilenceNotFound: no peer knows the silence (or it already expired).
var ErrSilenceNotFound = errors.New("silence not found")

// statusError is what statusReader returns for every non-2xx answer, so that
// all operations report a status and Alertmanager's text the same way
// (the generated readers fail to decode a plain-text 500 body as JSON and
// would otherwise lose the status).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.msg) }

type statusReader struct{ next runtime.ClientResponseReader }

func (r statusReader) ReadResponse(resp runtime.ClientResponse, c runtime.Consumer) (any, error) {
	if code := resp.Code(); code < 200 || code > 299 {
		buf := make([]byte, 512)
		n, _ := ioReadFull(resp, buf)
		return nil, &statusError{status: code, msg: shorten(string(buf[:n]))}
	}
	return r.next.ReadResponse(resp, c)
}

func withStatus(op *runtime.ClientOperation) { op.Reader = statusReader{next: op.Reader} }

// shorten keeps an error body to one readable line.
func shorten(s string) string {
	s = strings.Join(strings.Fields(strings.Trim(s, "\"\n ")), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// call runs one operation against one peer with the timeout, records metrics
// and turns any failure into an *Error.
func (c *Client) call(ctx context.Context, p peer, op string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	c.metrics.observe(op, time.Since(start), err)
	if err == nil {
		return nil
	}
	e := &Error{URL: p.name, Operation: op}
	var se *statusError
	if errors.As(err, &se) {
		e.Status, e.Message = se.status, se.msg
	} else {
		e.Err = redactErr(err)
	}
	return e
}

// retryOnPeer reports whether an operation that failed on one peer may be
// tried on the next one without risk of doing it twice: the peer was not
// reached at all, or a proxy in front of it said it is unavailable.
func retryOnPeer(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case 0:
		return isDialError(e.Err)
	}
	return false
}

func ioReadFull(resp runtime.ClientResponse, buf []byte) (int, error) {
	body := resp.Body()
	if body == nil {
		return 0, nil
	}
	return io.ReadFull(body, buf)
}

func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}
