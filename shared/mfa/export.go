package mfa

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// FactorView is a factor as its owner sees it (GET /v1/mfa, the export):
// names, kinds and dates, never its secret.
type FactorView struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

// ViewFactor renders a factor for its owner.
func ViewFactor(f *Factor) FactorView {
	return FactorView{ID: f.ID, Kind: f.Kind, Name: f.Name, Status: f.Status, CreatedAt: f.CreatedAt.UTC(),
		ConfirmedAt: utc(f.ConfirmedAt), LastUsedAt: utc(f.LastUsedAt)}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// RecoveryView is the account's recovery codes as their owner sees them:
// how many are left and when they were made, never a code or its hash.
type RecoveryView struct {
	Left        int        `json:"left"`
	GeneratedAt *time.Time `json:"generated_at"`
}

// Summary is the account's second factors as GET /v1/mfa and the export
// show them.
type Summary struct {
	Factors       []FactorView `json:"factors"`
	RecoveryCodes RecoveryView `json:"recovery_codes"`
}

// Summarize reads the account's factors and recovery codes.
func (s *Store) Summarize(ctx context.Context, accountID string) (Summary, error) {
	list, err := s.Factors(ctx, accountID)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{Factors: make([]FactorView, 0, len(list))}
	for _, f := range list {
		out.Factors = append(out.Factors, ViewFactor(f))
	}
	set, found, err := s.Recovery(ctx, accountID)
	if err != nil {
		return Summary{}, err
	}
	if found {
		out.RecoveryCodes = RecoveryView{Left: len(set.Hashes), GeneratedAt: utc(&set.GeneratedAt)}
	}
	return out, nil
}

// ExportView is the export's second_factors section: the summary and the
// account's consecutive wrong codes.
type ExportView struct {
	Summary
	Failures struct {
		Count         int        `json:"count"`
		LastFailureAt *time.Time `json:"last_failure_at"`
	} `json:"failures"`
}

// Exporter is this package's section of an account's export: factors
// (names, kinds, dates), the recovery codes left, the failure count. The
// sealed secrets and the codes' hashes are never exported.
func Exporter(s *Store, limits *throttle.Store) lifecycle.Exporter {
	return lifecycle.Exporter{Section: exportSection, Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			sum, err := s.Summarize(ctx, sub.AccountID)
			if err != nil {
				return nil, err
			}
			v := ExportView{Summary: sum}
			f, err := limits.FailuresAt(ctx, FailuresKey(identity.AccountPartition(sub.AccountID)))
			if err != nil {
				return nil, err
			}
			if f.Count > 0 {
				at := time.UnixMilli(f.LastMillis).UTC()
				v.Failures.Count, v.Failures.LastFailureAt = f.Count, &at
			}
			return v, nil
		}}
}
