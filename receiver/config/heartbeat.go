package config

import (
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Heartbeat defaults.
const (
	// DefaultHeartbeatAlertname is the alert Alertmanager's (and
	// kube-prometheus') always-firing dead man's switch is called.
	DefaultHeartbeatAlertname = "Watchdog"
	// DefaultHeartbeatTimeout is how long the receiver waits for the next
	// heartbeat before it warns: five missed Watchdog repeats of one minute.
	DefaultHeartbeatTimeout = 5 * time.Minute
	// MinHeartbeatTimeout is the smallest timeout allowed (besides 0, off):
	// below the Watchdog's one-minute repeat it would warn all the time.
	MinHeartbeatTimeout = time.Minute
)

// Heartbeat configures the dead man's switch: alerts named Alertname, on
// any webhook path, are heartbeats (never messages), and when none has
// arrived from a source for Timeout the receiver warns once.
type Heartbeat struct {
	// Alertname recognises heartbeat alerts (default "Watchdog").
	Alertname string `yaml:"alertname"`
	// Timeout is the silence after which the receiver warns (default 5m;
	// 0 disables the warning, heartbeats are still never messages). The
	// flag --heartbeat.timeout overrides it.
	Timeout model.Duration `yaml:"timeout"`
}

// DefaultHeartbeat returns the defaults of the heartbeat section.
func DefaultHeartbeat() Heartbeat {
	return Heartbeat{Alertname: DefaultHeartbeatAlertname, Timeout: model.Duration(DefaultHeartbeatTimeout)}
}

// UnmarshalYAML decodes strictly and validates.
func (h *Heartbeat) UnmarshalYAML(node *yaml.Node) error {
	*h = DefaultHeartbeat()
	if n := field(node, "timeout"); n != node && n.Kind == yaml.ScalarNode {
		if _, err := model.ParseDuration(n.Value); err != nil {
			return atLine(n, "heartbeat: \"timeout\": invalid duration %q (use 90s, 5m, 1h; 0 disables)", n.Value)
		}
	}
	type plain Heartbeat
	if err := decodeStrict(node, (*plain)(h), "heartbeat"); err != nil {
		return err
	}
	if h.Alertname == "" {
		return atLine(field(node, "alertname"), "heartbeat: \"alertname\" must not be empty")
	}
	if err := CheckHeartbeatTimeout(time.Duration(h.Timeout)); err != nil {
		return atLine(field(node, "timeout"), "heartbeat: \"timeout\" %w", err)
	}
	return nil
}

// CheckHeartbeatTimeout checks a heartbeat timeout (also the flag's).
func CheckHeartbeatTimeout(d time.Duration) error {
	if d != 0 && d < MinHeartbeatTimeout {
		return &timeoutError{d}
	}
	return nil
}

type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return "must be 0 (off) or at least " + model.Duration(MinHeartbeatTimeout).String() +
		" (the Watchdog repeats every minute), got " + model.Duration(e.d).String()
}
