package password

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func BenchmarkHash(b *testing.B) {
	h, _ := floorHasher(b)
	for b.Loop() {
		if _, err := h.Hash(testPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, encoded := floorHasher(b)
	for b.Loop() {
		if ok, _, err := h.Verify(testPassword, encoded); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
}

// bench256 is a 256-byte acceptable password without repeats.
func bench256() string {
	var sb strings.Builder
	for x := uint32(88172645); sb.Len() < 256; {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		sb.WriteByte(byte('!' + x%94))
	}
	return sb.String()
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := DefaultPolicy()
	pw := bench256()
	for b.Loop() {
		if err := p.Check(pw, "jane.doe@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPolicyCheckWorstCase feeds the input that is slowest for zxcvbn
// among those we found: dense l33t characters, which multiply its
// dictionary passes.
func BenchmarkPolicyCheckWorstCase(b *testing.B) {
	p := DefaultPolicy()
	pw := strings.Repeat("4@8({[<369!|1705$+%2", 13)[:256]
	for b.Loop() {
		_ = p.Check(pw, "jane.doe@example.com")
	}
}

// BenchmarkArgon2idPerKiBPass calibrates the cost model of VerifyLimitFor:
// it reports the nanoseconds argon2id spends per KiB of memory per pass on
// one lane (ns/KiB-pass). Run it with -tags purego too: arm64, where Lambda
// runs us, has no assembly for argon2's compression function.
func BenchmarkArgon2idPerKiBPass(b *testing.B) {
	salt := make([]byte, 16)
	for _, p := range []Params{Floor, {MemoryKiB: 64 * 1024, Time: 1, Threads: 1, KeyLen: 32}} {
		b.Run(fmt.Sprintf("m=%d,t=%d", p.MemoryKiB, p.Time), func(b *testing.B) {
			for b.Loop() {
				argon2.IDKey([]byte(testPassword), salt, p.Time, p.MemoryKiB, p.Threads, 32)
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perOp/float64(uint64(p.MemoryKiB)*uint64(p.Time)), "ns/KiB-pass")
		})
	}
}

// BenchmarkNormalize measures Normalize on a 256-byte password that takes
// every step (invisible characters, spaces, NFKC, the OpaqueString check).
func BenchmarkNormalize(b *testing.B) {
	pw := boundedPrefix(strings.Repeat("ｐａ\u200bs\u00a0e\u0301\ufb01", 16), 256)
	for b.Loop() {
		if _, err := Normalize(pw); err != nil {
			b.Fatal(err)
		}
	}
}
