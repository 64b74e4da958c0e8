package requestlog

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/requestlog"

// LifecycleKinds are the items this package writes in the request-log
// table (infra/registry collects them; see package lifecycle).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "request_log", Owner: lifecycleOwner, Table: lifecycle.RequestLogTable,
		Purpose: "one signed-in API request: account id, request id, function, method, route pattern, status, error code, latency, time",
		Retention: lifecycle.Retention{Text: "90 days, then deleted by the sweep within the hour (TTL as a safety net)", TTL: true,
			Until: "account deletion"},
		Erasure: eraseRequestLogs, Export: "request_logs",
		Match: logKey(partition("x", time.Time{})),
	},
	{
		Name: "anonymous_request_log", Owner: lifecycleOwner, Table: lifecycle.RequestLogTable,
		Purpose:   "one API request made without an account (signup, login, DMCA): the same fields, no account id, kept per day",
		Retention: lifecycle.Retention{Text: "90 days, then deleted by the sweep within the hour (TTL as a safety net)", TTL: true},
		Erasure:   lifecycle.ErasedByTTL,
		Export:    lifecycle.NotExported + "it names no account, so no account's export can claim it",
		Match:     logKey(partition("", time.Time{})),
	},
	{
		Name: "request_log_watermark", Owner: lifecycleOwner, Table: lifecycle.RequestLogTable,
		Purpose:   "the sweep's watermark: the oldest expiry hour not yet known to be swept",
		Retention: lifecycle.Retention{Text: "one item, as long as the sweep runs"},
		Erasure:   lifecycle.NotPersonal,
		Export:    lifecycle.NotExported + "it is an hour, about no one",
		Match: func(pk, sk string) bool {
			return pk == attrS(watermarkKey["pk"]) && sk == attrS(watermarkKey["sk"])
		},
	},
}

// logKey matches the keys of the request logs whose partition begins as
// example's does (up to its "#"): an id or a day after it, and a sort key
// of sortKey's shape.
func logKey(example string) func(pk, sk string) bool {
	prefix, _, _ := strings.Cut(example, "#")
	prefix += "#"
	return func(pk, sk string) bool {
		ms, id, ok := strings.Cut(sk, "#")
		return len(pk) > len(prefix) && strings.HasPrefix(pk, prefix) &&
			ok && len(ms) == 13 && strings.Trim(ms, "0123456789") == "" && id != ""
	}
}

func attrS(v types.AttributeValue) string {
	s, _ := v.(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}
