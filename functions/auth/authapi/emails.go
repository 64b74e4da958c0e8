package authapi

import (
	"fmt"

	"github.com/atrium-cdn/atrium/shared/mail"
)

// The links point at the dashboard; the token travels in the URL fragment,
// which browsers never send to a server or in a Referer header.

func verificationMail(to, appURL, token string) mail.Message {
	return mail.Message{To: to, Subject: "Confirm your email address for Atrium", Text: fmt.Sprintf(
		`Welcome to Atrium.

To confirm this address and activate your account, open this link within 24 hours:

%s/verify-email#token=%s

If you did not sign up for Atrium, ignore this email: no account is created
unless the link is opened, and this address's unconfirmed signup is removed
after 7 days.
`, appURL, token)}
}

func alreadyRegisteredMail(to, appURL string) mail.Message {
	return mail.Message{To: to, Subject: "You already have an Atrium account", Text: fmt.Sprintf(
		`Someone, probably you, tried to sign up for Atrium with this address,
which already has an account. No new account was created.

To log in, go to %s/login
If you have forgotten your password, reset it at %s/forgot-password

If this was not you, you can ignore this email: your account is unchanged.
`, appURL, appURL)}
}

func resetMail(to, appURL, token string) mail.Message {
	return mail.Message{To: to, Subject: "Reset your Atrium password", Text: fmt.Sprintf(
		`Someone, probably you, asked to reset the password of your Atrium account.

To choose a new password, open this link within 1 hour:

%s/reset-password#token=%s

Resetting signs you out everywhere. If you did not ask for this, ignore this
email: your password stays as it is.
`, appURL, token)}
}

func passwordChangedMail(to, appURL string) mail.Message {
	return mail.Message{To: to, Subject: "Your Atrium password was changed", Text: fmt.Sprintf(
		`The password of your Atrium account was just changed, and your other
sessions were signed out.

If this was you, there is nothing to do.
If it was not, reset your password now at %s/forgot-password and review
your sessions at %s/settings/sessions
`, appURL, appURL)}
}

func lockedMail(to, appURL string) mail.Message {
	return mail.Message{To: to, Subject: "Your Atrium account is locked", Text: fmt.Sprintf(
		`There have been too many failed attempts to log in to your Atrium account,
so logging in with a password is now locked.

To unlock it, reset your password at %s/forgot-password
Your current sessions are not affected. If the failed attempts were not
yours, someone may be guessing your password: choose a new, unique one.
`, appURL)}
}

func signInAfterFailuresMail(to, appURL string, failures int) mail.Message {
	return mail.Message{To: to, Subject: "New sign-in to your Atrium account", Text: fmt.Sprintf(
		`Your Atrium account was just signed in to, after %d failed attempts in a row.

If this was you, there is nothing to do.
If it was not, reset your password at %s/forgot-password and review your
sessions at %s/settings/sessions
`, failures, appURL, appURL)}
}

func signInAfterLockoutMail(to, appURL string) mail.Message {
	return mail.Message{To: to, Subject: "New sign-in to your Atrium account", Text: fmt.Sprintf(
		`Your Atrium account was just signed in to, for the first time since it was
locked after too many failed attempts and its password was reset.

If this was you, there is nothing to do.
If it was not, reset your password at %s/forgot-password and review your
sessions at %s/settings/sessions
`, appURL, appURL)}
}

func deletionAcceptedMail(to, appURL, deletionID string) mail.Message {
	return mail.Message{To: to, Subject: "Your Atrium account is being deleted", Text: fmt.Sprintf(
		`Your Atrium account is being deleted, as you asked. It can no longer be
used: every session has ended and logins are refused.

Within minutes, everything it holds is deleted: your storage sources and
their keys, your request logs, your sessions, your billing link, and your
Stripe customer with any subscription (cancelled at once).

Deletion %s. Follow it, and keep its receipt, at
%s/account-deleted#deletion=%s

This is the last email this account sends. You may sign up again with this
address once the deletion is done.
`, deletionID, appURL, deletionID)}
}

func passkeyAddedMail(to, appURL, name string) mail.Message {
	return mail.Message{To: to, Subject: "A passkey was added to your Atrium account", Text: fmt.Sprintf(
		`A passkey named %q was just added to your Atrium account. It can sign
you in without your password, and as a second step after it.

If this was you, there is nothing to do.
If it was not, remove it at %s/settings/security, reset your password at
%s/forgot-password and review your sessions at %s/settings/sessions
`, name, appURL, appURL, appURL)}
}

func passkeyRemovedMail(to, appURL, name string) mail.Message {
	return mail.Message{To: to, Subject: "A passkey was removed from your Atrium account", Text: fmt.Sprintf(
		`The passkey named %q was just removed from your Atrium account; it can
no longer sign you in.

If this was you, there is nothing to do.
If it was not, reset your password at %s/forgot-password and review your
passkeys at %s/settings/security and your sessions at %s/settings/sessions
`, name, appURL, appURL, appURL)}
}
