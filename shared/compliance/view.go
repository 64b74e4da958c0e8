package compliance

import "time"

// NDAView is an NDA acceptance as the API shows it.
type NDAView struct {
	Version        string    `json:"version"`
	AcceptedAt     time.Time `json:"accepted_at"`
	SignatoryName  string    `json:"signatory_name"`
	SignatoryTitle string    `json:"signatory_title"`
}

// ViewNDA renders an acceptance for the API (and the GDPR export).
func ViewNDA(a NDAAcceptance) NDAView {
	return NDAView{Version: a.Version, AcceptedAt: a.AcceptedAt.UTC(), SignatoryName: a.SignatoryName, SignatoryTitle: a.SignatoryTitle}
}

// RequestView is a compliance request as the API shows it.
type RequestView struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	NDAVersion  string     `json:"nda_version,omitempty"`
	Description string     `json:"description,omitempty"`
	DueDate     string     `json:"due_date,omitempty"`
	Scope       string     `json:"scope,omitempty"`
	Start       *time.Time `json:"start,omitempty"`
	End         *time.Time `json:"end,omitempty"`
	ContactName string     `json:"contact_name,omitempty"`
}

// ViewRequest renders a request for the API (and the GDPR export).
func ViewRequest(r Request) RequestView {
	v := RequestView{ID: r.ID, Type: r.Type, Status: r.Status, CreatedAt: r.CreatedAt.UTC(), NDAVersion: r.NDAVersion,
		Description: r.Description, DueDate: r.DueDate, Scope: r.Scope, ContactName: r.ContactName}
	if r.Start != nil {
		t := r.Start.UTC()
		v.Start = &t
	}
	if r.End != nil {
		t := r.End.UTC()
		v.End = &t
	}
	return v
}
