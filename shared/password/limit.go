package password

import (
	"fmt"
	"math/bits"
	"time"
)

// Function is what a [Hasher] runs in: an AWS Lambda function's configured
// memory and timeout. Lambda tells a function its memory in the environment
// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB) but not its timeout, so the
// function's configuration has to say that (authapi reads FUNCTION_TIMEOUT).
type Function struct {
	MemoryMB int           // memory, in Lambda's MB (MiB)
	Timeout  time.Duration // timeout of one invocation
}

// TemplateAuthFunction is the auth function as template.yaml configures it
// (MemorySize 1024, the Globals' Timeout 10). It is the default wherever the
// real values are not known: on the local stack, and in [NewHasher].
var TemplateAuthFunction = Function{MemoryMB: 1024, Timeout: 10 * time.Second}

// Lambda's bounds on a function's memory, in MB.
const (
	MinFunctionMemoryMB = 128
	MaxFunctionMemoryMB = 10240
	// MaxFunctionTimeout is Lambda's longest timeout.
	MaxFunctionTimeout = 15 * time.Minute
)

// The cost model of [LimitFor].
const (
	// lambdaMBPerVCPU is the memory at which Lambda gives a function the
	// equivalent of one full vCPU; below it, a function gets that fraction of
	// one, and above it, one more vCPU per step (six at 10240 MB).
	lambdaMBPerVCPU = 1769
	// argon2NsPerKiBPass is the time argon2id takes per KiB of memory per pass
	// on one full vCPU, at the slowest speed we consider plausible.
	// BenchmarkArgon2idPerKiBPass measured 0.65 to 1.1 µs on one core of
	// the development machine (AMD EPYC, with the assembly compression
	// function), 0.9 to 1.6 µs with -tags purego (the code arm64 runs, as
	// Lambda does), and up to 2.4 µs at m=256 MiB on a busy host. 2 µs
	// covers the pure-Go code, large memory's cache misses and a noisy host.
	argon2NsPerKiBPass = 2000
	// bcryptNsPerRound is the time bcrypt takes per 2^cost unit of work on
	// one full vCPU, at the slowest plausible speed: BenchmarkBcryptPerRound
	// measured 60 to 220 µs on the development machine (the high end on a
	// busy host).
	bcryptNsPerRound = 250_000
	// budgetDivisor: one verification may take a quarter of the function's
	// timeout and ask for a quarter of its memory. See [LimitFor].
	budgetDivisor = 4
)

// Limit bounds the work of one argon2id or bcrypt computation: what a stored
// hash may ask [Hasher.Verify] for, and what a Hasher may hash with. A stored
// hash beyond it is refused with [ErrParamsTooHigh] before any hashing.
type Limit struct {
	// Params holds the most each axis may take on its own: memory, passes,
	// lanes, salt and key lengths. Never above [Ceiling].
	Params
	// Work is the most MemoryKiB×Time (KiB-passes), the quantity argon2id's
	// running time is proportional to.
	Work uint64
	// BcryptCost is the highest cost of a legacy bcrypt hash; never above
	// [MaxBcryptCost].
	BcryptCost int
}

// LimitFor derives the limit for a function from its memory and timeout, so
// that a hash planted in the database cannot make one verification exhaust
// the function. The rule:
//
//   - Memory: at most a quarter of the function's memory. Go's collector lets
//     the heap grow to about twice the live data, so a verification in
//     progress can cost twice its m in resident memory; a quarter leaves the
//     other half for the runtime, the SDK clients and the request.
//   - Time: at most a quarter of the timeout, at the slowest plausible speed:
//     argon2id at 2 µs per KiB per pass and bcrypt at 250 µs per 2^cost on a
//     full vCPU, times the share of a vCPU Lambda gives the function
//     (MemoryMB/1769, at most 1: extra lanes are not counted on to help).
//     Work = timeout/4 × share / 2 µs, in KiB-passes. A quarter, because a
//     login may verify twice (a password whose normalised form differs is
//     also checked as typed, see [Hasher.Verify]) and then re-hash, and must
//     still leave time for its reads, writes and email.
//   - Lanes: at most the vCPUs Lambda gives that memory, ceil(MemoryMB/1769).
//   - Every axis stays within [Ceiling], and bcrypt within [MaxBcryptCost].
//
// For the template's auth function (256 MB, 10 s) that is m ≤ 64 MiB,
// m×t ≤ 180893 KiB-passes (Floor needs 38912), p ≤ 1, bcrypt cost ≤ 10.
// A Function outside Lambda's bounds (128 to 10240 MB, 1 s to 15 min) is
// moved to the nearest bound. A limit below what [Floor] needs (a 128 MB
// function with a 3 s timeout) makes [NewHasherWithLimit] refuse Floor with
// [ErrParamsTooHigh]: such a function cannot verify passwords safely.
func LimitFor(f Function) Limit {
	mb := uint64(min(max(f.MemoryMB, MinFunctionMemoryMB), MaxFunctionMemoryMB))          // #nosec G115 -- clamped to [128, 10240]
	timeout := uint64(min(max(f.Timeout, time.Second), MaxFunctionTimeout).Nanoseconds()) // #nosec G115 -- clamped to [1 s, 15 min]
	// The time one verification may take, in ns of one full vCPU: a quarter
	// of the timeout times the function's share of a vCPU (shareMB/1769).
	// At most 2.25e11 × 1769, far from overflowing.
	shareMB := min(mb, lambdaMBPerVCPU)
	budget := timeout / budgetDivisor * shareMB / lambdaMBPerVCPU

	l := Limit{Params: Ceiling, BcryptCost: MaxBcryptCost}
	l.Work = budget / argon2NsPerKiBPass
	l.MemoryKiB = uint32(min(uint64(Ceiling.MemoryKiB), mb*1024/budgetDivisor, l.Work)) // #nosec G115 -- at most Ceiling.MemoryKiB
	vcpus := (mb + lambdaMBPerVCPU - 1) / lambdaMBPerVCPU
	l.Threads = uint8(min(uint64(Ceiling.Threads), vcpus)) // #nosec G115 -- at most Ceiling.Threads
	// The highest cost c with 2^c rounds within the budget.
	rounds := budget / bcryptNsPerRound
	cost := 0
	if rounds > 0 {
		cost = bits.Len64(rounds) - 1
	}
	l.BcryptCost = min(cost, MaxBcryptCost)
	return l
}

// check reports whether a Hasher may hash with p under l: every axis within
// [Floor] and l, and the work within l.Work.
func (l Limit) check(p Params) error {
	if err := p.validate(Floor, l.Params); err != nil {
		return err
	}
	if w := uint64(p.MemoryKiB) * uint64(p.Time); w > l.Work {
		return fmt.Errorf("%w: work (memory × time) %d KiB-passes is above %d for this function", ErrParamsTooHigh, w, l.Work)
	}
	return nil
}
