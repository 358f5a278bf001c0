package results

import (
	"encoding/json"
	"testing"
)

// TestServerTimeoutsRecorded: the servers' limits on slow clients are in
// the settings under their documented names, and a run written before
// they were recorded has none.
func TestServerTimeoutsRecorded(t *testing.T) {
	b, err := json.Marshal(Settings{ServerTimeouts: &Timeouts{HeaderS: 60, RequestS: 300, IdleS: 5}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	got, _ := m["server_timeouts"].(map[string]any)
	if got["header_s"] != 60.0 || got["request_s"] != 300.0 || got["idle_s"] != 5.0 {
		t.Errorf("settings encode as %s", b)
	}
	var old Settings
	if err := json.Unmarshal([]byte(`{"duration_s":10,"repeat":3}`), &old); err != nil || old.ServerTimeouts != nil {
		t.Errorf("a run without them: %+v, %v", old.ServerTimeouts, err)
	}
}
