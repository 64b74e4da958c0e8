package complianceapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/mail"
)

// Emails to Atrium's own staff. Their subjects hold only ids and types
// (nothing a customer or complainant wrote); their bodies hold what the
// reader needs to act, and never a secret.

// requestMail tells the account manager about a compliance request.
func requestMail(to string, r *compliance.Request, plan string, nda *compliance.NDAAcceptance) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "A customer made a compliance request.\n\n")
	fmt.Fprintf(&b, "Request:    %s\nType:       %s\nReceived:   %s\nAccount:    %s (plan: %s)\n",
		r.ID, r.Type, r.CreatedAt.UTC().Format(time.RFC3339), r.AccountID, plan)
	switch r.Type {
	case compliance.TypeSOC2Report:
		fmt.Fprintf(&b, "NDA:        version %s accepted %s by %s (%s)\n",
			nda.Version, nda.AcceptedAt.UTC().Format(time.RFC3339), nda.SignatoryName, nda.SignatoryTitle)
	case compliance.TypeSecurityQuestionnaire:
		due := r.DueDate
		if due == "" {
			due = "none given"
		}
		fmt.Fprintf(&b, "Due date:   %s\n\nDescription:\n%s\n", due, indent(r.Description))
	case compliance.TypePentestNotice:
		fmt.Fprintf(&b, "Start:      %s\nEnd:        %s\nContact:    %s\n\nScope:\n%s\n",
			r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339), r.ContactName, indent(r.Scope))
	}
	fmt.Fprintf(&b, "\nFind the customer's contact details by the account id. The customer sees this request as %q.\n", r.Status)
	return mail.Message{To: to, Subject: fmt.Sprintf("Compliance request %s: %s", r.ID, r.Type), Text: b.String()}
}

// noticeMail forwards a DMCA notice to the designated agent.
func noticeMail(to string, n *Notice, retention time.Duration) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "A DMCA takedown notice was received through POST /v1/dmca.\n\n")
	fmt.Fprintf(&b, "Notice:       %s\nReceived:     %s\nKept until:   %s\n\n", n.ID, n.ReceivedAt.UTC().Format(time.RFC3339),
		n.ReceivedAt.Add(retention).UTC().Format(time.DateOnly))
	fmt.Fprintf(&b, "Infringing material (URL): %s\nOriginal work (URL):       %s\n\n", n.InfringingURL, n.OriginalURL)
	fmt.Fprintf(&b, "Complainant:   %s\nTelephone:     %s\nEmail:         %s\nPostal address:\n%s\n\n",
		n.ComplainantName, n.Telephone, n.Email, indent(n.PostalAddress))
	fmt.Fprintf(&b, "Statements affirmed by the complainant:\n"+
		"- good-faith belief that the use is not authorised by the owner, its agent or the law: %s\n"+
		"- the information in the notice is accurate: %s\n"+
		"- under penalty of perjury, authorised to act for the owner: %s\n\n",
		yes(n.GoodFaithStatement), yes(n.AccuracyStatement), yes(n.AuthorizedUnderPenaltyOfPerjury))
	fmt.Fprintf(&b, "Signature:     %s\n\n", n.Signature)
	fmt.Fprintf(&b, "Atrium hosts no images: identify the customer whose site serves the URL through Atrium, "+
		"and the owner or host of that site, who can remove the material.\n")
	return mail.Message{To: to, Subject: "DMCA takedown notice " + n.ID, Text: b.String()}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// indent sets a customer's multi-line text apart from Atrium's own lines.
func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }
