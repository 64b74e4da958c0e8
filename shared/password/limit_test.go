package password

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/cfn"
)

func TestLimitFor(t *testing.T) {
	tests := []struct {
		name       string
		f          Function
		memoryKiB  uint32
		work       uint64
		threads    uint8
		bcryptCost int
		floorFits  bool
	}{
		// 10 s/4 × 256/1769 of a vCPU = 0.362 s of vCPU; / 2 µs per KiB-pass.
		{"template auth, 256 MB, 10 s", Function{256, 10 * time.Second}, 64 * 1024, 180893, 1, 10, true},
		{"512 MB, 10 s", Function{512, 10 * time.Second}, 128 * 1024, 361786, 1, 11, true},
		{"1024 MB, 30 s: memory capped at Ceiling", Function{1024, 30 * time.Second}, 256 * 1024, 2170717, 1, 14, true},
		{"1769 MB (one vCPU), 10 s", Function{1769, 10 * time.Second}, 256 * 1024, 1250000, 1, 13, true},
		{"10240 MB, 15 min: six vCPUs", Function{10240, 15 * time.Minute}, 256 * 1024, 112500000, 6, 14, true},
		{"128 MB, 10 s", Function{128, 10 * time.Second}, 32 * 1024, 90446, 1, 9, true},
		{"128 MB, 3 s: too small for Floor", Function{128, 3 * time.Second}, 27133, 27133, 1, 7, false},
		{"zero is clamped to 128 MB, 1 s", Function{}, 9044, 9044, 1, 6, false},
		{"beyond Lambda is clamped to 10240 MB, 15 min", Function{1 << 30, 1 << 62}, 256 * 1024, 112500000, 6, 14, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := LimitFor(tt.f)
			want := Limit{Params: Params{MemoryKiB: tt.memoryKiB, Time: Ceiling.Time, Threads: tt.threads,
				SaltLen: Ceiling.SaltLen, KeyLen: Ceiling.KeyLen}, Work: tt.work, BcryptCost: tt.bcryptCost}
			if l != want {
				t.Fatalf("LimitFor(%+v) = %+v; want %+v", tt.f, l, want)
			}
			// The rule, restated: a quarter of the memory, and a quarter of
			// the timeout at the modelled speed.
			mb := min(max(tt.f.MemoryMB, MinFunctionMemoryMB), MaxFunctionMemoryMB)
			timeout := min(max(tt.f.Timeout, time.Second), MaxFunctionTimeout)
			share := float64(min(mb, lambdaMBPerVCPU)) / lambdaMBPerVCPU
			if got := float64(l.MemoryKiB) / 1024; got > float64(mb)/4 {
				t.Errorf("memory limit %.0f MiB is above a quarter of %d MB", got, mb)
			}
			if got := time.Duration(float64(l.Work) * argon2NsPerKiBPass / share); got > timeout/4 {
				t.Errorf("modelled argon2id time %v is above a quarter of %v", got, timeout)
			}
			if got := time.Duration(float64(uint64(1)<<l.BcryptCost) * bcryptNsPerRound / share); got > timeout/4 {
				t.Errorf("modelled bcrypt time %v is above a quarter of %v", got, timeout)
			}
			_, err := NewHasherWithLimit(Floor, l)
			if tt.floorFits != (err == nil) {
				t.Fatalf("NewHasherWithLimit(Floor) = %v; want it to fit: %v", err, tt.floorFits)
			}
			if !tt.floorFits && !errors.Is(err, ErrParamsTooHigh) {
				t.Fatalf("NewHasherWithLimit(Floor) = %v; want ErrParamsTooHigh", err)
			}
		})
	}
}

// TestTemplateAuthFunction keeps TemplateAuthFunction equal to the auth
// function's memory and timeout in template.yaml (its own or the Globals'),
// and checks that the Default parameters fit the limit they give.
func TestTemplateAuthFunction(t *testing.T) {
	tpl, err := cfn.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	auth, ok := tpl.Resources["AuthFunction"]
	if !ok {
		t.Fatal("template.yaml has no AuthFunction")
	}
	globals, _ := tpl.Globals["Function"].(map[string]any)
	setting := func(name string) int {
		v, ok := auth.Properties[name]
		if !ok {
			v = globals[name]
		}
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil {
			t.Fatalf("AuthFunction %s = %v, not a number", name, v)
		}
		return n
	}
	got := Function{MemoryMB: setting("MemorySize"), Timeout: time.Duration(setting("Timeout")) * time.Second}
	if got != TemplateAuthFunction {
		t.Fatalf("template.yaml's auth function is %+v; TemplateAuthFunction says %+v", got, TemplateAuthFunction)
	}
	l := LimitFor(got)
	h, err := NewHasherWithLimit(Default, l)
	if err != nil {
		t.Fatalf("Default %+v does not fit the auth function's limit %+v: %v", Default, l, err)
	}
	if h.Limit() != l {
		t.Fatalf("Hasher limit = %+v; want %+v", h.Limit(), l)
	}
	// A decoy, made at Default, must verify (unsuccessfully) without error.
	decoy, err := h.DecoyHash()
	if err != nil {
		t.Fatal(err)
	}
	h.idKey = func(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte { return make([]byte, keyLen) }
	if _, _, err := h.Verify(testPassword, decoy); err != nil {
		t.Fatalf("Verify against a decoy at Default: %v", err)
	}
}

func TestNewHasherWithLimitCapsAtCeiling(t *testing.T) {
	huge := Limit{Params: Params{MemoryKiB: 1 << 31, Time: 1 << 31, Threads: 255, SaltLen: 1 << 20, KeyLen: 1 << 20},
		Work: 1 << 62, BcryptCost: 31}
	h, err := NewHasherWithLimit(Floor, huge)
	if err != nil {
		t.Fatal(err)
	}
	want := Limit{Params: Ceiling, Work: 1 << 62, BcryptCost: MaxBcryptCost}
	if h.Limit() != want {
		t.Fatalf("Limit = %+v; want every axis capped: %+v", h.Limit(), want)
	}
	if _, err := NewHasherWithLimit(Params{MemoryKiB: 64 * 1024, Time: 3, Threads: 1}, LimitFor(Function{MemoryMB: 256, Timeout: 10 * time.Second})); !errors.Is(err, ErrParamsTooHigh) {
		t.Fatalf("work above the limit: NewHasherWithLimit = %v; want ErrParamsTooHigh", err)
	}
}
