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
