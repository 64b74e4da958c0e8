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


`, name) + otherSessionsNote(appURL)}
}

func passkeyRemovedMail(to, appURL, name string) mail.Message {
	return mail.Message{To: to, Subject: "A passkey was removed from your Atrium account", Text: fmt.Sprintf(
		`The passkey named %q was just removed from your Atrium account; it can
no longer sign you in.

`, name) + otherSessionsNote(appURL)}
}

// otherSessionsNote offers to end the account's other sessions after a
// change of its factors (ASVS 7.4.3).
func otherSessionsNote(appURL string) string {
	return fmt.Sprintf(`If this was not you, someone has your password and a signed-in session:
reset your password at %s/forgot-password (which ends every session), and
contact support. To end every other session now, open %s/settings/sessions and
choose "Sign out other sessions".
`, appURL, appURL)
}

func factorAddedMail(to, appURL, name string) mail.Message {
	return mail.Message{To: to, Subject: "A second factor was added to your Atrium account", Text: fmt.Sprintf(
		`An authenticator app (%q) was added to your Atrium account as a second
factor. From now on, logging in asks for one of its codes after your password.

`, name) + otherSessionsNote(appURL)}
}

func factorRemovedMail(to, appURL, name string, left int) mail.Message {
	rest := "Your account still has another second factor."
	if left == 0 {
		rest = "Your account has no second factor left, and its recovery codes were\nremoved: logging in now asks only for your password."
	}
	return mail.Message{To: to, Subject: "A second factor was removed from your Atrium account", Text: fmt.Sprintf(
		`The authenticator app %q was removed from your Atrium account.
%s

`, name, rest) + otherSessionsNote(appURL)}
}

func recoveryCodesMail(to, appURL string) mail.Message {
	return mail.Message{To: to, Subject: "New recovery codes for your Atrium account", Text: `New recovery codes were made for your Atrium account; the old ones no
longer work.

` + otherSessionsNote(appURL)}
}

func recoveryCodeUsedMail(to, appURL string, left int) mail.Message {
	return mail.Message{To: to, Subject: "A recovery code was used to log in to Atrium", Text: fmt.Sprintf(
		`A recovery code was just used to log in to your Atrium account. %d are left.
Each works once: make new ones (they replace the old) at %s/settings.

`, left, appURL) + otherSessionsNote(appURL)}
}

func secondFactorLockedMail(to, appURL string) mail.Message {
	return mail.Message{To: to, Subject: "Second-factor attempts on your Atrium account are locked", Text: fmt.Sprintf(
		`Someone entered your correct password and then many wrong second-factor
codes: second-factor attempts on your account are now locked.

Whoever did this knows your password. Reset it at %s/forgot-password.
To unlock the account, contact support (see "Lost every factor" in Atrium's
documentation).
`, appURL)}
}
