package control

import (
	"context"
	"errors"
	"time"
)

// EventKind names a change in a master's workers.
type EventKind string

// Event kinds. Each names the fields of Event it sets besides Time, Kind
// and Slot.
const (
	EventStarted    EventKind = "started"    // PID was spawned for the slot
	EventOnline     EventKind = "online"     // PID is ready and serves the slot; Restarts so far
	EventCrashed    EventKind = "crashed"    // PID died unasked: Exit, Uptime
	EventRestarting EventKind = "restarting" // the slot starts again after Delay; Restarts counts this one
	EventErrored    EventKind = "errored"    // the slot is given up on and stays down (PID, Exit when a death did it)
	EventDraining   EventKind = "draining"   // PID was told to finish its requests and exit (reload, scale, shutdown)
	EventExited     EventKind = "exited"     // PID exited, not a crash: drained, Killed after the grace, or at start or stop: Exit, Uptime
	EventReplaced   EventKind = "replaced"   // a reload step: the ready PID took the slot over from OldPID
	EventFailed     EventKind = "failed"     // replacement PID died before it was ready; OldPID keeps the slot: Exit
	EventScaled     EventKind = "scaled"     // the server has Workers slots now; Slot is -1
	// PID left a connection passed to it unacknowledged for a second
	// (stopped, wedged): it is passed none until it answers.
	EventUnresponsive EventKind = "unresponsive"
	EventResponsive   EventKind = "responsive" // PID answers again, after EventUnresponsive
	// No worker can serve (every slot errored): the server stopped
	// listening, connections are refused. Slot is -1.
	EventDown EventKind = "down"
	EventUp   EventKind = "up" // it listens again, a worker starting (reload, scale); Slot is -1
)

// Event is one change in a master's workers, as `bench logs --events` and
// Client.Watch deliver them. Watch these rather than parse the log, whose
// lines are for people and may change.
type Event struct {
	Time     time.Time     `json:"time"`
	Kind     EventKind     `json:"kind"`
	Slot     int           `json:"slot"`
	PID      int           `json:"pid,omitempty"`
	OldPID   int           `json:"old_pid,omitempty"`
	Exit     string        `json:"exit,omitempty"` // how it ended: "exit status 1", "signal: killed"
	Uptime   time.Duration `json:"uptime_ns,omitempty"`
	Delay    time.Duration `json:"delay_ns,omitempty"`
	Restarts int           `json:"restarts,omitempty"`
	Killed   bool          `json:"killed,omitempty"`
	Workers  int           `json:"workers,omitempty"`
}

// ErrWatchEnded is what Watcher.Next returns when the stream ended before
// a matching event, and Err gives no other reason.
var ErrWatchEnded = errors.New("the master's event stream ended")

// Watcher is a subscription to a master's events (see Client.Watch).
type Watcher struct {
	events <-chan Event
	stop   func()
	done   chan struct{} // closed with events; err is set by then
	err    error
}

// Events returns the events in the order the master made them. It is
// closed when the watch ends; Err then says why.
func (w *Watcher) Events() <-chan Event { return w.events }

// Next returns the next event match accepts, skipping the others.
func (w *Watcher) Next(ctx context.Context, match func(Event) bool) (Event, error) {
	for {
		select {
		case e, ok := <-w.events:
			if !ok {
				<-w.done
				if w.err != nil {
					return Event{}, w.err
				}
				return Event{}, ErrWatchEnded
			}
			if match(e) {
				return e, nil
			}
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Err returns why the watch ended, once Events is closed: nil when Close
// or the caller's context ended it.
func (w *Watcher) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// Close ends the watch and waits until its connection is released.
func (w *Watcher) Close() {
	w.stop()
	<-w.done
}
