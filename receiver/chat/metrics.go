package chat

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Results of an action, the "result" label of downtime_receiver_chat_actions_total.
const (
	ResultOK         = "ok"
	ResultNotAllowed = "not_allowed" // allowed_users or another chat
	ResultInvalid    = "invalid"     // forged or malformed callback_data
	ResultStale      = "stale"       // key unknown to the store, or an older format
	ResultFailed     = "failed"      // Alertmanager or the store failed
)

// Results lists every result.
var Results = []string{ResultOK, ResultNotAllowed, ResultInvalid, ResultStale, ResultFailed}

// Metrics counts actions from the chat.
type Metrics struct {
	Actions *prometheus.CounterVec
}

// NewMetrics registers downtime_receiver_chat_actions_total{action,result} on
// reg (may be nil), with every button action and command at 0. "unknown" is
// the action of a press whose data did not parse.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{Actions: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "downtime_receiver_chat_actions_total",
		Help: "Button presses and commands from the chat, by action and result.",
	}, []string{"action", "result"})}
	var actions []string
	for _, a := range Actions {
		actions = append(actions, string(a))
	}
	actions = append(actions, CmdStatus, CmdSilences, CmdHelp, "unknown")
	for _, a := range actions {
		for _, r := range Results {
			m.Actions.WithLabelValues(a, r)
		}
	}
	return m
}
