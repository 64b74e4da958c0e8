package requestlog

import "time"

// SetWriteTimeout shortens a recorder's write timeout, for the tests.
func SetWriteTimeout(rec *Recorder, d time.Duration) { rec.timeout = d }

// WriteTimeout is the recorder's default write timeout.
const WriteTimeout = writeTimeout
