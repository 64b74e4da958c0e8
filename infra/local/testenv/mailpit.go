package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Mail is one message as Mailpit holds it.
type Mail struct {
	ID      string
	Subject string
	To      []string
	Text    string
}

type mailpitSummary struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// Mails returns every message Mailpit holds for the address, newest first.
func Mails(t testing.TB, to string) []Mail {
	t.Helper()
	base := MailpitURL(t)
	var list struct {
		Messages []mailpitSummary `json:"messages"`
	}
	getJSON(t, base+"/api/v1/search?query="+url.QueryEscape(fmt.Sprintf("to:%q", to)), &list)
	var out []Mail
	for _, m := range list.Messages {
		var full struct {
			Text string `json:"Text"`
		}
		getJSON(t, base+"/api/v1/message/"+url.PathEscape(m.ID), &full)
		mail := Mail{ID: m.ID, Subject: m.Subject, Text: full.Text}
		for _, a := range m.To {
			mail.To = append(mail.To, a.Address)
		}
		out = append(out, mail)
	}
	return out
}

// WaitForMails waits until the address has received n messages and returns
// them, newest first; it fails the test after 10 s.
func WaitForMails(t testing.TB, to string, n int) []Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := Mails(t, to)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("expected %d emails to %s, got %d", n, to, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var tokenInLink = regexp.MustCompile(`#token=([A-Za-z0-9_-]+)`)

// LinkToken returns the token carried by the link in an email.
func LinkToken(t testing.TB, m Mail) string {
	t.Helper()
	match := tokenInLink.FindStringSubmatch(strings.ReplaceAll(m.Text, "=\r\n", ""))
	if match == nil {
		t.Fatalf("no token link in email %q", m.Subject)
	}
	return match[1]
}

func getJSON(t testing.TB, u string, dst any) {
	t.Helper()
	resp, err := http.Get(u) // #nosec G107 -- the local Mailpit's API, from the test environment
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		t.Fatalf("mailpit: decode: %v", err)
	}
}

// WaitForMailNaming waits up to 10 s for an email to the address whose
// subject and text both name id, and returns it. Mailboxes shared by every
// test and run (the local stack's staff addresses) need this rather than a
// count.
func WaitForMailNaming(t testing.TB, to, id string) Mail {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		for _, m := range Mails(t, to) {
			if strings.Contains(m.Subject, id) && strings.Contains(m.Text, id) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s names %s", to, id)
		}
	}
}
