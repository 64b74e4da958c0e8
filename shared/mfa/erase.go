package mfa

import "github.com/atrium-cdn/atrium/shared/deletion"

// erasure is how an account's deletion erases this package's items: every
// one lives in the account's partition, which the deletion's last step
// (deletion.StepAccount) empties before it deletes the account item, so
// this package needs no eraser of its own. The receipt counts them under
// "other_items". Nothing of theirs is held outside the state table: the
// sealing key is one per stack, not per account.
const erasure = deletion.StepAccount
