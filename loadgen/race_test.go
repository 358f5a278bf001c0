//go:build race

package loadgen

// raceEnabled: the race detector slows everything several times over.
const raceEnabled = true
