package netns

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// lossTable is the nftables table SetLoss owns inside a namespace.
const lossTable = "dtloss"

// SetLoss makes n drop the given percentage of incoming ICMP and ICMPv6 echo
// requests at random (nftables `numgen random mod 100 < percent`), so a host
// answers about 100-percent % of pings. percent 0 removes the rule again;
// 100 drops every request while the link itself stays up.
//
// The drop happens in the input hook, before both the kernel's echo reply and
// EchoResponder's raw socket see the request. Needs nft (Require(t, "nft")).
func (n *NS) SetLoss(t testing.TB, percent int) {
	t.Helper()
	if percent < 0 || percent > 100 {
		t.Fatalf("SetLoss(%d): percent must be within 0..100", percent)
	}
	// Creating then deleting the table first makes the script replace any
	// earlier rule atomically, and makes percent 0 valid when none exists.
	script := fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", lossTable)
	if percent > 0 {
		// numgen yields 0..99; nft rejects "< 100", so 100 % drops unconditionally.
		cond := fmt.Sprintf("numgen random mod 100 < %d ", percent)
		if percent == 100 {
			cond = ""
		}
		script += fmt.Sprintf(`table inet %[1]s {
	chain input {
		type filter hook input priority filter - 10; policy accept;
		icmp type echo-request %[2]sdrop
		icmpv6 type echo-request %[2]sdrop
	}
}
`, lossTable, cond)
	}
	n.mu.Lock()
	n.nft = true
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("SetLoss(%d) in %s: nft: %s: %v", percent, n.Name, strings.TrimSpace(string(out)), err)
	}
}
