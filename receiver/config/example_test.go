package config_test

import (
	"fmt"
	"time"

	"github.com/downtime-detector/downtime/receiver/config"
)

func ExampleConfig_Route() {
	cfg, err := config.Load("testdata/good.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	// POST /webhook: first matching route, else the default chat.
	r, _ := cfg.Route("", "telegram-ops", map[string]string{"team": "db", "severity": "critical"})
	fmt.Println(r.Name, r.ChatID, r.Reminders.Durations())
	r, _ = cfg.Route("", "other", map[string]string{"team": "web"})
	fmt.Printf("%q %s %d\n", r.Name, r.ChatID, r.ThreadID)
	// POST /webhook/{name}
	r, _ = cfg.Route("ops", "", nil)
	fmt.Println(r.Name, r.ChatID, r.ThreadID, r.Silent)
	_, err = cfg.Route("nope", "", nil)
	fmt.Println(err)
	// Output:
	// db @db_oncall [5m0s]
	// "" -1001234567890 3
	// ops -1009876543210 12 true
	// unknown route "nope"
}

func ExampleReminders_Due() {
	r := config.DefaultReminders()
	for _, down := range []string{"5m", "10m", "45m", "1h", "3h"} {
		d, _ := time.ParseDuration(down)
		n := r.Due(d)
		fmt.Println(down, n, r.IsFinal(n))
	}
	// Output:
	// 5m 0 false
	// 10m 1 false
	// 45m 2 false
	// 1h 3 true
	// 3h 3 true
}
