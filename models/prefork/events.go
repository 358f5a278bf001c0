package prefork

import "github.com/corebench/corebench/models/prefork/control"

const (
	watchBuffer = 1024 // how far a watcher may fall behind before it is cut off
	eventTail   = 200  // recent events kept for `bench logs --events`
)

// eventBus fans events out to watchers and keeps the recent ones; a
// watcher that falls watchBuffer events behind is cut off.
type eventBus = feed[control.Event]

func newEventBus() *eventBus { return newFeed[control.Event](eventTail, watchBuffer, false) }
