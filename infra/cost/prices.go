package cost

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Prices are on-demand prices in USD, as stated on AWS's pricing pages on
// the date given.
type Prices struct {
	Region, Date string
	// DynamoDB on demand, standard table class: per million request units.
	WriteRequestUnitsPerMillion, ReadRequestUnitsPerMillion float64
	// Lambda, arm64: per GB-second of duration and per million requests.
	LambdaGBSecond, LambdaRequestsPerMillion float64
	// Secrets Manager: per 10,000 API calls.
	SecretsManagerPer10k float64
	// API Gateway HTTP API: per million requests (the first 300 million a month).
	HTTPAPIPerMillion float64
	// CloudWatch Logs: per GB ingested (standard log class).
	LogsIngestedPerGB float64
	// SES: per 1,000 emails sent.
	EmailPer1000 float64
}

// USEast1 are the prices this package states (us-east-1, on demand):
//   - DynamoDB: https://aws.amazon.com/dynamodb/pricing/on-demand/
//   - Lambda: https://aws.amazon.com/lambda/pricing/ (arm64)
//   - Secrets Manager: https://aws.amazon.com/secrets-manager/pricing/
//   - API Gateway: https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs)
//   - CloudWatch Logs: https://aws.amazon.com/cloudwatch/pricing/
//   - SES: https://aws.amazon.com/ses/pricing/
var USEast1 = Prices{
	Region: "us-east-1", Date: "2026-12-07",
	WriteRequestUnitsPerMillion: 0.625, ReadRequestUnitsPerMillion: 0.125,
	LambdaGBSecond: 0.0000133334, LambdaRequestsPerMillion: 0.20,
	SecretsManagerPer10k: 0.05,
	HTTPAPIPerMillion:    1.00,
	LogsIngestedPerGB:    0.50,
	EmailPer1000:         0.10,
}

// FullVCPUMB is the memory at which Lambda gives a function one full vCPU
// (one vCPU-second of credits per second); below it a function gets that
// fraction of one.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
const FullVCPUMB = 1769

// CPUShare is the share of one vCPU a function with memoryMB gets. Atrium's
// handlers run one request at a time on one goroutine's worth of CPU
// (argon2id at p=1), so more than one vCPU is not counted.
func CPUShare(memoryMB int) float64 { return math.Min(1, float64(memoryMB)/FullVCPUMB) }

// Duration is the model of a flow's duration in Lambda at memoryMB: its CPU
// time at the function's CPU share, plus the time it waits for I/O, which
// does not depend on memory.
func Duration(cpu, ioWait time.Duration, memoryMB int) time.Duration {
	return time.Duration(float64(cpu)/CPUShare(memoryMB)) + ioWait
}

// GBSeconds is what Lambda bills for d at memoryMB: d rounded up to the
// millisecond, times the memory in GB (MB/1024).
func GBSeconds(d time.Duration, memoryMB int) float64 {
	ms := math.Ceil(float64(d) / float64(time.Millisecond))
	return ms / 1000 * float64(memoryMB) / 1024
}

// Usage is what one flow used, as measured (per flow, averaged over the runs).
type Usage struct {
	Flow     string
	Function string // the Lambda function that serves it
	HTTP     bool   // through the HTTP API (API Gateway charges it)
	// DynamoDB calls by operation, and their charged units.
	Calls map[string]float64
	Units Units
	// RequestLogUnits are the units spent on the request-log table (P6).
	RequestLogUnits Units
	SecretsManager  float64 // calls
	Stripe          float64 // calls
	Emails          float64
	LogBytes        float64 // the function's log lines
	CPU, Wall       time.Duration
	PeakHeap        uint64 // bytes of heap the flow grew by, at most
	MemoryMB        int    // the function's MemorySize
	Invocations     float64
	CallsToDynamoDB float64
	// LocalUnits are what DynamoDB Local reported for the same calls.
	LocalUnits Units
}

// IOWait is the measured time not spent on the CPU: waiting for DynamoDB,
// Secrets Manager, Stripe, SMTP.
func (u Usage) IOWait() time.Duration { return max(0, u.Wall-u.CPU) }

// Breakdown is USD per million flows, by what pays it.
type Breakdown struct {
	DynamoDB, Lambda, SecretsManager, APIGateway, Logs, Email float64
	// RequestLog is the part of DynamoDB spent on the request-log table.
	RequestLog float64
}

// Total is the sum of every line (RequestLog is inside DynamoDB).
func (b Breakdown) Total() float64 {
	return b.DynamoDB + b.Lambda + b.SecretsManager + b.APIGateway + b.Logs + b.Email
}

// PerMillion prices a million flows like u at p, with the function at memoryMB.
func (u Usage) PerMillion(p Prices, memoryMB int) Breakdown {
	const million = 1e6
	ddb := func(x Units) float64 {
		return x.Write*p.WriteRequestUnitsPerMillion + x.Read*p.ReadRequestUnitsPerMillion
	}
	var b Breakdown
	b.DynamoDB = ddb(u.Units)
	b.RequestLog = ddb(u.RequestLogUnits)
	d := Duration(u.CPU, u.IOWait(), memoryMB)
	gbs := GBSeconds(d, memoryMB)
	if u.Invocations < 1 {
		// A share of an invocation (a sweep's cost per item): its duration
		// is not rounded up on its own.
		gbs = d.Seconds() * float64(memoryMB) / 1024
	}
	b.Lambda = gbs*p.LambdaGBSecond*million + u.Invocations*p.LambdaRequestsPerMillion
	b.SecretsManager = u.SecretsManager * p.SecretsManagerPer10k * million / 10000
	if u.HTTP {
		b.APIGateway = p.HTTPAPIPerMillion
	}
	b.Logs = u.LogBytes * million / (1 << 30) * p.LogsIngestedPerGB
	b.Email = u.Emails * p.EmailPer1000 * million / 1000
	return b
}

// callList is "3 GetItem, 1 PutItem" for the calls, most first.
func callList(calls map[string]float64) string {
	type kv struct {
		k string
		v float64
	}
	var l []kv
	for k, v := range calls {
		if v > 0 {
			l = append(l, kv{k, v})
		}
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].v != l[j].v {
			return l[i].v > l[j].v
		}
		return l[i].k < l[j].k
	})
	var parts []string
	for _, e := range l {
		parts = append(parts, trimFloat(e.v)+" "+e.k)
	}
	return strings.Join(parts, ", ")
}

func trimFloat(v float64) string {
	if r := math.Round(v); math.Abs(v-r) < 1e-6 {
		v = r // a mean of whole counts, up to rounding
	}
	switch {
	case v == math.Trunc(v), v >= 10:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteCostTable prints the cost of each flow as a Markdown table, at each
// function's MemorySize.
func WriteCostTable(w io.Writer, p Prices, flows []Usage) {
	fmt.Fprintf(w, "Prices: %s on demand, %s: DynamoDB $%g per million WRU, $%g per million RRU; Lambda arm64 $%g per GB-s and $%g per million requests; "+
		"Secrets Manager $%g per 10,000 calls; HTTP API $%g per million; CloudWatch Logs $%g per GB ingested; SES $%g per 1,000 emails.\n\n",
		p.Region, p.Date, p.WriteRequestUnitsPerMillion, p.ReadRequestUnitsPerMillion, p.LambdaGBSecond, p.LambdaRequestsPerMillion,
		p.SecretsManagerPer10k, p.HTTPAPIPerMillion, p.LogsIngestedPerGB, p.EmailPer1000)
	fmt.Fprintln(w, "| flow | function (MB) | DynamoDB calls | RRU | WRU | of which request log (R/W) | Secrets Manager | Stripe | emails | CPU ms | wall ms | Lambda ms (model) | GB-s | log bytes | USD per million: DynamoDB | Lambda | SM | API GW | logs | email | **total** |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, u := range flows {
		b := u.PerMillion(p, u.MemoryMB)
		d := Duration(u.CPU, u.IOWait(), u.MemoryMB)
		calls := callList(u.Calls)
		if calls == "" {
			calls = "0"
		} else {
			calls = trimFloat(u.CallsToDynamoDB) + ": " + calls
		}
		fmt.Fprintf(w, "| %s | %s (%d) | %s | %.1f | %.1f | %.1f / %.1f | %s | %s | %s | %.1f | %.1f | %.0f | %.5f | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | **%.2f** |\n",
			u.Flow, u.Function, u.MemoryMB, calls, u.Units.Read, u.Units.Write, u.RequestLogUnits.Read, u.RequestLogUnits.Write,
			trimFloat(u.SecretsManager), trimFloat(u.Stripe), trimFloat(u.Emails),
			ms(u.CPU), ms(u.Wall), ms(d), GBSeconds(d, u.MemoryMB), u.LogBytes,
			b.DynamoDB, b.Lambda, b.SecretsManager, b.APIGateway, b.Logs, b.Email, b.Total())
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MemorySizes are the settings the memory model compares.
var MemorySizes = []int{256, 512, 1024, 1769}

// WriteMemoryTable prints, for each flow grouped by function, the model's
// duration and its Lambda cost (duration and request) per million at each
// of sizes.
func WriteMemoryTable(w io.Writer, p Prices, flows []Usage, sizes []int) {
	fmt.Fprintf(w, "Model: Lambda ms = CPU ms / share + I/O wait ms, share = min(1, MB / %d) (one vCPU at %d MB); "+
		"USD per million = GB-s x $%g + $%g (requests), Lambda only.\n\n", FullVCPUMB, FullVCPUMB, p.LambdaGBSecond, p.LambdaRequestsPerMillion)
	head := "| function | flow | CPU ms | I/O ms | peak heap MB |"
	sep := "|---|---|---:|---:|---:|"
	for _, s := range sizes {
		head += fmt.Sprintf(" ms @%d | USD/M @%d |", s, s)
		sep += "---:|---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	sorted := slices.Clone(flows)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Function < sorted[j].Function })
	for _, u := range sorted {
		if u.Invocations < 1 {
			continue // a share of an invocation: no duration of its own
		}
		line := fmt.Sprintf("| %s | %s | %.1f | %.1f | %.1f |", u.Function, u.Flow, ms(u.CPU), ms(u.IOWait()), float64(u.PeakHeap)/(1<<20))
		for _, s := range sizes {
			d := Duration(u.CPU, u.IOWait(), s)
			usd := GBSeconds(d, s)*p.LambdaGBSecond*1e6 + p.LambdaRequestsPerMillion
			line += fmt.Sprintf(" %.0f | %.2f |", ms(d), usd)
		}
		fmt.Fprintln(w, line)
	}
}

// WriteUnitsTable prints, per flow, the units DynamoDB Local reported next
// to the units charged (Charge).
func WriteUnitsTable(w io.Writer, flows []Usage) {
	fmt.Fprintln(w, "| flow | RRU reported by DynamoDB Local | RRU charged | WRU reported by DynamoDB Local | WRU charged |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, u := range flows {
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | %.1f |\n", u.Flow, u.LocalUnits.Read, u.Units.Read, u.LocalUnits.Write, u.Units.Write)
	}
}
