package engine

import (
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Failed logins slow down, as with MySQL's connection_control plugin:
// after connection_control_failed_connections_threshold consecutive
// failed logins from one client address, every further login from it,
// good or bad, is answered only after a delay of one second per failure
// beyond the threshold, at least connection_control_min_connection_delay
// and at most connection_control_max_connection_delay milliseconds. A
// successful login resets the address's count. Logins in flight count as
// failures until they end, so that many attempts at once from one address
// are delayed as if made one after another. Every delayed login adds one
// to the status variable Connection_control_delay_generated.

// Defaults of the connection_control variables (MySQL's, except the
// maximum delay, which MySQL leaves unbounded: here a delayed login holds
// a connection for at most 30 s).
const (
	defaultLoginThreshold = 3
	defaultMinLoginDelay  = 1000  // ms
	defaultMaxLoginDelay  = 30000 // ms
	loginDelayStep        = time.Second
	// maxLoginHosts bounds the addresses remembered; beyond it, addresses
	// with no login in flight are forgotten.
	maxLoginHosts = 10000
)

// loginDelayVariables are MySQL's connection_control variables, global
// and dynamic: SET GLOBAL connection_control_failed_connections_threshold
// = 0 turns the delays off.
func loginDelayVariables() []sql.SystemVariable {
	v := func(name string, lo, hi, def int64) sql.SystemVariable {
		return &sql.MysqlSystemVariable{
			Name:    name,
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Dynamic: true,
			Type:    types.NewSystemIntType(name, lo, hi, false),
			Default: def,
		}
	}
	return []sql.SystemVariable{
		v("connection_control_failed_connections_threshold", 0, 2147483647, defaultLoginThreshold),
		v("connection_control_min_connection_delay", 1000, 2147483647, defaultMinLoginDelay),
		v("connection_control_max_connection_delay", 1000, 2147483647, defaultMaxLoginDelay),
	}
}

// loginOutcome is how a login ended.
type loginOutcome int

const (
	loginOther  loginOutcome = iota // neither: the count stays
	loginFailed                     // wrong user or password (1045)
	loginOK                         // the password was right
)

// loginDelays counts consecutive failed logins per client address.
type loginDelays struct {
	mu    sync.Mutex
	hosts map[string]*hostLogins
}

type hostLogins struct {
	failures int // consecutive failed logins
	pending  int // logins begun and not yet ended
}

func newLoginDelays() *loginDelays { return &loginDelays{hosts: map[string]*hostLogins{}} }

// begin starts a login from host and returns how long to delay it; the
// caller calls end with the login's outcome exactly once.
func (d *loginDelays) begin(host string) (delay time.Duration, end func(loginOutcome)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[host]
	if h == nil {
		d.forgetSome()
		h = &hostLogins{}
		d.hosts[host] = h
	}
	delay = loginDelay(h.failures + h.pending)
	h.pending++
	return delay, func(o loginOutcome) {
		d.mu.Lock()
		defer d.mu.Unlock()
		h.pending--
		switch o {
		case loginFailed:
			h.failures++
		case loginOK:
			h.failures = 0
		}
		if h.failures == 0 && h.pending == 0 && d.hosts[host] == h {
			delete(d.hosts, host)
		}
	}
}

// forgetSome makes room for a new address once maxLoginHosts are
// remembered, forgetting addresses without a login in flight; d.mu is
// held.
func (d *loginDelays) forgetSome() {
	if len(d.hosts) < maxLoginHosts {
		return
	}
	for host, h := range d.hosts {
		if h.pending == 0 {
			delete(d.hosts, host)
			if len(d.hosts) < maxLoginHosts/2 {
				return
			}
		}
	}
}

// loginDelay is the delay of a login that follows n failed (or pending)
// ones, from the connection_control variables.
func loginDelay(n int) time.Duration {
	threshold := globalInt("connection_control_failed_connections_threshold", defaultLoginThreshold)
	if threshold <= 0 || int64(n) < threshold {
		return 0
	}
	lo := time.Duration(globalInt("connection_control_min_connection_delay", defaultMinLoginDelay)) * time.Millisecond
	hi := time.Duration(globalInt("connection_control_max_connection_delay", defaultMaxLoginDelay)) * time.Millisecond
	return min(max(time.Duration(int64(n)-threshold+1)*loginDelayStep, lo), max(hi, lo))
}

// globalInt is the global integer system variable name, or def if it is
// missing or not an integer.
func globalInt(name string, def int64) int64 {
	_, v, ok := sql.SystemVariables.GetGlobal(name)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int8:
		return int64(n)
	case int32:
		return int64(n)
	case uint64:
		return int64(n)
	}
	return def
}
