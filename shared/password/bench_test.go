package password

import (
	"strings"
	"testing"
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
