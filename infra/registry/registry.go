// Package registry collects, in one list, the lifecycle kinds every owning
// package exports (see package lifecycle): what is kept, why, for how long,
// how an account's deletion erases it and where the export shows it.
//
// The list lives here, not in shared/lifecycle, because it must import
// every owner, and the owners import shared/lifecycle for its types; and
// not in shared/ at all, because two owners are function packages
// (authapi's per-client counters, complianceapi's DMCA notices) and no
// shared package imports a function's. A new kind of item is registered
// in its owner's lifecycle.go; a new owning package adds one line below.
package registry

import (
	"github.com/atrium-cdn/atrium/functions/auth/authapi"
	"github.com/atrium-cdn/atrium/functions/compliance/complianceapi"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// Owners lists each owning package's kinds.
func Owners() [][]lifecycle.Kind {
	return [][]lifecycle.Kind{
		identity.LifecycleKinds,
		passkeys.LifecycleKinds,
		mfa.LifecycleKinds,
		throttle.LifecycleKinds,
		authapi.LifecycleKinds,
		sources.LifecycleKinds,
		billing.LifecycleKinds,
		compliance.LifecycleKinds,
		complianceapi.LifecycleKinds,
		deletion.LifecycleKinds,
		requestlog.LifecycleKinds,
	}
}

// All returns the registry of every kind; an error names each registration
// that is incomplete or registered twice.
func All() (*lifecycle.Registry, error) {
	return lifecycle.New(Owners()...)
}
