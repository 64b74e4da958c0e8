package throttle

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

func TestDelayDoublesUpToTheCap(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {7, 4 * time.Second},
		{14, 512 * time.Second}, {15, 15 * time.Minute},
		// 2^34 s overflows a Duration: the cap must still hold (a bug once).
		{39, 15 * time.Minute}, {99, 15 * time.Minute}, {1000, 15 * time.Minute},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestFailuresCheck(t *testing.T) {
	p := DefaultPolicy()
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name string
		f    Failures
		want Wait
	}{
		{"none", Failures{}, Wait{}},
		{"free failures", Failures{Count: 4, LastMillis: now.UnixMilli()}, Wait{}},
		{"delay running", Failures{Count: 6, LastMillis: now.Add(-500 * time.Millisecond).UnixMilli()}, Wait{RetryAfter: 1500 * time.Millisecond}},
		{"delay over", Failures{Count: 6, LastMillis: now.Add(-2 * time.Second).UnixMilli()}, Wait{}},
		{"locked", Failures{Count: 100, LastMillis: now.Add(-48 * time.Hour).UnixMilli()}, Wait{Locked: true}},
	}
	for _, tt := range tests {
		if got := tt.f.Check(p, now); got != tt.want {
			t.Errorf("%s: Check = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRetryAfterIsHonest(t *testing.T) {
	const limit = 10
	w := time.Minute
	tests := []struct {
		name       string
		curr, prev int
		elapsed    float64
		want       time.Duration
	}{
		{"under the limit", 5, 0, 0.5, 0},
		{"at the limit", 10, 0, 0.1, 0},
		{"previous window still weighs", 4, 14, 0.5, 9 * time.Second},
		{"over: wait into the next window", 11, 0, 0.5, 41 * time.Second},
	}
	for _, tt := range tests {
		got := retryAfter(tt.curr, tt.prev, limit, tt.elapsed, w)
		if got != tt.want {
			t.Errorf("%s: retryAfter = %s, want %s", tt.name, got, tt.want)
		}
		if got == 0 {
			continue
		}
		// Honest: one more request fits at exactly that moment, not a second before.
		fits := func(d time.Duration) bool {
			at := tt.elapsed + d.Seconds()/w.Seconds()
			if at < 1 {
				return float64(tt.curr+1)+float64(tt.prev)*(1-at) <= limit
			}
			return 1+float64(tt.curr)*(1-(at-1)) <= limit
		}
		if !fits(got) || fits(got-time.Second) {
			t.Errorf("%s: retryAfter %s is not the first moment a request fits", tt.name, got)
		}
	}
}

// TestPolicyValidate: a policy whose longest delay reaches the record's
// memory would never lock (waiting out the delay forgets the failures),
// and the other nonsensical ones are refused too.
func TestPolicyValidate(t *testing.T) {
	ok := DefaultPolicy()
	tests := []struct {
		name  string
		edit  func(*Policy)
		valid bool
	}{
		{"default", func(*Policy) {}, true},
		{"lock memory as long as memory (the second factor's)", func(p *Policy) { p.LockMemory = p.Memory }, true},
		{"max delay just under memory", func(p *Policy) { p.MaxDelay = p.Memory - time.Second }, true},
		{"max delay equal to memory", func(p *Policy) { p.MaxDelay = p.Memory }, false},
		{"max delay over memory", func(p *Policy) { p.MaxDelay = 2 * p.Memory }, false},
		{"base delay over max delay (capped)", func(p *Policy) { p.BaseDelay = p.MaxDelay + 1 }, true},
		{"no base delay", func(p *Policy) { p.BaseDelay = 0 }, false},
		{"negative free failures", func(p *Policy) { p.FreeFailures = -1 }, false},
		{"lock at the first failure", func(p *Policy) { p.LockAfter = 1 }, false},
		{"lock memory shorter than memory", func(p *Policy) { p.LockMemory = p.Memory - 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			if err := p.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

// TestAllowedConditionFitsDynamoDB: the condition of an attempt has one
// term per distinct delay; for the default policy and the one with the
// most distinct delays the configuration allows, it stays well within
// DynamoDB's 4 KB expression limit.
func TestAllowedConditionFitsDynamoDB(t *testing.T) {
	for _, p := range []Policy{DefaultPolicy(), {FreeFailures: 1, BaseDelay: 100 * time.Millisecond, MaxDelay: 24 * time.Hour,
		LockAfter: 100, Memory: 30 * 24 * time.Hour, LockMemory: 365 * 24 * time.Hour}} {
		s := &Store{policy: p}
		e, err := expression.NewBuilder().WithCondition(s.allowed(time.Now())).Build()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(*e.Condition()); n > 2048 {
			t.Errorf("policy %+v: condition of %d bytes", p, n)
		}
	}
}
