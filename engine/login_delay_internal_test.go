package engine

import (
	"testing"
	"time"
)

// TestLoginDelays: the delay of each login from one address, with the
// default connection_control variables: none for the first three
// failures, then 1 s more per failure, capped at 30 s; logins in flight
// count as failures; a success resets the count; other addresses are
// not affected. Bugs caught: a delay from the third failure on (off by
// one), attempts made at once all undelayed, no cap, no reset.
func TestLoginDelays(t *testing.T) {
	d := newLoginDelays()
	fail := func(host string) time.Duration {
		delay, end := d.begin(host)
		end(loginFailed)
		return delay
	}
	for i, want := range []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 3 * time.Second} {
		if got := fail("10.0.0.1"); got != want {
			t.Fatalf("failure %d: delay %v, want %v", i+1, got, want)
		}
	}
	if got := fail("10.0.0.2"); got != 0 {
		t.Errorf("first failure from another address: delay %v", got)
	}
	// Three logins at once after six failures: 4, 5 and 6 s.
	var ends []func(loginOutcome)
	for i, want := range []time.Duration{4 * time.Second, 5 * time.Second, 6 * time.Second} {
		delay, end := d.begin("10.0.0.1")
		if delay != want {
			t.Errorf("login %d in flight: delay %v, want %v", i+1, delay, want)
		}
		ends = append(ends, end)
	}
	ends[0](loginOK)
	ends[1](loginOther)
	ends[2](loginFailed)
	// The success reset the count; the failure that ended after it is
	// the first.
	for i, want := range []time.Duration{0, 0, time.Second} {
		if got := fail("10.0.0.1"); got != want {
			t.Errorf("failure %d after the reset: delay %v, want %v", i+2, got, want)
		}
	}
	for i := 0; i < 40; i++ {
		fail("10.0.0.3")
	}
	if got := fail("10.0.0.3"); got != 30*time.Second {
		t.Errorf("after 40 failures: delay %v, want the 30 s cap", got)
	}
	delay, end := d.begin("10.0.0.3")
	end(loginOK)
	if delay != 30*time.Second || fail("10.0.0.3") != 0 {
		t.Errorf("a good login is delayed too (%v), then the count restarts", delay)
	}
}
