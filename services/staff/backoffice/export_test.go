package backoffice

import "time"

// SetLiveTimings shortens the live streams' heartbeat, longest duration
// and gathering of events for a test; restore puts them back.
func SetLiveTimings(heartbeat, longest, gather time.Duration) (restore func()) {
	h, l, g := liveHeartbeat, liveMaxDuration, liveGather
	liveHeartbeat, liveMaxDuration, liveGather = heartbeat, longest, gather
	return func() { liveHeartbeat, liveMaxDuration, liveGather = h, l, g }
}

// LiveMaxPerSession is how many live streams a session may hold.
const LiveMaxPerSession = liveMaxPerSession

// AuditAction names an audit log action in French.
var AuditAction = auditAction
